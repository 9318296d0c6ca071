// Assets API.
//
//   GET    /assets                      (Bearer) → 200 {items: Asset[]} newest first (?limit=1..100, default 50)
//   GET    /assets/:id                  (Bearer) → 200 Asset · 404
//   DELETE /assets/:id                  (Bearer) → 204 · 404
//   GET    /public/assets/:id           (no auth) → 200 public view (no owner) · 404 unknown or not public
//   GET    /public/assets/:id/content   (no auth) → the SVG image or the palette JSON · 404
// Assets are created by completed jobs and are public by id (like an unguessable share link);
// 404 covers unknown, malformed and (on the private routes) other users' ids alike.
import type { FastifyInstance } from 'fastify';
import { currentUser, requireAuth, type AppContext } from './context.ts';
import { ASSET_COLUMNS, assetJson, isUuid, publicAssetJson, type AssetRow } from './db.ts';
import { notFound } from './errors.ts';
import { listLimit } from './routes-jobs.ts';

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small deterministic picture of the job's colours and prompt. */
export function renderSvg(metadata: Record<string, unknown>): string {
  const colors = (Array.isArray(metadata.colors) ? metadata.colors : []).filter((c): c is string => typeof c === 'string' && /^#[0-9a-fA-F]{6}$/.test(c));
  const palette = colors.length ? colors : ['#1f6feb'];
  const width = 512 / palette.length;
  const bars = palette.map((c, i) => `<rect x="${i * width}" y="0" width="${width}" height="512" fill="${c}"/>`).join('');
  const prompt = escapeXml(String(metadata.prompt ?? '').slice(0, 60));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">${bars}<text x="24" y="488" font-family="sans-serif" font-size="20" fill="#fff">${prompt}</text></svg>`;
}

export function registerAssetRoutes(app: FastifyInstance, ctx: AppContext): void {
  const onRequest = requireAuth(ctx);

  app.get<{ Querystring: { limit?: string } }>('/assets', { onRequest }, async (request) => {
    const { userId } = currentUser(request);
    const { rows } = await ctx.pool.query<AssetRow>(`SELECT ${ASSET_COLUMNS} FROM assets WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2`, [
      userId,
      listLimit(request.query.limit),
    ]);
    return { items: rows.map(assetJson) };
  });

  app.get<{ Params: { id: string } }>('/assets/:id', { onRequest }, async (request) => {
    const { userId } = currentUser(request);
    if (!isUuid(request.params.id)) throw notFound('asset');
    const { rows } = await ctx.pool.query<AssetRow>(`SELECT ${ASSET_COLUMNS} FROM assets WHERE id = $1 AND user_id = $2`, [request.params.id, userId]);
    if (!rows[0]) throw notFound('asset');
    return assetJson(rows[0]);
  });

  app.delete<{ Params: { id: string } }>('/assets/:id', { onRequest }, async (request, reply) => {
    const { userId } = currentUser(request);
    if (!isUuid(request.params.id)) throw notFound('asset');
    const { rowCount } = await ctx.pool.query('DELETE FROM assets WHERE id = $1 AND user_id = $2', [request.params.id, userId]);
    if (!rowCount) throw notFound('asset');
    return reply.code(204).send();
  });

  const publicAsset = async (id: string): Promise<AssetRow> => {
    if (!isUuid(id)) throw notFound('asset');
    const { rows } = await ctx.pool.query<AssetRow>(`SELECT ${ASSET_COLUMNS} FROM assets WHERE id = $1 AND is_public`, [id]);
    if (!rows[0]) throw notFound('asset');
    return rows[0];
  };

  app.get<{ Params: { id: string } }>('/public/assets/:id', async (request) => publicAssetJson(await publicAsset(request.params.id)));

  app.get<{ Params: { id: string } }>('/public/assets/:id/content', async (request, reply) => {
    const asset = await publicAsset(request.params.id);
    reply.header('cache-control', 'public, max-age=3600');
    if (asset.kind === 'image') return reply.type('image/svg+xml').send(renderSvg(asset.metadata));
    return reply.type('application/json; charset=utf-8').send({ colors: asset.metadata.colors ?? [] });
  });
}
