// Where this project's service runs, from the environment, so CI (and perf's own tests) can pick
// a free port, a schema of its own and the faults to switch on. Read by perf.config.ts and the
// flows (Node side only; k6 scenarios get the URLs from perf).
export const PORT = Number(process.env.NOTES_PORT ?? 4870);
export const SCHEMA = process.env.NOTES_SCHEMA ?? 'notes_example';
export const FAULTS = process.env.NOTES_FAULTS ?? '{}';
export const DATABASE_URL = process.env.NOTES_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `url` whose sessions use `schema` as their search_path (libpq's `options=-csearch_path=...`). */
export function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-csearch_path=${schema}`);
  return u.toString();
}
