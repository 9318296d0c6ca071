/**
 * data_isolation: no user of sample-app ever sees another's brand kits, jobs or assets.
 *
 *   Two users, each with kits, a completed job and its assets; then many concurrent,
 *   interleaved list and get calls of both (a leak through state shared across requests only
 *   shows under concurrency): nobody ever sees the other's ids, nor the other's user id
 *   anywhere in an answer. Then the other's ids answer 404 to get, update and delete, and the
 *   refused update changed nothing.
 */
import { expect, flow, type ApiResponse, type TestUser } from 'perf-harness';
import { createJob, createKit, itemsOf, pool, type Job, type Kit } from '../lib/sample-app.ts';

/** Rounds of calls, each one list/get of every kind for both users. */
const ISOLATION_ROUNDS = 12;
const ISOLATION_CONCURRENCY = 16;
const JOB_TIMEOUT_MS = 15_000;

interface Holdings {
  user: TestUser;
  kits: string[];
  jobs: string[];
  assets: string[];
}

flow(
  'data_isolation',
  { description: "two users, many concurrent interleaved list/get calls: neither ever sees the other's kits, jobs or assets; the other's ids are 404" },
  async ({ api, users, step, measure, log }) => {
    const [a, b] = await step('two users', () => Promise.all([users.create('isolation-a'), users.create('isolation-b')]));
    // The check compares owners: the service must say who a user is.
    // (auth.userIdPath in the config).
    expect(a.id).toEqual(expect.any(String));

    /** Two kits and a completed job (with its assets) of `user`. */
    const holdingsOf = async (user: TestUser): Promise<Holdings> => {
      const kits = [await createKit(api, user, 'perf isolation kit 1'), await createKit(api, user, 'perf isolation kit 2')];
      const created = (await createJob(api, user, 'perf isolation job')).json;
      let job: Job = created;
      await expect
        .poll(
          async () => {
            const res = await api.as(user).get<Job>(`/jobs/${created.id}`);
            if (res.status === 200) job = res.json;
            return res.status === 200 ? res.json.status : `HTTP ${res.status}`;
          },
          { timeout: JOB_TIMEOUT_MS, intervals: [25], message: `${user.label}'s job completes` },
        )
        .toBe('completed');
      return { user, kits: kits.map((k) => k.id), jobs: [job.id], assets: job.assetIds ?? [] };
    };
    const [ha, hb] = await step('their kits, jobs and assets', () => Promise.all([holdingsOf(a), holdingsOf(b)]));

    /** What is wrong with one answer `me` got, when anything is: only their ids, their user id. */
    const inspect = (res: ApiResponse, me: Holdings, other: Holdings, expectId?: string): string | undefined => {
      if (res.status !== 200) return `answered ${res.status}, expected 200`;
      if (res.json === undefined) return 'did not answer JSON';
      const items = itemsOf(res.json) ?? [res.json as { id?: unknown; userId?: unknown }];
      const theirs = new Set([...other.kits, ...other.jobs, ...other.assets]);
      for (const item of items) {
        const id = String(item.id);
        if (theirs.has(id)) return `returned ${id}, which belongs to the other user ${other.user.id}`;
        if (item.userId !== undefined && item.userId !== me.user.id) return `returned ${id} owned by ${String(item.userId)}, not by the caller ${me.user.id}`;
      }
      if (expectId && (items.length !== 1 || items[0]?.id !== expectId)) return `returned ${JSON.stringify(items.map((i) => i.id))}, expected ${expectId}`;
      // A leak may also hide in fields this flow does not know: the other user's id anywhere.
      if (res.text.includes(other.user.id!)) return `mentions the other user's id ${other.user.id}`;
      return undefined;
    };

    const violations: string[] = [];
    let calls = 0;
    await step('concurrent interleaved reads', async () => {
      const tasks: (() => Promise<void>)[] = [];
      const read = (me: Holdings, other: Holdings, path: string, expectId?: string) => async () => {
        const res = await api.as(me.user).get(path);
        calls++;
        const problem = inspect(res, me, other, expectId);
        if (problem) violations.push(`${me.user.label}: GET ${path} ${problem} (correlation id ${res.correlationId})`);
      };
      for (let round = 0; round < ISOLATION_ROUNDS; round++) {
        for (const [me, other] of [
          [ha, hb],
          [hb, ha],
        ] as const) {
          const kit = me.kits[round % me.kits.length]!;
          tasks.push(read(me, other, '/brand-kits'), read(me, other, `/brand-kits/${kit}`, kit), read(me, other, '/jobs'), read(me, other, '/assets'));
          for (const job of me.jobs) tasks.push(read(me, other, `/jobs/${job}`, job));
        }
      }
      await pool(tasks, ISOLATION_CONCURRENCY);
      measure('concurrent_calls', calls);
      measure('violations', violations.length);
      if (violations.length) log(`${violations.length} isolation violations in ${calls} concurrent calls`, violations.slice(0, 50));
      // Not one answer may hold the other user's data.
      if (violations.length) {
        throw new Error(`data isolation broken: ${violations.length} of ${calls} concurrent calls saw another user's data: ${violations.slice(0, 5).join('; ')}`);
      }
    });

    await step("the other user's ids are 404", async () => {
      for (const [me, other] of [
        [ha, hb],
        [hb, ha],
      ] as const) {
        const as = api.as(me.user);
        const kit = other.kits[0]!;
        const job = other.jobs[0]!;
        const probes: [string, () => Promise<ApiResponse>][] = [
          [`GET /brand-kits/${kit}`, () => as.get(`/brand-kits/${kit}`)],
          [`PATCH /brand-kits/${kit}`, () => as.patch(`/brand-kits/${kit}`, { name: 'perf stolen' })],
          [`DELETE /brand-kits/${kit}`, () => as.delete(`/brand-kits/${kit}`)],
          [`GET /jobs/${job}`, () => as.get(`/jobs/${job}`)],
        ];
        for (const asset of other.assets.slice(0, 1)) {
          probes.push([`GET /assets/${asset}`, () => as.get(`/assets/${asset}`)], [`DELETE /assets/${asset}`, () => as.delete(`/assets/${asset}`)]);
        }
        for (const [what, probe] of probes) {
          const res = await probe();
          // 404, like an unknown id: not 403, which would confirm the id exists.
          expect({ probe: `${me.user.label} → ${other.user.label}'s ${what}`, status: res.status }).toEqual({ probe: expect.any(String), status: 404 });
        }
        // The refused PATCH and DELETE changed nothing: the owner still reads the kit, unrenamed.
        const owner = await api.as(other.user).get<Kit>(`/brand-kits/${kit}`);
        expect(owner).toHaveStatus(200);
        expect(owner.json.name).not.toBe('perf stolen');
      }
    });
  },
);
