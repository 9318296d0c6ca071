// Configuration comes from the environment only (no files, no flags), so a test or a perf
// target definition starts the service with nothing but `env`.
import { parseFaults, type Faults } from './faults.ts';

export interface Config {
  /** TCP port; 0 asks the OS for a free one (the ready line tells which). */
  port: number;
  host: string;
  databaseUrl: string;
  /** PostgreSQL schema holding every table; two instances with different schemas never collide. */
  schema: string;
  faults: Faults;
}

/** A configuration mistake: the caller prints the message and exits 2. */
export class ConfigError extends Error {}

// Lower-case unquoted identifier rules, so the name is the same whether or not someone
// quotes it by hand in psql; it is still always quoted in SQL.
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const portText = env.PORT?.trim() || '0';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535) {
    throw new ConfigError(`PORT must be an integer between 0 and 65535, got "${env.PORT}"`);
  }

  const host = env.HOST?.trim() || '127.0.0.1';

  const databaseUrl = env.DATABASE_URL?.trim();
  if (!databaseUrl) {
    throw new ConfigError('DATABASE_URL is required, e.g. postgres://postgres@127.0.0.1:5432/test');
  }

  const schema = env.NOTES_SCHEMA?.trim() || 'notes_app';
  if (!SCHEMA_RE.test(schema)) {
    throw new ConfigError(`NOTES_SCHEMA must match ${SCHEMA_RE} (got "${schema}")`);
  }

  let faults: Faults;
  try {
    faults = parseFaults(env.NOTES_FAULTS);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }

  return { port, host, databaseUrl, schema, faults };
}
