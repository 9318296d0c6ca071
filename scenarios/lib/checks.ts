// Typed checks: a named assertion on a response that also feeds the `checks` metric.
import { check } from 'k6';
import type { RefinedResponse, ResponseType } from 'k6/http';

/** Checks the status; returns whether it matched (so a journey can stop early). */
export function expectStatus(res: RefinedResponse<ResponseType>, status: number, what: string): boolean {
  return check(res, { [`${what}: status ${status}`]: (r) => r.status === status });
}

export function expectThat(ok: boolean, what: string): boolean {
  return check(null, { [what]: () => ok });
}
