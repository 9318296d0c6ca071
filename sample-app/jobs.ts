// The job runner: moves each job queued → running → completed on timers, and on completion
// creates its assets (one SVG image, one palette) and bumps the user's usage through the
// `increment_user_usage` database function.
//
// The queue lives in the Store (a Redis list with REDIS_URL), so POST /jobs only inserts the
// row and enqueues the id; this runner pops ids (on every enqueue, and once a second in case an
// enqueue came from elsewhere) and drives each job with `timings.jobStepMs` per step.
// Each transition is a guarded UPDATE (`WHERE status = <previous>`), so a transition never
// runs twice. Fault `jobStallRate`: that share of jobs reaches `running` and never leaves it,
// as if the worker died mid-job (perf's job_completed gate must catch it). On stop, pending timers are dropped: those jobs stay queued/running in the
// database (this reference app does not resume them).
import type pg from 'pg';
import type { FaultController } from './faults.ts';
import type { Logger } from './logger.ts';
import type { Store } from './store.ts';

const ASSETS_PER_JOB = 2;

export class JobRunner {
  readonly #pool: pg.Pool;
  readonly #store: Store;
  readonly #stepMs: number;
  readonly #log: Logger;
  readonly #faults: FaultController;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #inflight = new Set<Promise<unknown>>();
  #pumping = false;
  #pumpAgain = false;
  #stopped = false;
  #poller: NodeJS.Timeout | undefined;

  constructor(pool: pg.Pool, store: Store, stepMs: number, log: Logger, faults: FaultController) {
    this.#pool = pool;
    this.#faults = faults;
    this.#store = store;
    this.#stepMs = stepMs;
    this.#log = log;
  }

  start(): void {
    this.#poller = setInterval(() => this.#pump(), 1_000);
    this.#poller.unref();
  }

  async enqueue(jobId: string): Promise<void> {
    await this.#store.enqueueJob(jobId);
    this.#pump();
  }

  #pump(): void {
    if (this.#stopped) return;
    if (this.#pumping) {
      // A drain is under way but may already have seen an empty queue: go round once more.
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    this.#track(
      (async () => {
        try {
          do {
            this.#pumpAgain = false;
            for (let id = await this.#store.dequeueJob(); id && !this.#stopped; id = await this.#store.dequeueJob()) {
              const jobId = id;
              this.#after(() => this.#track(this.#toRunning(jobId)));
            }
          } while (this.#pumpAgain && !this.#stopped);
        } catch (error) {
          this.#log.warn('job queue unavailable', (error as Error).message);
        } finally {
          this.#pumping = false;
        }
      })(),
    );
  }

  #after(fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopped) fn();
    }, this.#stepMs);
    this.#timers.add(timer);
  }

  #track(promise: Promise<unknown>): void {
    const tracked = promise.catch((error: unknown) => this.#log.error('job runner step failed', error)).finally(() => this.#inflight.delete(tracked));
    this.#inflight.add(tracked);
  }

  async #toRunning(jobId: string): Promise<void> {
    const { rowCount } = await this.#pool.query(`UPDATE jobs SET status = 'running', started_at = now() WHERE id = $1 AND status = 'queued'`, [jobId]);
    if (!rowCount) return;
    // FAULT jobStallRate: the job stays `running`; nothing will ever complete it.
    const stall = this.#faults.current.jobStallRate;
    if (stall > 0 && Math.random() < stall) return;
    this.#after(() => this.#track(this.#toCompleted(jobId)));
  }

  async #toCompleted(jobId: string): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ user_id: string; prompt: string; colors: string[] | null }>(
        `UPDATE jobs j SET status = 'completed', completed_at = now()
         WHERE j.id = $1 AND j.status = 'running'
         RETURNING j.user_id, j.prompt, (SELECT k.colors FROM brand_kits k WHERE k.id = j.brand_kit_id) AS colors`,
        [jobId],
      );
      const job = rows[0];
      if (!job) {
        await client.query('ROLLBACK');
        return;
      }
      const metadata = JSON.stringify({ prompt: job.prompt, colors: job.colors?.length ? job.colors : ['#1f6feb', '#f78166', '#3fb950'] });
      await client.query(
        `INSERT INTO assets (user_id, job_id, kind, mime_type, width, height, is_public, metadata) VALUES
           ($1, $2, 'image', 'image/svg+xml', 512, 512, true, $3),
           ($1, $2, 'palette', 'application/json', NULL, NULL, true, $3)`,
        [job.user_id, jobId, metadata],
      );
      await client.query(`SELECT increment_user_usage($1, 'jobs', 1), increment_user_usage($1, 'assets', $2)`, [job.user_id, ASSETS_PER_JOB]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Drops pending steps and waits for the ones already talking to the database. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poller);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#inflight]);
  }
}
