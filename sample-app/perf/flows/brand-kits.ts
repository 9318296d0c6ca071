/**
 * brand_kit_crud: a brand kit's whole life on sample-app's API (`/brand-kits`), then the per-user
 * limit its database trigger enforces.
 *
 *   create → read → update (PATCH) → read → list → delete → 404; then kits up to the limit (10)
 *   are created, the next is 409, and the list still holds exactly the limit.
 */
import { expect, flow } from 'perf-harness';
import { BRAND_KIT_LIMIT, createKit, itemsOf, type Kit } from '../lib/sample-app.ts';

flow(
  'brand_kit_crud',
  { description: `brand kit create/read/update/delete, then the per-user limit (${BRAND_KIT_LIMIT}; the next is 409)` },
  async ({ api, users, step }) => {
    const user = await step('signup', () => users.create('kits'));
    const me = api.as(user);

    const kit = await step('create', () => createKit(api, user, 'perf kit'));

    await step('read', async () => {
      const res = await me.get<Kit>(`/brand-kits/${kit.id}`);
      expect(res).toHaveStatus(200);
      expect({ id: res.json.id, name: res.json.name }).toEqual({ id: kit.id, name: 'perf kit' });
    });

    await step('update', async () => {
      const res = await me.patch<Kit>(`/brand-kits/${kit.id}`, { name: 'perf kit renamed' });
      expect(res).toHaveStatus(200);
      expect(res.json.name).toBe('perf kit renamed');
    });

    await step('read after update', async () => {
      // The answer to the PATCH is not proof: the change must be stored.
      const res = await me.get<Kit>(`/brand-kits/${kit.id}`);
      expect(res).toHaveStatus(200);
      expect(res.json.name).toBe('perf kit renamed');
    });

    await step('list', async () => {
      const res = await me.get('/brand-kits');
      expect(res).toHaveStatus(200);
      // A new user holds exactly the one kit just made.
      expect(itemsOf<Kit>(res.json)?.map((k) => k.id)).toEqual([kit.id]);
    });

    await step('delete', async () => {
      const res = await me.delete(`/brand-kits/${kit.id}`);
      expect(res).toHaveStatus([200, 204]);
      const gone = await me.get(`/brand-kits/${kit.id}`);
      expect(gone).toHaveStatus(404);
    });

    await step(`fill to ${BRAND_KIT_LIMIT}`, async () => {
      for (let i = 1; i <= BRAND_KIT_LIMIT; i++) await createKit(api, user, `perf limit kit ${i}`);
    });

    await step(`kit ${BRAND_KIT_LIMIT + 1} is refused`, async () => {
      const res = await me.post('/brand-kits', { name: `perf kit ${BRAND_KIT_LIMIT + 1}` });
      // 409: the limit is a conflict with what the user holds, not a bad request.
      expect(res).toHaveStatus(409);
      const list = await me.get('/brand-kits');
      expect(list).toHaveStatus(200);
      // The refused kit was not stored after all.
      expect(itemsOf(list.json)).toHaveLength(BRAND_KIT_LIMIT);
    });
  },
);
