/**
 * Per-user resource flows, written for sample-app's API (`/brand-kits`, `/jobs`, `/assets`,
 * `/public/assets/:id`).
 *
 *   brand_kit_crud  create → read → update (PATCH) → read → list → delete → 404; then the
 *                   per-user limit: kits up to BRAND_KIT_LIMIT are created, the next is 409,
 *                   and the list still holds exactly BRAND_KIT_LIMIT
 *   job_lifecycle   create (queued) → poll: statuses only move forward through queued →
 *                   running → completed, each seen → the result asset (owned, from this job) →
 *                   its public URL and content work without a token
 *   data_isolation  two users with kits, a job and assets; many concurrent, interleaved list
 *                   and get calls: nobody ever sees the other's ids; the other's ids are 404
 *                   for get, update and delete (and deleting them did not delete anything)
 */
import { failWith, type HttpResponse } from '../clients/http-client.ts';
import { Flow, ensure, itemsOf, pool, type Identified } from './flow-steps.ts';
import { CheckFailure, type Check, type CheckContext } from './types.ts';
import type { PerfUser } from './users.ts';

export const BRAND_KIT_LIMIT = 10;
const JOB_STATUSES = ['queued', 'running', 'completed'] as const;
const JOB_TIMEOUT_MS = 15_000;
const POLL_MS = 15;
/** data_isolation: rounds of calls, each round one list/get of every kind for both users. */
const ISOLATION_ROUNDS = 12;
const ISOLATION_CONCURRENCY = 16;

interface Kit extends Identified {
  id: string;
  name?: string;
}
interface Job extends Identified {
  id: string;
  status?: string;
  assetIds?: string[];
}
interface Asset extends Identified {
  id: string;
  jobId?: string;
  url?: string;
  contentUrl?: string;
}

async function createKit(flow: Flow, user: PerfUser, name: string, what = 'create a brand kit'): Promise<Kit> {
  const { res, body } = await flow.expectJson<Kit>(flow.http.post('/brand-kits', { name, colors: ['#1F6FEB', '#3FB950'], fonts: ['Inter'] }, { token: user.accessToken }), 201, what);
  ensure(typeof body.id === 'string', res, `${what}: the answer has no id`);
  return body;
}

const brandKitCrud: Check = {
  name: 'brand_kit_crud',
  description: `brand kit create/read/update/delete, then the per-user limit (${BRAND_KIT_LIMIT}; the next is 409)`,
  async run(ctx) {
    const flow = new Flow(ctx);
    const user = await flow.step('signup', () => flow.freshUser('kits'));
    const token = user.accessToken;
    const kit = await flow.step('create', () => createKit(flow, user, 'perf kit'));
    await flow.step('read', async () => {
      const { res, body } = await flow.expectJson<Kit>(flow.http.get(`/brand-kits/${kit.id}`, { token }), 200, 'read the kit');
      ensure(body.id === kit.id && body.name === 'perf kit', res, `read returned ${JSON.stringify({ id: body.id, name: body.name })}, expected ${kit.id} "perf kit"`);
    });
    await flow.step('update', async () => {
      const { res, body } = await flow.expectJson<Kit>(flow.http.patch(`/brand-kits/${kit.id}`, { name: 'perf kit renamed' }, { token }), 200, 'update the kit');
      ensure(body.name === 'perf kit renamed', res, `update answered name ${JSON.stringify(body.name)}, expected "perf kit renamed"`);
    });
    await flow.step('read after update', async () => {
      const { res, body } = await flow.expectJson<Kit>(flow.http.get(`/brand-kits/${kit.id}`, { token }), 200, 'read the updated kit');
      ensure(body.name === 'perf kit renamed', res, `the update did not persist: name is ${JSON.stringify(body.name)}`);
    });
    await flow.step('list', async () => {
      const { res, body } = await flow.expectJson(flow.http.get('/brand-kits', { token }), 200, 'list kits');
      const ids = itemsOf<Kit>(body)?.map((k) => k.id);
      ensure(ids?.length === 1 && ids[0] === kit.id, res, `the list holds ${JSON.stringify(ids)}, expected exactly [${kit.id}]`);
    });
    await flow.step('delete', async () => {
      const res = await flow.http.delete(`/brand-kits/${kit.id}`, { token });
      ensure(res.status === 204 || res.status === 200, res, `delete answered ${res.status}, expected 204`);
      const gone = await flow.http.get(`/brand-kits/${kit.id}`, { token });
      ensure(gone.status === 404, gone, `the deleted kit answers ${gone.status}, expected 404`);
    });
    await flow.step(`fill to ${BRAND_KIT_LIMIT}`, async () => {
      for (let i = 1; i <= BRAND_KIT_LIMIT; i++) await createKit(flow, user, `perf limit kit ${i}`, `create kit ${i} of ${BRAND_KIT_LIMIT}`);
    });
    await flow.step(`kit ${BRAND_KIT_LIMIT + 1} is refused`, async () => {
      const res = await flow.http.post('/brand-kits', { name: `perf kit ${BRAND_KIT_LIMIT + 1}` }, { token });
      ensure(res.status === 409, res, `kit ${BRAND_KIT_LIMIT + 1} answered ${res.status}, expected 409 (limit ${BRAND_KIT_LIMIT} per user)`);
      const list = await flow.expectJson(flow.http.get('/brand-kits', { token }), 200, 'list kits after the refusal');
      const count = itemsOf(list.body)?.length;
      ensure(count === BRAND_KIT_LIMIT, list.res, `the user holds ${count} kits after the refusal, expected ${BRAND_KIT_LIMIT}`);
    });
  },
};

