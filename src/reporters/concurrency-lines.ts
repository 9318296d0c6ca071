import type { AskedLoad, LoadConcurrency, ScenarioLoad } from '../../analysis/concurrency.ts';

/**
 * The achieved load of one k6 script in words, one line per k6 scenario: what it asked for,
 * what ran (iterations/s, requests/s over the load period) and the requests in flight.
 * Shared by the text reporters; `verdict.json` has the figures (analysis/concurrency.ts).
 */
export function concurrencyLines(c: LoadConcurrency): string[] {
  return c.scenarios.map((s) => `${s.scenario}: ${asked(s.asked)}${achieved(s)}`);
}

function asked(a: AskedLoad | undefined): string {
  if (!a) return '';
  if (a.arrivalRatePerSec !== undefined) return `asked ${a.arrivalRatePerSec} iterations/s (${a.executor}) → `;
  if (a.vus !== undefined) return `asked ${a.vus} VUs (${a.executor}) → `;
  return `${a.executor} → `;
}

function achieved(s: ScenarioLoad): string {
  const late = s.inFlight.lateRequests ? `, ${s.inFlight.lateRequests} late` : '';
  return `${s.iterationsPerSec} iterations/s, ${s.requestsPerSec} req/s over ${s.periodSeconds} s; requests in flight mean ${s.inFlight.mean}, max ${s.inFlight.max}, at a request's start p50 ${s.inFlight.atStart.p50} / p99 ${s.inFlight.atStart.p99}${late}`;
}
