/**
 * Evidence-aware redaction of what reporters render. `Redactor.redactDeep` treats a body
 * as one opaque string, so `{"access_token":"opaque"}` inside a response body keeps its
 * token (no shape rule matches an opaque value). Here bodies and WebSocket frames go
 * through `redactBody` (JSON parsed, redacted by key and value), headers through
 * `redactHeaders`, and then the whole thing through `redactDeep`.
 *
 * Evidence should arrive redacted already (the check context records it so); reporters
 * still redact, because a report is the last place a secret could slip out.
 */
import type { CheckResult, Evidence } from '../checks/types.ts';
import type { Redactor } from '../redact/redact.ts';
import type { PhaseResult, Verdict } from '../run/verdict.ts';
import type { CheckEndInfo } from './reporter.ts';

function redactEvidence(e: Evidence, r: Redactor): Evidence {
  switch (e.kind) {
    case 'http': {
      const out = { ...e, requestHeaders: r.redactHeaders(e.requestHeaders ?? {}) };
      if (e.responseHeaders) out.responseHeaders = r.redactHeaders(e.responseHeaders);
      if (e.requestBody !== undefined) out.requestBody = r.redactBody(e.requestBody);
      if (e.responseBody !== undefined) out.responseBody = r.redactBody(e.responseBody);
      return out;
    }
    case 'ws':
      return { ...e, frames: e.frames.map((f) => ({ ...f, data: r.redactBody(f.data) })) };
    default:
      return e;
  }
}

function withEvidence<T extends { evidence?: Evidence[] }>(x: T, r: Redactor): T {
  return x.evidence ? { ...x, evidence: x.evidence.map((e) => redactEvidence(e, r)) } : x;
}

export function redactCheck<T extends CheckEndInfo | CheckResult>(c: T, r: Redactor): T {
  return r.redactDeep(withEvidence(c, r));
}

export function redactPhase(p: PhaseResult, r: Redactor): PhaseResult {
  return r.redactDeep(p.checks ? { ...p, checks: p.checks.map((c) => withEvidence(c, r)) } : p);
}

export function redactVerdict(v: Verdict, r: Redactor): Verdict {
  return r.redactDeep({ ...v, phases: v.phases.map((p) => (p.checks ? { ...p, checks: p.checks.map((c) => withEvidence(c, r)) } : p)) });
}
