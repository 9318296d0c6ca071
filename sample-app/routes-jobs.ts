// Generation jobs API (Bearer token required; 401 otherwise).
//
//   POST /jobs      {prompt (1-2000 chars), brandKitId?: uuid of one of the caller's kits}
//                   → 202 Job with status 'queued' · 422 invalid body or unknown brandKitId
//   GET  /jobs      → 200 {items: Job[]} newest first (?limit=1..100, default 50)
//   GET  /jobs/:id  → 200 Job · 404 (unknown, malformed or another user's id)
// A job moves queued → running → completed (jobs.ts, `timings.jobStepMs` per step); once
// completed it carries `assetIds`, the assets it produced (GET /assets/:id, GET /public/assets/:id).
import type { FastifyInstance } from 'fastify';
import { currentUser, requireAuth, type AppContext } from './context.ts';
import { isUuid, JOB_COLUMNS, jobJson, type JobRow } from './db.ts';
import { HttpError, notFound } from './errors.ts';

const WITH_ASSETS = `${JOB_COLUMNS
  .split(', ')
  .map((c) => `j.${c}`)
  .join(', ')}, (SELECT array_agg(a.id ORDER BY a.kind) FROM assets a WHERE a.job_id = j.id) AS asset_ids`;

export function listLimit(raw: unknown, fallback = 50): number {
  const n = typeof raw === 'string' ? Number.parseInt(raw, 10) : Number.NaN;
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 100) : fallback;
}

export function registerJobRoutes(app: FastifyInstance, ctx: AppContext): void {
  const onRequest = requireAuth(ctx);

  app.post<{ Body: { prompt: string; brandKitId?: string | null } }>(
    '/jobs',
    {
      onRequest,
      schema: {
        body: {
          type: 'object',
          required: ['prompt'],
          properties: {
            prompt: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S' },
            brandKitId: { anyOf: [{ type: 'string', format: 'uuid' }, { type: 'null' }] },
          },
        },
      },
    },
    async (request, reply) => {
      const { userId } = currentUser(request);
      const { prompt, brandKitId = null } = request.body;
      // The kit must be the caller's: unknown and foreign ids get the same answer.
      const { rows } = await ctx.pool.query<JobRow>(
        `INSERT INTO jobs (user_id, brand_kit_id, prompt)
         SELECT $1, $2::uuid, $3
         WHERE $2::uuid IS NULL OR EXISTS (SELECT 1 FROM brand_kits WHERE id = $2::uuid AND user_id = $1)
         RETURNING ${JOB_COLUMNS}`,
        [userId, brandKitId, prompt],
      );
      const job = rows[0];
      if (!job) {
        throw new HttpError(422, 'validation_failed', 'brandKitId does not name one of your brand kits', {
          fields: [{ field: 'brandKitId', message: 'unknown brand kit' }],
        });
      }
      await ctx.enqueueJob(job.id);
      return reply.code(202).send(jobJson(job));
    },
  );

  app.get<{ Querystring: { limit?: string } }>('/jobs', { onRequest }, async (request) => {
    const { userId } = currentUser(request);
    const { rows } = await ctx.pool.query<JobRow>(`SELECT ${WITH_ASSETS} FROM jobs j WHERE j.user_id = $1 ORDER BY j.created_at DESC, j.id LIMIT $2`, [
      userId,
      listLimit(request.query.limit),
    ]);
    return { items: rows.map(jobJson) };
  });

  app.get<{ Params: { id: string } }>('/jobs/:id', { onRequest }, async (request) => {
    const { userId } = currentUser(request);
    if (!isUuid(request.params.id)) throw notFound('job');
    const { rows } = await ctx.pool.query<JobRow>(`SELECT ${WITH_ASSETS} FROM jobs j WHERE j.id = $1 AND j.user_id = $2`, [request.params.id, userId]);
    if (!rows[0]) throw notFound('job');
    return jobJson(rows[0]);
  });
}
