/**
 * sample-app's database behaviour, exercised on rows a test user of this flow owns (they go
 * with the user), so nothing else's data is touched and nothing needs rolling back. Both are
 * checks of the `db-integrity` phase (`phase: 'db-integrity'`), next to its catalog checks
 * (which prove the trigger and the function exist; these prove what they do).
 *
 *   db_trigger_updated_at  every table with the `set_updated_at()` trigger: an UPDATE that writes
 *                          an old `updated_at` gets the transaction's now() instead
 *   db_function_usage      `increment_user_usage(user, kind, amount)` adds up, per user and kind,
 *                          returns the new total, and stores it
 */
import { expect, flow } from 'perf-harness';
import { createJob, createKit, type Job } from '../lib/sample-app.ts';

/** sample-app's tables with an `updated_at` trigger (sample-app/schema.ts), and their owner column. */
const UPDATED_AT_TABLES: Record<string, string> = { users: 'id', sessions: 'user_id', brand_kits: 'user_id', jobs: 'user_id', usage: 'user_id' };
const OLD_TIMESTAMP = '2000-01-01T00:00:00Z';

flow(
  'db_trigger_updated_at',
  { phase: 'db-integrity', description: `an UPDATE sets updated_at to now() on ${Object.keys(UPDATED_AT_TABLES).join(', ')}` },
  async ({ api, db, users, step, measure }) => {
    const user = await step('a user with a kit and a completed job', async () => {
      const u = await users.create('db-updated-at');
      await createKit(api, u, 'perf updated_at kit');
      const job = (await createJob(api, u, 'perf updated_at job')).json;
      // A completed job has also written the user's usage rows.
      await expect
        .poll(async () => (await api.as(u).get<Job>(`/jobs/${job.id}`)).json?.status, { timeout: 15_000, intervals: [50], message: 'the job completes' })
        .toBe('completed');
      return u;
    });

    await step('UPDATE with an old updated_at', async () => {
      const problems: string[] = [];
      const tested: string[] = [];
      for (const [table, owner] of Object.entries(UPDATED_AT_TABLES)) {
        // One row of the user's, stamped with an old time: the trigger must overwrite it.
        const row = await db.one<{ updated_at: Date; now: Date }>(
          `UPDATE ${table} SET updated_at = $2 WHERE ctid = (SELECT ctid FROM ${table} WHERE ${owner} = $1 LIMIT 1) RETURNING updated_at, now() AS now`,
          [user.id, OLD_TIMESTAMP],
        );
        if (!row) {
          problems.push(`${table}: no row of the test user to update`);
          continue;
        }
        tested.push(table);
        const got = new Date(row.updated_at).toISOString();
        if (got !== new Date(row.now).toISOString()) problems.push(`${table}: an UPDATE that wrote updated_at = ${OLD_TIMESTAMP} left ${got}; expected the trigger to set now() (${new Date(row.now).toISOString()})`);
      }
      measure('tested', tested);
      expect(problems).toEqual([]);
    });
  },
);

flow(
  'db_function_usage',
  { phase: 'db-integrity', description: 'increment_user_usage(user, kind, amount) adds up, per user and kind, and stores the total' },
  async ({ db, users, step }) => {
    const [a, b] = await step('two users', () => Promise.all([users.create('db-usage-a'), users.create('db-usage-b')]));
    const kind = 'perf_check';
    const stored = async (userId: string | undefined) =>
      Number((await db.one<{ amount: string }>('SELECT amount::text AS amount FROM usage WHERE user_id = $1 AND kind = $2', [userId, kind]))?.amount ?? 0);
    const increment = async (userId: string | undefined, amount: number) =>
      Number((await db.one<{ total: string }>('SELECT increment_user_usage($1, $2, $3)::text AS total', [userId, kind, amount]))?.total);

    const total = await step('calls add up', async () => {
      const before = await stored(a.id);
      // Each call returns the new total: the first adds to what was there, the second to that.
      const first = await increment(a.id, 3);
      expect(first).toBe(before + 3);
      const second = await increment(a.id, 2);
      expect(second).toBe(first + 2);
      // ... and the total is what the table holds.
      expect(await stored(a.id)).toBe(second);
      return second;
    });

    await step('per user', async () => {
      // Another user's counter of the same kind is their own.
      expect(await increment(b.id, 1)).toBe(1);
      expect(await stored(a.id)).toBe(total);
    });
  },
);
