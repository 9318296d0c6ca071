// Brand kits API (all routes need a Bearer token; 401 otherwise).
//
//   GET    /brand-kits      → 200 {items: BrandKit[], total, limit: 10}   (oldest first)
//   POST   /brand-kits      {name, colors?: ['#RRGGBB'], fonts?: string[]} → 201 BrandKit
//                            409 brand_kit_limit (the 11th kit) · 422 invalid body
//   GET    /brand-kits/:id  → 200 BrandKit
//   PATCH  /brand-kits/:id  {name?, colors?, fonts?} (at least one) → 200 BrandKit · 422
//   DELETE /brand-kits/:id  → 204
// An unknown id, a malformed id and another user's id all answer 404 (never 403: the answer
// must not reveal that someone else's kit exists).
//
// Faults served here (faults.ts): `slowQueryMs` adds pg_sleep to the list query,
// `crossUserLeak` makes the list read its owner from a variable shared by all requests, and on
// creation `lostWriteRate` answers 201 for a kit it rolls back, `duplicateWriteRate` stores it twice.
import type { FastifyInstance } from 'fastify';
import type { DatabaseError } from 'pg';
import { currentUser, requireAuth, type AppContext } from './context.ts';
import { BRAND_KIT_COLUMNS, brandKitJson, isUuid, type BrandKitRow } from './db.ts';
import { HttpError, notFound } from './errors.ts';
import { MAX_BRAND_KITS_PER_USER } from './schema.ts';

