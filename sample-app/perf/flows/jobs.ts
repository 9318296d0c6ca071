/**
 * job_lifecycle: a generation job on sample-app's API (`/jobs`, `/assets`, `/public/assets/:id`).
 *
 *   create (queued) → poll: the status moves queued → running → completed, each seen, never
 *   backwards → the result asset (owned, from this job) → its public URL and content answer
 *   without a token.
 */
import { expect, flow } from 'perf-harness';
import { createJob, type Asset, type Job } from '../lib/sample-app.ts';

/** How long a job may take to complete (sample-app's three steps take ~0.5 s). */
const JOB_TIMEOUT_MS = 15_000;
/** Poll often enough to see `running`, which lasts one job step. */
const POLL_MS = 15;

flow(
  'job_lifecycle',
  { description: 'a job moves queued → running → completed (each seen, never backwards) and its result asset is served, also publicly' },
  async ({ api, users, step, measure }) => {
    const user = await step('signup', () => users.create('jobs'));
    const me = api.as(user);
    const t0 = performance.now();

    const created = await step('create', async () => {
      const res = await createJob(api, user, 'perf job lifecycle');
      expect(res.json.status).toBe('queued');
      return res.json;
    });

    // Every status the job shows, in order (a repeat is not a new one).
    const statuses = ['queued'];
    let polls = 0;
    let job: Job | undefined;
    await step('poll until completed', async () => {
      await expect
        .poll(
          async () => {
            const res = await me.get<Job>(`/jobs/${created.id}`);
            polls++;
            // A failed poll shows as its status code (and the poll goes on until the deadline).
            if (res.status !== 200) return `HTTP ${res.status}`;
            job = res.json;
            const status = String(res.json.status);
            if (status !== statuses[statuses.length - 1]) statuses.push(status);
            return status;
          },
          { timeout: JOB_TIMEOUT_MS, intervals: [POLL_MS], message: 'the job completes' },
        )
        .toBe('completed');
    });
    measure('statuses', statuses);
    measure('polls', polls);
    measure('time_to_completed_ms', Math.round(performance.now() - t0));

    await step('statuses in order', () => {
      // Each status seen, in this order, and nothing else: not skipped, not backwards, no unknown one.
      expect(statuses).toEqual(['queued', 'running', 'completed']);
    });

    const asset = await step('result asset', async () => {
      const assetId = job?.assetIds?.[0];
      // A completed job lists the assets it made.
      expect(assetId).toEqual(expect.any(String));
      const res = await me.get<Asset>(`/assets/${assetId}`);
      expect(res).toHaveStatus(200);
      // The asset is this job's result, and this user's.
      expect(res.json.jobId).toBe(created.id);
      if (res.json.userId !== undefined) expect(res.json.userId).toBe(user.id);
      return res.json;
    });

    await step('public asset URL', async () => {
      // Public: served without a token (anonymous client).
      const pub = await api.get(asset.url ?? `/public/assets/${asset.id}`);
      expect(pub).toHaveStatus(200);
      if (asset.contentUrl) {
        const content = await api.get(asset.contentUrl, { headers: { accept: '*/*' } });
        expect(content).toHaveStatus(200);
        expect(content.text.length).toBeGreaterThan(0);
      }
    });
  },
);