/** Polls a job until it completes; returns it with the statuses seen, in order. */
async function pollJob(flow: Flow, token: string, jobId: string, seen: string[]): Promise<Job> {
  const deadline = performance.now() + JOB_TIMEOUT_MS;
  let polls = 0;
  let last: HttpResponse | undefined;
  for (;;) {
    const res = await flow.http.get(`/jobs/${jobId}`, { token, record: false });
    polls++;
    last = res;
    if (res.status !== 200) throw failWith(res, `poll #${polls} answered ${res.status}, expected 200`);
    const job = JSON.parse(res.text) as Job;
    const status = String(job.status);
    if (status !== seen[seen.length - 1]) {
      res.ensureRecorded(); // each transition is evidence
      const rank = JOB_STATUSES.indexOf(status as (typeof JOB_STATUSES)[number]);
      const prev = JOB_STATUSES.indexOf(seen[seen.length - 1] as (typeof JOB_STATUSES)[number]);
      if (rank === -1) throw failWith(res, `the job reached status ${JSON.stringify(status)} (seen: ${seen.join(' → ')}), expected ${JOB_STATUSES.join(' → ')}`);
      if (rank < prev) throw failWith(res, `the job status went backwards: ${[...seen, status].join(' → ')}`);
      seen.push(status);
    }
    if (status === 'completed') {
      flow.ctx.measure('polls', polls);
      return job;
    }
    if (performance.now() > deadline) throw failWith(last, `the job did not complete within ${JOB_TIMEOUT_MS} ms (seen: ${seen.join(' → ')})`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const jobLifecycle: Check = {
  name: 'job_lifecycle',
  description: 'a job moves queued → running → completed (each seen, never backwards) and its result asset is served, also publicly',
  async run(ctx) {
    const flow = new Flow(ctx);
    const user = await flow.step('signup', () => flow.freshUser('jobs'));
    const token = user.accessToken;
    const t0 = performance.now();
    const created = await flow.step('create', async () => {
      const { res, body } = await flow.expectJson<Job>(flow.http.post('/jobs', { prompt: 'perf job lifecycle' }, { token }), [201, 202], 'create a job');
      ensure(typeof body.id === 'string', res, 'the created job has no id');
      ensure(body.status === 'queued', res, `a new job has status ${JSON.stringify(body.status)}, expected "queued"`);
      return body;
    });
    const seen = ['queued'];
    const job = await flow.step('poll', () => pollJob(flow, token, created.id, seen));
    ctx.measure('statuses', seen);
    ctx.measure('time_to_completed_ms', Math.round(performance.now() - t0));
    await flow.step('statuses in order', async () => {
      const missing = JOB_STATUSES.filter((s) => !seen.includes(s));
      if (missing.length) throw new CheckFailure(`the job went ${seen.join(' → ')} without ever showing ${missing.join(', ')} (polled every ${POLL_MS} ms)`);
    });
    const asset = await flow.step('result asset', async () => {
      const assetId = job.assetIds?.[0];
      if (!assetId) throw new CheckFailure(`the completed job ${job.id} lists no assetIds`);
      const { res, body } = await flow.expectJson<Asset>(flow.http.get(`/assets/${assetId}`, { token }), 200, 'fetch the result asset');
      ensure(body.jobId === job.id, res, `asset ${assetId} belongs to job ${JSON.stringify(body.jobId)}, expected ${job.id}`);
      ensure(body.userId === undefined || body.userId === user.userId, res, `asset ${assetId} belongs to ${JSON.stringify(body.userId)}, expected ${user.userId}`);
      return body;
    });
    await flow.step('public asset URL', async () => {
      const url = asset.url ?? `/public/assets/${asset.id}`;
      const pub = await flow.http.get(url);
      ensure(pub.status === 200, pub, `the public asset URL answered ${pub.status} without a token, expected 200`);
      if (asset.contentUrl) {
        const content = await flow.http.get(asset.contentUrl, { headers: { accept: '*/*' } });
        ensure(content.status === 200 && content.text.length > 0, content, `the asset content answered ${content.status} with ${content.text.length} bytes`);
      }
    });
  },
};

interface Holdings {
  user: PerfUser;
  kits: Set<string>;
  jobs: Set<string>;
  assets: Set<string>;
}

async function setUpHoldings(flow: Flow, user: PerfUser): Promise<Holdings> {
  const token = user.accessToken;
  const kits = [await createKit(flow, user, 'perf isolation kit 1'), await createKit(flow, user, 'perf isolation kit 2')];
  const { res, body } = await flow.expectJson<Job>(flow.http.post('/jobs', { prompt: 'perf isolation job' }, { token }), [201, 202], 'create a job');
  ensure(typeof body.id === 'string', res, 'the created job has no id');
  const job = await pollJob(flow, token, body.id, [String(body.status)]);
  return { user, kits: new Set(kits.map((k) => k.id)), jobs: new Set([job.id]), assets: new Set(job.assetIds ?? []) };
}

interface Violation {
  res: HttpResponse;
  message: string;
}

/** What a user may see in one answer: only their ids, and only their user id. */
function inspect(res: HttpResponse, me: Holdings, other: Holdings, expectId?: string): string | undefined {
  if (res.status !== 200) return `answered ${res.status}, expected 200`;
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    return 'did not answer JSON';
  }
  const items = itemsOf(body) ?? [body as Identified];
  for (const item of items) {
    const id = String(item.id);
    if (other.kits.has(id) || other.jobs.has(id) || other.assets.has(id)) return `returned ${id}, which belongs to the other user ${other.user.userId}`;
    if (item.userId !== undefined && item.userId !== me.user.userId) return `returned ${id} owned by ${String(item.userId)}, not by the caller ${me.user.userId}`;
  }
  if (expectId && (items.length !== 1 || items[0]?.id !== expectId)) return `returned ${JSON.stringify(items.map((i) => i.id))}, expected ${expectId}`;
  // A leak may also hide in fields the check does not know: the other user's id anywhere.
  if (res.text.includes(other.user.userId)) return `mentions the other user's id ${other.user.userId}`;
  return undefined;
}

const dataIsolation: Check = {
  name: 'data_isolation',
  description: "two users, many concurrent interleaved list/get calls: neither ever sees the other's kits, jobs or assets; the other's ids are 404",
  async run(ctx) {
    const flow = new Flow(ctx);
    const [a, b] = await flow.step('two users', () => Promise.all([flow.freshUser('isolation-a'), flow.freshUser('isolation-b')]));
    const [ha, hb] = await flow.step('their kits, jobs and assets', () => Promise.all([setUpHoldings(flow, a!), setUpHoldings(flow, b!)]));
    const violations: Violation[] = [];
    let calls = 0;
    await flow.step('concurrent interleaved reads', async () => {
      const tasks: (() => Promise<void>)[] = [];
      const read = (me: Holdings, other: Holdings, path: string, expectId?: string) => async () => {
        const res = await flow.http.get(path, { token: me.user.accessToken, record: false });
        calls++;
        const problem = inspect(res, me, other, expectId);
        if (problem) violations.push({ res, message: `${me.user.label}: GET ${path} ${problem}` });
      };
      for (let round = 0; round < ISOLATION_ROUNDS; round++) {
        for (const [me, other] of [
          [ha!, hb!],
          [hb!, ha!],
        ] as const) {
          const kit = [...me.kits][round % me.kits.size]!;
          tasks.push(read(me, other, '/brand-kits'), read(me, other, `/brand-kits/${kit}`, kit), read(me, other, '/jobs'), read(me, other, '/assets'));
          for (const job of me.jobs) tasks.push(read(me, other, `/jobs/${job}`, job));
        }
      }
      await pool(tasks, ISOLATION_CONCURRENCY);
    });
    ctx.measure('concurrent_calls', calls);
    ctx.measure('violations', violations.length);
    if (violations.length) throw isolationFailure(ctx, violations, calls);

    await flow.step("the other user's ids are 404", async () => {
      for (const [me, other] of [
        [ha!, hb!],
        [hb!, ha!],
      ] as const) {
        const token = me.user.accessToken;
        const kit = [...other.kits][0]!;
        const job = [...other.jobs][0]!;
        const probes: [string, Promise<HttpResponse>][] = [
          [`GET /brand-kits/${kit}`, flow.http.get(`/brand-kits/${kit}`, { token })],
          [`PATCH /brand-kits/${kit}`, flow.http.patch(`/brand-kits/${kit}`, { name: 'perf stolen' }, { token })],
          [`DELETE /brand-kits/${kit}`, flow.http.delete(`/brand-kits/${kit}`, { token })],
          [`GET /jobs/${job}`, flow.http.get(`/jobs/${job}`, { token })],
        ];
        for (const asset of [...other.assets].slice(0, 1)) {
          probes.push([`GET /assets/${asset}`, flow.http.get(`/assets/${asset}`, { token })], [`DELETE /assets/${asset}`, flow.http.delete(`/assets/${asset}`, { token })]);
        }
        for (const [what, pending] of probes) {
          const res = await pending;
          ensure(res.status === 404, res, `${me.user.label} → ${other.user.label}'s ${what} answered ${res.status}, expected 404`);
        }
        // The refused PATCH/DELETE changed nothing.
        const { res, body } = await flow.expectJson<Kit>(flow.http.get(`/brand-kits/${kit}`, { token: other.user.accessToken }), 200, "the owner reads the kit the other user tried to change");
        ensure(body.name !== 'perf stolen', res, `${me.user.label} renamed ${other.user.label}'s kit ${kit}`);
      }
    });
  },
};

function isolationFailure(ctx: CheckContext, violations: Violation[], calls: number): CheckFailure {
  for (const v of violations.slice(0, 10)) v.res.ensureRecorded();
  const shown = violations.slice(0, 5).map((v) => `${v.message} (correlation id ${v.res.correlationId})`);
  ctx.record({ kind: 'note', message: `${violations.length} isolation violations in ${calls} concurrent calls`, data: violations.slice(0, 50).map((v) => v.message) });
  return new CheckFailure(`data isolation broken: ${violations.length} of ${calls} concurrent calls saw another user's data: ${shown.join('; ')}`);
}

export const resourceFlows: readonly Check[] = [brandKitCrud, jobLifecycle, dataIsolation];
