/**
 * The `db` fixture: PostgreSQL on `target.databaseUrl` for flows.
 *
 * Contract: connects on first use (a flow that never queries opens nothing) with the same
 * session conventions as the checks' pg-util (application_name and a `/* id *\/` comment carry a
 * correlation id); every query is SqlEvidence (rows capped and redacted); `count(table, where)`
 * quotes identifiers (`schema.table` allowed) and passes values as parameters (`null` → IS NULL);
 * no database URL fails the flow saying so; `close()` ends the session (end of the attempt,
 * or at once when the check is aborted).
 */
import pg from 'pg';
import type { DbClient } from '../api/types.ts';
import { quoteIdent, sqlEvidence } from '../checks/pg-util.ts';
import { CheckFailure, type CheckContext } from '../checks/types.ts';

const EVIDENCE_ROWS = 20;

export interface ClosableDbClient extends DbClient {
  close(): Promise<void>;
}

export function createDbFixture(ctx: CheckContext): ClosableDbClient {
  let session: Promise<{ client: pg.Client; correlationId: string }> | undefined;
  let ended = false;

  const connect = () => {
    const url = ctx.target.databaseUrl;
    if (!url) throw new CheckFailure('the db fixture needs the target\'s database URL: set target.databaseUrl (or PERF_DATABASE_URL)');
    if (ended) throw new CheckFailure('db: used after the flow ended');
    session ??= (async () => {
      const correlationId = ctx.correlationId();
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, application_name: correlationId.slice(0, 63) });
      client.on('error', () => undefined);
      ctx.signal.addEventListener('abort', () => void client.end().catch(() => undefined), { once: true });
      try {
        await client.connect();
      } catch (e) {
        const message = `PostgreSQL ${ctx.redactor.redactString(url)}: connection failed: ${ctx.redactor.redactString((e as Error).message)}`;
        ctx.record(sqlEvidence('-- connect', 0, { correlationId, error: message }));
        throw new CheckFailure(`${message} (correlation id ${correlationId})`);
      }
      return { client, correlationId };
    })();
    return session;
  };

  const run = async <R>(sql: string, params?: unknown[]): Promise<R[]> => {
    const { client, correlationId } = await connect();
    const text = params?.length ? `${sql}\n-- params: ${JSON.stringify(params)}` : sql;
    const t0 = performance.now();
    try {
      const r = await client.query(`/* ${correlationId.replace(/\*\//g, '')} */ ${sql}`, params as unknown[] | undefined);
      ctx.record(sqlEvidence(ctx.redactor.redactString(text), performance.now() - t0, { correlationId, rowCount: r.rowCount ?? r.rows.length, rows: ctx.redactor.redactDeep(r.rows.slice(0, EVIDENCE_ROWS)) }));
      return r.rows as R[];
    } catch (e) {
      const message = ctx.redactor.redactString((e as Error).message);
      ctx.record(sqlEvidence(ctx.redactor.redactString(text), performance.now() - t0, { correlationId, error: message }));
      throw new CheckFailure(`SQL failed: ${message} — ${sql.trim().split('\n')[0]!.slice(0, 200)} (correlation id ${correlationId})`);
    }
  };

  return {
    query: (sql, params) => run(sql, params),
    one: async <R>(sql: string, params?: unknown[]) => (await run<R>(sql, params))[0],
    async count(table, where = {}) {
      const name = quoteIdent(...table.split('.'));
      const clauses: string[] = [];
      const params: unknown[] = [];
      for (const [col, value] of Object.entries(where)) {
        if (value === null || value === undefined) clauses.push(`${quoteIdent(col)} IS NULL`);
        else {
          params.push(value);
          clauses.push(`${quoteIdent(col)} = $${params.length}`);
        }
      }
      const rows = await run<{ n: string }>(`SELECT count(*) AS n FROM ${name}${clauses.length ? ` WHERE ${clauses.join(' AND ')}` : ''}`, params);
      return Number(rows[0]?.n ?? 0);
    },
    async close() {
      ended = true;
      const s = session;
      session = undefined;
      if (s) await s.then(({ client }) => client.end()).catch(() => undefined);
    },
  };
}
