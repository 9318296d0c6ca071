// The database schema, as one idempotent migration applied at every start.
//
// Contract:
// - Tables: users, sessions, brand_kits, jobs, assets, usage, audit (+ schema_migrations).
// - Integrity: foreign keys (ON DELETE CASCADE from users), indexes on every foreign key used in
//   lookups, check constraints (e-mail shape, hex colours, job status enum, non-negative usage),
//   an `updated_at` trigger on every mutable table, a BEFORE INSERT trigger enforcing at most
//   10 brand kits per user (race-free: it locks the owner's row first), and the server function
//   `increment_user_usage(user_id uuid, kind text, amount int) → bigint` the app calls when a
//   job completes.
// - Row-level security on every user-owned table, isolating rows by
//   `current_setting('app.user_id', true)`. It binds every role that is neither owner nor
//   superuser; the NOLOGIN role `sample_app_rls` exists for that purpose: a checker does
//   `SET ROLE sample_app_rls; SELECT set_config('app.user_id', '<uuid>', false)` and sees only
//   that user's rows. The app itself connects as the owner and filters every query by user id
//   (RLS on the app's own path costs one extra transaction per request; see the benchmark).
// - Idempotent: CREATE ... IF NOT EXISTS / OR REPLACE, DROP POLICY IF EXISTS + CREATE. It runs in
//   one transaction under an advisory lock (parallel starts against one database serialise), and
//   is skipped when schema_migrations already holds this text's hash.
import { createHash } from 'node:crypto';
import type pg from 'pg';

export const RLS_ROLE = 'sample_app_rls';
export const MAX_BRAND_KITS_PER_USER = 10;

/** Tables that hold one user's rows, each with the column naming its owner. */
export const USER_OWNED_TABLES: Readonly<Record<string, string>> = {
  users: 'id',
  sessions: 'user_id',
  brand_kits: 'user_id',
  jobs: 'user_id',
  assets: 'user_id',
  usage: 'user_id',
  audit: 'user_id',
};

const updatedAtTables = ['users', 'sessions', 'brand_kits', 'jobs', 'usage'];

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL CONSTRAINT users_email_format CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND length(email) <= 254),
  password_hash text NOT NULL,
  name text CONSTRAINT users_name_length CHECK (name IS NULL OR length(name) <= 100),
  is_seed boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_lower_key ON users (lower(email));

