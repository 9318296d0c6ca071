// multi-user: N concurrent users, each authenticated as themselves, doing the real journey:
// brand kits CRUD, then a generation job from create to its result asset. Journeys start on
// the profile's beat (scenarios/lib/profiles.ts): all N users send their first request at
// the same instant, so the service has N requests in flight at once at each beat. Every response
// is checked to hold only the caller's own data (`data_isolation`, gated at 100 %), and
// every resource created is counted so the database can be reconciled after load.
import { sleep } from 'k6';
import type { Options } from 'k6/options';
import { Rate } from 'k6/metrics';
import { api, currentSession, dataIsolation, expectStatus, expectThat, json, resourcesCreated, resourcesDeleted, userJourneyScenario, waitForBeat, type Session } from 'perf-harness/k6';

/** 1 when a job went queued → running → completed (never backwards) within the poll budget (gate: job_completed). */
const jobCompleted = new Rate('job_completed');

export const options: Options = {
  scenarios: {
    // Ramp to --users, hold for the profile's duration; each VU is one user.
    journey: userJourneyScenario('journey'),
  },
  thresholds: {
    // A user must never see another user's data: one crossover fails the run.
    data_isolation: ['rate>=1'],
    // Jobs must finish within the poll budget under load.
    job_completed: ['rate>=0.99'],
  },
};

interface Kit {
  id: string;
  userId: string;
  name: string;
}
interface Job {
  id: string;
  userId: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  assetIds?: string[];
}
interface Asset {
  id: string;
  userId: string;
  jobId: string;
}

const STATUS_ORDER = { queued: 0, running: 1, completed: 2, failed: 2 } as const;

/** Records isolation for a list of owned things; returns false on any foreign owner. */
function ownedByMe(items: { userId: string }[], me: Session): boolean {
  const ok = items.every((i) => i.userId === me.userId);
  dataIsolation.add(ok ? 1 : 0);
  return ok;
}

export function journey(): void {
  let me = currentSession();
  if (!me) return;
  // Every user starts the journey on the same beat: --users requests in flight at once.
  const onBeat = waitForBeat();

  // Brand kit: create → list (all mine) → read → update.
  let res = api('POST', '/brand-kits', { name: 'brand_kits_create', as: me, body: { name: `Kit ${Date.now()}`, colors: ['#112233', '#aabbcc'], fonts: ['Inter'] } });
  if (res.status === 401) {
    me = currentSession(true);
    if (!me) return;
    res = api('POST', '/brand-kits', { name: 'brand_kits_create', as: me, body: { name: `Kit ${Date.now()}`, colors: ['#112233'] } });
  }
  if (!expectStatus(res, 201, 'create brand kit')) return;
  const kit = json<Kit>(res)!;
  resourcesCreated.add(1, { kind: 'kit' });
  dataIsolation.add(kit.userId === me.userId ? 1 : 0);

  res = api('GET', '/brand-kits', { name: 'brand_kits_list', as: me });
  if (expectStatus(res, 200, 'list brand kits')) {
    const kits = json<Kit[] | { items: Kit[] }>(res);
    const list = Array.isArray(kits) ? kits : (kits?.items ?? []);
    ownedByMe(list, me);
    expectThat(list.some((k) => k.id === kit.id), 'list holds the new kit');
  }

  res = api('GET', `/brand-kits/${kit.id}`, { name: 'brand_kits_get', as: me });
  if (expectStatus(res, 200, 'get brand kit')) ownedByMe([json<Kit>(res)!], me);

  res = api('PATCH', `/brand-kits/${kit.id}`, { name: 'brand_kits_update', as: me, body: { colors: ['#445566'] } });
  expectStatus(res, 200, 'update brand kit');

  // Job: create → poll until completed (status never goes backwards) → its asset.
  res = api('POST', '/jobs', { name: 'jobs_create', as: me, body: { prompt: 'Autumn launch banner', brandKitId: kit.id } });
  if (expectStatus(res, 202, 'create job')) {
    let job = json<Job>(res)!;
    resourcesCreated.add(1, { kind: 'job' });
    let last = STATUS_ORDER[job.status];
    let monotonic = true;
    for (let i = 0; i < 40 && job.status !== 'completed' && job.status !== 'failed'; i++) {
      sleep(0.1);
      res = api('GET', `/jobs/${job.id}`, { name: 'jobs_get', as: me });
      if (res.status !== 200) break;
      job = json<Job>(res)!;
      ownedByMe([job], me);
      if (STATUS_ORDER[job.status] < last) monotonic = false;
      last = STATUS_ORDER[job.status];
    }
    const done = job.status === 'completed' && monotonic;
    jobCompleted.add(done ? 1 : 0);
    for (const assetId of done ? (job.assetIds ?? []) : []) {
      res = api('GET', `/assets/${assetId}`, { name: 'assets_get', as: me });
      if (expectStatus(res, 200, 'get asset')) {
        const asset = json<Asset>(res)!;
        ownedByMe([asset], me);
        resourcesCreated.add(1, { kind: 'asset' });
      }
    }
  }

  // Keep under the 10-kits-per-user limit: the journey cleans up its kit.
  res = api('DELETE', `/brand-kits/${kit.id}`, { name: 'brand_kits_delete', as: me });
  if (expectStatus(res, 204, 'delete brand kit')) resourcesDeleted.add(1, { kind: 'kit' });
  // Think time: the wait for the next beat (at the top), or without a beat a pause, as a person would.
  if (!onBeat) sleep(0.2);
}
