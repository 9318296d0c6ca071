// Deterministic seed data, and the cleanup that brings a database back to it.
//
// Seed users: `seed-user-<n>@sample.test` (n = 1..N, N = 20 by default), password
// `SEED_PASSWORD`, fixed ids (`seedUserId(n)`), each with two brand kits of fixed ids and
// content. Seeding is idempotent (existing rows are kept, seed kits are restored to their seed
// content).
// Cleanup (admin `POST /cleanup`, or `handle.cleanup()`): deletes every non-seed user (with all
// their rows), and the seed users' non-seed rows (extra kits, jobs, assets, usage, audit,
// ended sessions), restores the seed kits and clears the login rate-limit counters. Seed
// users' live sessions stay valid.
import type pg from 'pg';
import type { Logger } from './logger.ts';
import { hashPassword } from './passwords.ts';
import type { Store } from './store.ts';

export const SEED_PASSWORD = 'seed-password-1';
export const SEED_EMAIL_DOMAIN = 'sample.test';

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
export const seedUserEmail = (n: number) => `seed-user-${n}@${SEED_EMAIL_DOMAIN}`;
export const seedUserId = (n: number) => `5eed0000-0000-4000-8000-${hex(n, 12)}`;
export const seedKitId = (n: number, k: number) => `5eed0001-0000-4000-8000-${hex(n, 8)}${hex(k, 4)}`;

const KIT_TEMPLATES = [
  { name: 'Primary', colors: ['#1F6FEB', '#F78166', '#3FB950'], fonts: ['Inter', 'Georgia'] },
  { name: 'Dark mode', colors: ['#0D1117', '#58A6FF', '#C9D1D9'], fonts: ['JetBrains Mono'] },
];

export interface SeedKit {
  id: string;
  userId: string;
  name: string;
  colors: string[];
  fonts: string[];
}

export interface SeedUser {
  n: number;
  id: string;
  email: string;
  name: string;
  kits: SeedKit[];
}

export function seedUsers(count: number): SeedUser[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    const id = seedUserId(n);
    return {
      n,
      id,
      email: seedUserEmail(n),
      name: `Seed User ${n}`,
      kits: KIT_TEMPLATES.map((t, k) => ({ id: seedKitId(n, k + 1), userId: id, name: `${t.name} kit ${n}`, colors: t.colors, fonts: t.fonts })),
    };
  });
}

async function upsertKits(pool: pg.Pool, users: SeedUser[], log: Logger): Promise<void> {
  const kits = users.flatMap((u) => u.kits);
  if (kits.length === 0) return;
  try {
    await pool.query(
      `INSERT INTO brand_kits (id, user_id, name, colors, fonts)
       SELECT k.id, k.user_id, k.name, ARRAY(SELECT jsonb_array_elements_text(k.colors)), ARRAY(SELECT jsonb_array_elements_text(k.fonts))
       FROM jsonb_to_recordset($1::jsonb) AS k(id uuid, user_id uuid, name text, colors jsonb, fonts jsonb)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, colors = EXCLUDED.colors, fonts = EXCLUDED.fonts`,
      [JSON.stringify(kits.map((k) => ({ id: k.id, user_id: k.userId, name: k.name, colors: k.colors, fonts: k.fonts })))],
    );
  } catch (error) {
    // e.g. a seed user who already holds 10 other kits in a long-lived DATABASE_URL database.
    log.warn('could not restore every seed kit (run the cleanup to reset seed data)', (error as Error).message);
  }
}

/** Creates the missing seed users and restores the seed kits. */
export async function seed(pool: pg.Pool, count: number, log: Logger): Promise<SeedUser[]> {
  const users = seedUsers(count);
  if (count === 0) return users;
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM users WHERE id = ANY($1::uuid[])', [users.map((u) => u.id)]);
  const present = new Set(rows.map((r) => r.id));
  const missing = users.filter((u) => !present.has(u.id));
  if (missing.length) {
    const hashes = await Promise.all(missing.map(() => hashPassword(SEED_PASSWORD)));
    await pool.query(
      `INSERT INTO users (id, email, password_hash, name, is_seed)
       SELECT u.id, u.email, u.password_hash, u.name, true
       FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, email text, password_hash text, name text)
       ON CONFLICT DO NOTHING`,
      [JSON.stringify(missing.map((u, i) => ({ id: u.id, email: u.email, password_hash: hashes[i], name: u.name })))],
    );
  }
  await upsertKits(pool, users, log);
  return users;
}

export interface CleanupReport {
  deletedUsers: number;
  deletedBrandKits: number;
  deletedJobs: number;
  deletedAssets: number;
}

export async function cleanup(pool: pg.Pool, store: Store, count: number, log: Logger): Promise<CleanupReport> {
  const users = seedUsers(count);
  const seedIds = users.map((u) => u.id);
  const seedKitIds = users.flatMap((u) => u.kits.map((k) => k.id));
  const client = await pool.connect();
  let report: CleanupReport;
  try {
    await client.query('BEGIN');
    const deletedUsers = await client.query('DELETE FROM users WHERE NOT (id = ANY($1::uuid[]))', [seedIds]);
    const deletedAssets = await client.query('DELETE FROM assets WHERE user_id = ANY($1::uuid[])', [seedIds]);
    const deletedJobs = await client.query('DELETE FROM jobs WHERE user_id = ANY($1::uuid[])', [seedIds]);
    const deletedKits = await client.query('DELETE FROM brand_kits WHERE user_id = ANY($1::uuid[]) AND NOT (id = ANY($2::uuid[]))', [seedIds, seedKitIds]);
    await client.query('DELETE FROM usage WHERE user_id = ANY($1::uuid[])', [seedIds]);
    await client.query('DELETE FROM audit WHERE user_id = ANY($1::uuid[]) OR user_id IS NULL', [seedIds]);
    await client.query('DELETE FROM sessions WHERE revoked_at IS NOT NULL OR expires_at < now()');
    await client.query('COMMIT');
    report = {
      deletedUsers: deletedUsers.rowCount ?? 0,
      deletedBrandKits: deletedKits.rowCount ?? 0,
      deletedJobs: deletedJobs.rowCount ?? 0,
      deletedAssets: deletedAssets.rowCount ?? 0,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  await seed(pool, count, log);
  await store.clearCounters();
  return report;
}