CREATE TABLE IF NOT EXISTS sessions (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  ip text,
  user_agent text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  CONSTRAINT sessions_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX IF NOT EXISTS sessions_user_id_idx ON sessions (user_id);

CREATE TABLE IF NOT EXISTS brand_kits (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL CONSTRAINT brand_kits_name_length CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  colors text[] NOT NULL DEFAULT '{}' CONSTRAINT brand_kits_colors_hex CHECK (
    cardinality(colors) <= 12
    AND array_position(colors, NULL) IS NULL
    AND array_to_string(colors, ',') ~ '^(#[0-9A-Fa-f]{6}(,#[0-9A-Fa-f]{6})*)?$'
  ),
  fonts text[] NOT NULL DEFAULT '{}' CONSTRAINT brand_kits_fonts_count CHECK (cardinality(fonts) <= 6),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS brand_kits_user_id_created_at_idx ON brand_kits (user_id, created_at);

CREATE TABLE IF NOT EXISTS jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  brand_kit_id uuid REFERENCES brand_kits (id) ON DELETE SET NULL,
  prompt text NOT NULL CONSTRAINT jobs_prompt_length CHECK (length(prompt) BETWEEN 1 AND 2000),
  status text NOT NULL DEFAULT 'queued' CONSTRAINT jobs_status_valid CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  CONSTRAINT jobs_completed_has_time CHECK (status <> 'completed' OR completed_at IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS jobs_user_id_created_at_idx ON jobs (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_brand_kit_id_idx ON jobs (brand_kit_id);
CREATE INDEX IF NOT EXISTS jobs_pending_idx ON jobs (created_at) WHERE status IN ('queued', 'running');

CREATE TABLE IF NOT EXISTS assets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  job_id uuid REFERENCES jobs (id) ON DELETE SET NULL,
  kind text NOT NULL CONSTRAINT assets_kind_valid CHECK (kind IN ('image', 'palette')),
  mime_type text NOT NULL,
  width integer CONSTRAINT assets_width_positive CHECK (width IS NULL OR width > 0),
  height integer CONSTRAINT assets_height_positive CHECK (height IS NULL OR height > 0),
  is_public boolean NOT NULL DEFAULT false,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS assets_user_id_created_at_idx ON assets (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS assets_job_id_idx ON assets (job_id);

CREATE TABLE IF NOT EXISTS usage (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT usage_kind_format CHECK (kind ~ '^[a-z_]{1,40}$'),
  amount bigint NOT NULL DEFAULT 0 CONSTRAINT usage_amount_non_negative CHECK (amount >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, kind)
);

CREATE TABLE IF NOT EXISTS audit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  action text NOT NULL CONSTRAINT audit_action_format CHECK (action ~ '^[a-z_.]{1,60}$'),
  request_id text,
  details jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_user_id_created_at_idx ON audit (user_id, created_at);

-- updated_at, maintained by the database so no code path can forget it.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$fn$;
${updatedAtTables
  .map((t) => `CREATE OR REPLACE TRIGGER ${t}_set_updated_at BEFORE UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION set_updated_at();`)
  .join('\n')}

-- At most ${MAX_BRAND_KITS_PER_USER} brand kits per user. Locking the owner's row serialises concurrent inserts for
-- one user; the count runs after the lock with a fresh snapshot (READ COMMITTED, volatile
-- function), so two racing inserts cannot both see ${MAX_BRAND_KITS_PER_USER - 1}. SECURITY DEFINER: it must see and lock
-- rows even when the inserting role is bound by row-level security.
CREATE OR REPLACE FUNCTION enforce_brand_kit_limit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $fn$
DECLARE
  existing integer;
BEGIN
  PERFORM 1 FROM users WHERE id = NEW.user_id FOR NO KEY UPDATE;
  SELECT count(*) INTO existing FROM brand_kits WHERE user_id = NEW.user_id;
  IF existing >= ${MAX_BRAND_KITS_PER_USER} THEN
    RAISE EXCEPTION 'brand kit limit reached (% per user)', ${MAX_BRAND_KITS_PER_USER}
      USING ERRCODE = 'check_violation', CONSTRAINT = 'brand_kits_per_user_limit';
  END IF;
  RETURN NEW;
END
$fn$;
CREATE OR REPLACE TRIGGER brand_kits_per_user_limit BEFORE INSERT ON brand_kits
  FOR EACH ROW EXECUTE FUNCTION enforce_brand_kit_limit();

-- Usage counters: atomic upsert, returns the new total.
CREATE OR REPLACE FUNCTION increment_user_usage(user_id uuid, kind text, amount integer) RETURNS bigint
LANGUAGE sql AS $fn$
  INSERT INTO usage AS u (user_id, kind, amount)
  VALUES (increment_user_usage.user_id, increment_user_usage.kind, increment_user_usage.amount)
  ON CONFLICT ON CONSTRAINT usage_pkey DO UPDATE SET amount = u.amount + EXCLUDED.amount
  RETURNING u.amount
$fn$;

-- The user id row-level security isolates on (NULL when unset: then no row is visible).
CREATE OR REPLACE FUNCTION app_current_user_id() RETURNS uuid LANGUAGE sql STABLE AS $fn$
  SELECT nullif(current_setting('app.user_id', true), '')::uuid
$fn$;

-- The role RLS binds (roles are cluster-wide: tolerate a parallel creator).
DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${RLS_ROLE}') THEN
    CREATE ROLE ${RLS_ROLE} NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$do$;
-- A non-superuser owner must be a member to SET ROLE ${RLS_ROLE}.
DO $do$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT ${RLS_ROLE} TO %I', current_user);
  END IF;
EXCEPTION WHEN others THEN
  RAISE NOTICE 'could not grant ${RLS_ROLE} to %: %', current_user, SQLERRM;
END
$do$;
GRANT USAGE ON SCHEMA public TO ${RLS_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ${Object.keys(USER_OWNED_TABLES).join(', ')} TO ${RLS_ROLE};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${RLS_ROLE};

${Object.entries(USER_OWNED_TABLES)
  .map(
    ([table, column]) => `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS ${table}_owner_isolation ON ${table};
CREATE POLICY ${table}_owner_isolation ON ${table}
  USING (${column} = app_current_user_id()) WITH CHECK (${column} = app_current_user_id());`,
  )
  .join('\n')}
`;

/** Identifies this exact schema text; a changed text re-runs the (idempotent) migration. */
export const SCHEMA_VERSION = `v1-${createHash('sha256').update(SCHEMA_SQL).digest('hex').slice(0, 16)}`;

const MIGRATION_LOCK_KEY = 0x5a3e_0001;

/** Applies the schema when this version is not recorded yet. Returns whether it ran. */
export async function migrate(pool: pg.Pool): Promise<boolean> {
  const client = await pool.connect();
  try {
    const table = await client.query<{ exists: boolean }>(`SELECT to_regclass('public.schema_migrations') IS NOT NULL AS exists`);
    if (table.rows[0]?.exists) {
      const applied = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [SCHEMA_VERSION]);
      if (applied.rowCount) return false;
    }
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query(SCHEMA_SQL);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING', [SCHEMA_VERSION]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    return true;
  } finally {
    client.release();
  }
}