const name = { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' } as const;
const colors = { type: 'array', maxItems: 12, items: { type: 'string', pattern: '^#[0-9a-fA-F]{6}$' } } as const;
const fonts = { type: 'array', maxItems: 6, items: { type: 'string', minLength: 1, maxLength: 60 } } as const;

interface KitBody {
  name?: string;
  colors?: string[];
  fonts?: string[];
}

const LIST_SQL = `SELECT ${BRAND_KIT_COLUMNS} FROM brand_kits WHERE user_id = $1 ORDER BY created_at, id`;
// The slow variant: the uncorrelated sub-select becomes a one-time filter, so pg_sleep runs
// exactly once per query, also when the user has no kits.
const SLOW_LIST_SQL = `SELECT ${BRAND_KIT_COLUMNS} FROM brand_kits
  WHERE user_id = $1 AND (SELECT pg_sleep($2 / 1000.0)) IS NOT NULL ORDER BY created_at, id`;

export function registerBrandKitRoutes(app: FastifyInstance, ctx: AppContext): void {
  const onRequest = requireAuth(ctx);

  // FAULT crossUserLeak: "the current user" kept in a variable shared by every request of this
  // instance (the classic singleton-holds-request-state bug). It is read back after an await,
  // so under concurrency another request may have overwritten it in between.
  let sharedListOwner = '';

  app.get('/brand-kits', { onRequest }, async (request) => {
    const { userId } = currentUser(request);
    const faults = ctx.faults.current;
    let owner = userId;
    if (faults.crossUserLeak) {
      sharedListOwner = userId;
      await ctx.pool.query('SELECT 1'); // stands for any awaited lookup (quota, feature flag...)
      owner = sharedListOwner;
    }
    const { rows } =
      faults.slowQueryMs > 0
        ? await ctx.pool.query<BrandKitRow>(SLOW_LIST_SQL, [owner, faults.slowQueryMs])
        : await ctx.pool.query<BrandKitRow>(LIST_SQL, [owner]);
    return { items: rows.map(brandKitJson), total: rows.length, limit: MAX_BRAND_KITS_PER_USER };
  });

  app.post<{ Body: KitBody & { name: string } }>(
    '/brand-kits',
    { onRequest, schema: { body: { type: 'object', required: ['name'], properties: { name, colors, fonts } } } },
    async (request, reply) => {
      const { userId } = currentUser(request);
      const { name: kitName, colors: kitColors = [], fonts: kitFonts = [] } = request.body;
      const faults = ctx.faults.current;
      const values = [userId, kitName.trim(), kitColors, kitFonts];
      try {
        if (faults.lostWriteRate > 0 && Math.random() < faults.lostWriteRate) {
          // FAULT lostWriteRate: the row is inserted (ids, defaults and triggers are real), the
          // answer built from it, and the transaction rolled back: 201 for a write never stored.
          const client = await ctx.pool.connect();
          try {
            await client.query('BEGIN');
            const { rows } = await client.query<BrandKitRow>(`INSERT INTO brand_kits (user_id, name, colors, fonts) VALUES ($1, $2, $3, $4) RETURNING ${BRAND_KIT_COLUMNS}`, values);
            await client.query('ROLLBACK');
            return reply.code(201).send(brandKitJson(rows[0]!));
          } catch (error) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw error;
          } finally {
            client.release();
          }
        }
        // FAULT duplicateWriteRate: the same kit inserted twice in one statement (a retried
        // insert); the answer names the first row.
        const copies = faults.duplicateWriteRate > 0 && Math.random() < faults.duplicateWriteRate ? 2 : 1;
        const { rows } = await ctx.pool.query<BrandKitRow>(
          `INSERT INTO brand_kits (user_id, name, colors, fonts) SELECT $1, $2, $3, $4 FROM generate_series(1, $5::int) RETURNING ${BRAND_KIT_COLUMNS}`,
          [...values, copies],
        );
        return reply.code(201).send(brandKitJson(rows[0]!));
      } catch (error) {
        // The limit lives in a database trigger (race-free); it reports this constraint name.
        if ((error as DatabaseError).constraint === 'brand_kits_per_user_limit') {
          throw new HttpError(409, 'brand_kit_limit', `at most ${MAX_BRAND_KITS_PER_USER} brand kits per user`);
        }
        throw error;
      }
    },
  );

  app.get<{ Params: { id: string } }>('/brand-kits/:id', { onRequest }, async (request) => {
    const { userId } = currentUser(request);
    if (!isUuid(request.params.id)) throw notFound('brand kit');
    const { rows } = await ctx.pool.query<BrandKitRow>(`SELECT ${BRAND_KIT_COLUMNS} FROM brand_kits WHERE id = $1 AND user_id = $2`, [
      request.params.id,
      userId,
    ]);
    if (!rows[0]) throw notFound('brand kit');
    return brandKitJson(rows[0]);
  });

  app.patch<{ Params: { id: string }; Body: KitBody }>(
    '/brand-kits/:id',
    { onRequest, schema: { body: { type: 'object', minProperties: 1, properties: { name, colors, fonts } } } },
    async (request) => {
      const { userId } = currentUser(request);
      if (!isUuid(request.params.id)) throw notFound('brand kit');
      const body = request.body;
      if (body.name === undefined && body.colors === undefined && body.fonts === undefined) {
        throw new HttpError(422, 'validation_failed', 'nothing to update: send name, colors or fonts', {
          fields: [{ field: '(body)', message: 'must have at least one of name, colors, fonts' }],
        });
      }
      const { rows } = await ctx.pool.query<BrandKitRow>(
        `UPDATE brand_kits SET name = COALESCE($3, name), colors = COALESCE($4, colors), fonts = COALESCE($5, fonts)
         WHERE id = $1 AND user_id = $2 RETURNING ${BRAND_KIT_COLUMNS}`,
        [request.params.id, userId, body.name?.trim() ?? null, body.colors ?? null, body.fonts ?? null],
      );
      if (!rows[0]) throw notFound('brand kit');
      return brandKitJson(rows[0]);
    },
  );

  app.delete<{ Params: { id: string } }>('/brand-kits/:id', { onRequest }, async (request, reply) => {
    const { userId } = currentUser(request);
    if (!isUuid(request.params.id)) throw notFound('brand kit');
    const { rowCount } = await ctx.pool.query('DELETE FROM brand_kits WHERE id = $1 AND user_id = $2', [request.params.id, userId]);
    if (!rowCount) throw notFound('brand kit');
    return reply.code(204).send();
  });
}
