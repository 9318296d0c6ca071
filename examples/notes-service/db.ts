// Everything that touches PostgreSQL. All tables live in one schema (NOTES_SCHEMA), named
// explicitly in every statement rather than through search_path, so a pooled connection can
// never read another instance's tables.
import pg from 'pg';

export interface Account {
  /** bigserial, kept as a string end to end (the API promises a string uid). */
  uid: string;
  username: string;
}

export interface Note {
  /** bigserial, exposed as a JSON number (the API promises integer ids). */
  id: number;
  title: string;
  body: string;
  /** ISO 8601. */
  createdAt: string;
}

/** How many notes a list answer holds at most (the newest ones). */
export const LIST_LIMIT = 500;

const quote = (ident: string): string => `"${ident.replaceAll('"', '""')}"`;

function migration(schema: string): string {
  const s = quote(schema);
  return `
    CREATE SCHEMA IF NOT EXISTS ${s};
    CREATE TABLE IF NOT EXISTS ${s}.accounts (
      uid           bigserial PRIMARY KEY,
      username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_.-]{3,64}$'),
      password_hash text NOT NULL,
      api_key_hash  text,
      created_at    timestamptz NOT NULL DEFAULT now()
    );
    -- Every authenticated request looks an account up by key hash.
    CREATE UNIQUE INDEX IF NOT EXISTS accounts_api_key_idx
      ON ${s}.accounts (api_key_hash) WHERE api_key_hash IS NOT NULL;
    CREATE TABLE IF NOT EXISTS ${s}.notes (
      id         bigserial PRIMARY KEY,
      owner      bigint NOT NULL REFERENCES ${s}.accounts(uid) ON DELETE CASCADE,
      title      text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
      body       text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS notes_owner_idx ON ${s}.notes (owner, created_at);
  `;
}

interface NoteRow {
  id: string;
  title: string;
  body: string;
  created_at: Date;
}

const toNote = (row: NoteRow): Note => ({
  id: Number(row.id),
  title: row.title,
  body: row.body,
  createdAt: row.created_at.toISOString(),
});

/** A PostgreSQL error code, e.g. 23505 for a unique violation. */
export function pgCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

export class Store {
  readonly #pool: pg.Pool;
  readonly #accounts: string;
  readonly #notes: string;

  private constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#accounts = `${quote(schema)}.accounts`;
    this.#notes = `${quote(schema)}.notes`;
  }

  /** Connects and creates the schema and tables if missing. Rejects when PostgreSQL is unreachable. */
  static async open(databaseUrl: string, schema: string): Promise<Store> {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 20, connectionTimeoutMillis: 5_000 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    const client = await pool.connect().catch(async (err: unknown) => {
      await pool.end().catch(() => {});
      throw err;
    });
    try {
      // Two instances starting at once on the same schema would race on CREATE ... IF NOT
      // EXISTS (it is not atomic against a concurrent creator); a per-schema lock serialises them.
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`notes-service:${schema}`]);
      await client.query(migration(schema));
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      await pool.end().catch(() => {});
      throw err;
    }
    client.release();
    return new Store(pool, schema);
  }

  /** `SELECT 1`, failing after `timeoutMs` (a pool waiting for a dead server would hang longer). */
  async ping(timeoutMs = 2_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('ping timed out')), timeoutMs);
    });
    try {
      await Promise.race([this.#pool.query('SELECT 1'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Rejects with pg code 23505 when the username is taken. */
  async createAccount(username: string, passwordHash: string): Promise<Account> {
    const { rows } = await this.#pool.query<Account>(
      `INSERT INTO ${this.#accounts} (username, password_hash) VALUES ($1, $2) RETURNING uid::text AS uid, username`,
      [username, passwordHash],
    );
    return rows[0]!;
  }

  async credentials(username: string): Promise<(Account & { passwordHash: string }) | undefined> {
    const { rows } = await this.#pool.query<Account & { passwordHash: string }>(
      `SELECT uid::text AS uid, username, password_hash AS "passwordHash" FROM ${this.#accounts} WHERE username = $1`,
      [username],
    );
    return rows[0];
  }

  /** Replaces the account's key hash: one live key per account, the previous one stops working. */
  async setApiKeyHash(uid: string, keyHash: string): Promise<void> {
    await this.#pool.query(`UPDATE ${this.#accounts} SET api_key_hash = $2 WHERE uid = $1`, [uid, keyHash]);
  }

  /** Revokes the key only if it is still the current one (a newer login's key survives). */
  async clearApiKeyHash(uid: string, keyHash: string): Promise<void> {
    await this.#pool.query(`UPDATE ${this.#accounts} SET api_key_hash = NULL WHERE uid = $1 AND api_key_hash = $2`, [
      uid,
      keyHash,
    ]);
  }

  async accountByKeyHash(keyHash: string): Promise<Account | undefined> {
    const { rows } = await this.#pool.query<Account>(
      `SELECT uid::text AS uid, username FROM ${this.#accounts} WHERE api_key_hash = $1`,
      [keyHash],
    );
    return rows[0];
  }

  /** Deletes the account; its notes go with it (ON DELETE CASCADE). */
  async deleteAccount(uid: string): Promise<void> {
    await this.#pool.query(`DELETE FROM ${this.#accounts} WHERE uid = $1`, [uid]);
  }

  /** The owner's newest notes first; `owner: null` lists every account's (the crossUserLeak fault). */
  async listNotes(owner: string | null): Promise<Note[]> {
    const { rows } = await this.#pool.query<NoteRow>(
      `SELECT id::text AS id, title, body, created_at FROM ${this.#notes}
        WHERE ($1::bigint IS NULL OR owner = $1::bigint)
        ORDER BY created_at DESC, id DESC LIMIT ${LIST_LIMIT}`,
      [owner],
    );
    return rows.map(toNote);
  }

  async createNote(owner: string, title: string, body: string): Promise<Note> {
    const { rows } = await this.#pool.query<NoteRow>(
      `INSERT INTO ${this.#notes} (owner, title, body) VALUES ($1, $2, $3) RETURNING id::text AS id, title, body, created_at`,
      [owner, title, body],
    );
    return toNote(rows[0]!);
  }

  /** The note if it exists AND belongs to `owner`; a foreign note is indistinguishable from a missing one. */
  async getNote(owner: string, id: string): Promise<Note | undefined> {
    const { rows } = await this.#pool.query<NoteRow>(
      `SELECT id::text AS id, title, body, created_at FROM ${this.#notes} WHERE id = $1 AND owner = $2`,
      [id, owner],
    );
    return rows[0] ? toNote(rows[0]) : undefined;
  }

  /** Whether a note of `owner` was deleted. */
  async deleteNote(owner: string, id: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query(`DELETE FROM ${this.#notes} WHERE id = $1 AND owner = $2`, [id, owner]);
    return (rowCount ?? 0) > 0;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
