/**
 * PostgreSQL access for checks: one client per check, every query recorded as `sql` evidence.
 *
 * Contract: `withClient` connects (5 s deadline), runs the callback, and always ends the client;
 * `ctx.signal` ends it early (the query in flight then fails). The session gets a correlation id:
 * its `application_name` (visible in pg_stat_activity) and a `/* id *\/` comment sent with
 * every query (visible in the server's statement log), and every `sql` evidence carries it.
 * The connection URL never appears in a message unredacted. Rows kept in evidence are capped
 * and pass through `ctx.redactor`.
 */
import pg from 'pg';
import { CheckFailure, type CheckContext, type SqlEvidence } from './types.ts';

const EVIDENCE_ROWS = 20;

export type Query = <R extends pg.QueryResultRow = any>(sql: string, params?: unknown[], opts?: { record?: boolean }) => Promise<pg.QueryResult<R>>;

export function sqlEvidence(query: string, durationMs: number, extra: Partial<Omit<SqlEvidence, 'kind' | 'query' | 'durationMs'>> = {}): SqlEvidence {
  const e: SqlEvidence = { kind: 'sql', query, durationMs: Math.round(durationMs * 100) / 100 };
  if (extra.correlationId !== undefined) e.correlationId = extra.correlationId;
  if (extra.rowCount !== undefined) e.rowCount = extra.rowCount;
  if (extra.rows !== undefined) e.rows = extra.rows;
  if (extra.error !== undefined) e.error = extra.error;
  return e;
}

/** Connects to `url` as a plain client and hands `fn` a recording `query`. */
export async function withClient<T>(
  ctx: CheckContext,
  url: string,
  fn: (query: Query, session: { client: pg.Client; correlationId: string }) => Promise<T>,
): Promise<T> {
  const correlationId = ctx.correlationId();
  // application_name is capped at 63 bytes by PostgreSQL.
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, application_name: correlationId.slice(0, 63) });
  client.on('error', () => undefined); // a dropped connection fails the query in flight
  const onAbort = () => void client.end().catch(() => undefined);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    try {
      await client.connect();
    } catch (e) {
      const message = `PostgreSQL ${ctx.redactor.redactString(url)}: connection failed: ${(e as Error).message}`;
      ctx.record(sqlEvidence('-- connect', 0, { correlationId, error: message }));
      throw new CheckFailure(`${message} (correlation id ${correlationId})`);
    }
    const query: Query = async (sql, params, opts) => {
      const t0 = performance.now();
      const text = params?.length ? `${sql}\n-- params: ${JSON.stringify(params)}` : sql;
      try {
        const r = await client.query(`/* ${correlationId.replace(/\*\//g, "")} */ ${sql}`, params as unknown[] | undefined);
        if (opts?.record !== false) {
          ctx.record(
            sqlEvidence(ctx.redactor.redactString(text), performance.now() - t0, {
              correlationId,
              rowCount: r.rowCount ?? r.rows.length,
              rows: ctx.redactor.redactDeep(r.rows.slice(0, EVIDENCE_ROWS)),
            }),
          );
        }
        return r;
      } catch (e) {
        ctx.record(sqlEvidence(ctx.redactor.redactString(text), performance.now() - t0, { correlationId, error: (e as Error).message }));
        throw e;
      }
    };
    return await fn(query, { client, correlationId });
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
}

/** `"schema"."table"` for a resolved table, safe to splice into SQL. */
export function quoteIdent(...parts: string[]): string {
  return parts.map((p) => `"${p.replace(/"/g, '""')}"`).join('.');
}
