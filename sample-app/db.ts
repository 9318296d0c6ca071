// The PostgreSQL pool and the row → JSON mappers shared by the routes.
//
// Contract: every query on user data filters by the caller's user id in SQL (`WHERE user_id =
// $1`); ids that are not UUIDs never reach PostgreSQL (they answer 404 before), so a bad id is
// never a 500. Timestamps leave as ISO strings, counts as numbers.
import pg from 'pg';
import type { Logger } from './logger.ts';

export function createPool(connectionString: string, log: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    // Small on purpose: 2 cores serve the app, PostgreSQL and the load generator; more backends
    // would only add context switches.
    max: 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    application_name: 'sample-app',
  });
  // An idle client losing its server (e.g. the database restarting) must not crash the app.
  // While the pool ends (shutdown), the server closing connections is expected: not logged.
  pool.on('error', (error) => {
    if (!pool.ending) log.warn('idle PostgreSQL client error', error.message);
  });
  return pool;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : value == null ? null : String(value));

export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  created_at: Date;
}
export const userJson = (r: UserRow) => ({ id: r.id, email: r.email, name: r.name, createdAt: iso(r.created_at) });
export const USER_COLUMNS = 'id, email, name, created_at';

export interface BrandKitRow {
  id: string;
  user_id: string;
  name: string;
  colors: string[];
  fonts: string[];
  created_at: Date;
  updated_at: Date;
}
export const BRAND_KIT_COLUMNS = 'id, user_id, name, colors, fonts, created_at, updated_at';
export const brandKitJson = (r: BrandKitRow) => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  colors: r.colors,
  fonts: r.fonts,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

export interface JobRow {
  id: string;
  user_id: string;
  brand_kit_id: string | null;
  prompt: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  error: string | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  asset_ids?: string[] | null;
}
export const JOB_COLUMNS = 'id, user_id, brand_kit_id, prompt, status, error, created_at, updated_at, started_at, completed_at';
export const jobJson = (r: JobRow) => ({
  id: r.id,
  userId: r.user_id,
  brandKitId: r.brand_kit_id,
  prompt: r.prompt,
  status: r.status,
  error: r.error,
  // Present once the job completed (the assets it produced that still exist).
  assetIds: r.status === 'completed' ? (r.asset_ids ?? []) : undefined,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
  startedAt: iso(r.started_at),
  completedAt: iso(r.completed_at),
});

export interface AssetRow {
  id: string;
  user_id: string;
  job_id: string | null;
  kind: 'image' | 'palette';
  mime_type: string;
  width: number | null;
  height: number | null;
  is_public: boolean;
  metadata: Record<string, unknown>;
  created_at: Date;
}
export const ASSET_COLUMNS = 'id, user_id, job_id, kind, mime_type, width, height, is_public, metadata, created_at';
export const assetJson = (r: AssetRow) => ({
  id: r.id,
  userId: r.user_id,
  jobId: r.job_id,
  kind: r.kind,
  mimeType: r.mime_type,
  width: r.width,
  height: r.height,
  isPublic: r.is_public,
  url: `/public/assets/${r.id}`,
  contentUrl: `/public/assets/${r.id}/content`,
  createdAt: iso(r.created_at),
});
/** The public view: no owner, no metadata. */
export const publicAssetJson = (r: AssetRow) => {
  const { userId: _owner, ...rest } = assetJson(r);
  return rest;
};

/** Appends an audit row; failures are logged, never surfaced (audit must not break requests). */
export async function audit(
  pool: pg.Pool,
  log: Logger,
  entry: { userId: string | null; action: string; requestId?: string; details?: Record<string, unknown> },
): Promise<void> {
  try {
    await pool.query('INSERT INTO audit (user_id, action, request_id, details) VALUES ($1, $2, $3, $4)', [
      entry.userId,
      entry.action,
      entry.requestId ?? null,
      JSON.stringify(entry.details ?? {}),
    ]);
  } catch (error) {
    log.warn(`audit insert failed (${entry.action})`, (error as Error).message);
  }
}
