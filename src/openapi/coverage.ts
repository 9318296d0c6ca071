/**
 * Endpoint coverage of the OpenAPI document of `smoke.openapi`: which documented operations the
 * run exercised in smoke, flows and load. Information, not a gate: it never changes a status.
 *
 * What counts as exercising an operation: a request to it (method, and a path under the target's
 * base URL that its pattern matches, `matchOperation`) that got an answer, whatever the status
 * (the statuses are kept, so "only ever 403" shows). Where the requests come from:
 * - smoke and flows: the HTTP exchanges their checks recorded (`evidence` of kind `http`; the
 *   flows' `api` records every request). Not recorded, so not counted: a request sent on the
 *   Node HTTP client with `record: false` whose response no assertion failed on, the passing
 *   attempt of a flaky check (its result keeps the failed attempt's), the browser's traffic.
 * - load: k6's `http_reqs` series (analysis/metric-store.ts). k6's CSV carries no `url` tag (on
 *   purpose: its cardinality), so `perf-harness/k6`'s `api()` tags each request `operation: <id>`
 *   from `PERF_OPENAPI_OPERATIONS` (`operationsEnv`, scenarios/lib/http.ts), and a series whose
 *   `name` is still k6's default, the URL, is matched by its path. A raw `http.*` call named
 *   something else cannot be attributed (it is counted in `unattributed`) unless it sets the tag
 *   itself (`operationTag()` of `perf-harness/k6`).
 */
import type { MetricStore } from '../../analysis/metric-store.ts';
import type { PhaseResult } from '../run/verdict.ts';
import { isExcluded, matchOperation, type OpenApiDocument, type OpenApiOperation } from './document.ts';

export const COVERAGE_PHASES = ['smoke', 'flows', 'load'] as const;
export type CoveragePhase = (typeof COVERAGE_PHASES)[number];

/** Answered requests to one operation: how many, by status (`"200": 3`). */
export interface OperationHits {
  requests: number;
  statuses: Record<string, number>;
}

/** What one k6 scenario's requests did to the document's operations (`K6PhaseResult.analysis.operations`). */
export interface LoadOperationHits {
  /** Operation id → its answered requests. */
  byId: Record<string, OperationHits>;
  /** Answered requests no operation accounts for: undocumented paths, other hosts, raw calls with a custom `name`. */
  unattributed: number;
}

export interface OperationCoverage {
  /** operationId, or `METHOD /path` as the document writes the path. */
  id: string;
  method: string;
  path: string;
  smoke: boolean;
  flows: boolean;
  load: boolean;
  /** Per phase that exercised it: its answered requests and their statuses. */
  hits: Partial<Record<CoveragePhase, OperationHits>>;
}

export interface PhaseCoverage {
  /** False when the phase was not selected or was skipped (its column then says nothing). */
  ran: boolean;
  /** Operations it exercised, and their share of `total` (percent, one decimal). */
  count: number;
  percent: number;
  /** Answered requests of the phase to no documented operation (see `LoadOperationHits.unattributed`). */
  unattributed: number;
}

/** `verdict.coverage`. */
export interface EndpointCoverage {
  /** The document as the config names it. */
  document: string;
  title?: string;
  /** Operations counted (the document's, less `exclude`). */
  total: number;
  /** Operations at least one phase exercised, and their share of `total` (percent, one decimal). */
  exercised: number;
  percent: number;
  byPhase: Record<CoveragePhase, PhaseCoverage>;
  /** In document order. */
  operations: OperationCoverage[];
  /** Ids of the operations no phase exercised. */
  untouched: string[];
  /** Ids of the operations `smoke.openapi.exclude` left out (neither counted nor listed above). */
  excluded: string[];
}

/**
 * The path of `url` relative to the target's base URL (its path prefix and the query removed), or
 * undefined when `url` is not under it (another host, another prefix, not a URL).
 */
export function pathUnderBase(url: string, baseUrl: string): string | undefined {
  let u: URL;
  let b: URL;
  try {
    u = new URL(url);
    b = new URL(baseUrl);
  } catch {
    return undefined;
  }
  if (u.origin !== b.origin) return undefined;
  const prefix = b.pathname.replace(/\/+$/, '');
  if (!prefix) return u.pathname || '/';
  if (u.pathname !== prefix && !u.pathname.startsWith(`${prefix}/`)) return undefined;
  return u.pathname.slice(prefix.length) || '/';
}

/**
 * `PERF_OPENAPI_OPERATIONS` for k6: JSON of `[method, pattern source, id]`, exact paths before
 * templated ones (the order `matchOperation` prefers), so the first match in k6 is the same one.
 */
export function operationsEnv(ops: readonly OpenApiOperation[]): string {
  const ordered = [...ops].sort((a, b) => a.pathParams.length - b.pathParams.length);
  return JSON.stringify(ordered.map((o) => [o.method, o.pattern.source, o.id]));
}

/**
 * The operations one k6 scenario's requests hit, from its `http_reqs` series: the `operation` tag
 * (scenarios/lib/http.ts), else a `name` that is the request URL under `baseUrl`. Requests
 * without an answer (status 0 or none) are left out.
 */
export function loadOperationHits(store: MetricStore, ops: readonly OpenApiOperation[], baseUrl: string): LoadOperationHits {
  const byOpId = new Map(ops.map((o) => [o.id, o]));
  const out: LoadOperationHits = { byId: {}, unattributed: 0 };
  for (const s of store.select('http_reqs')) {
    const status = s.tags.status;
    if (!status || status === '0') continue;
    let op = s.tags.operation !== undefined ? byOpId.get(s.tags.operation) : undefined;
    if (!op && s.tags.method && /^https?:\/\//i.test(s.tags.name ?? '')) {
      const rel = pathUnderBase(s.tags.name!, baseUrl);
      if (rel !== undefined) op = matchOperation(ops, s.tags.method, rel);
    }
    if (!op) {
      out.unattributed += s.count;
      continue;
    }
    addHits((out.byId[op.id] ??= { requests: 0, statuses: {} }), status, s.count);
  }
  return out;
}

function addHits(h: OperationHits, status: string, n: number): void {
  h.requests += n;
  h.statuses[status] = (h.statuses[status] ?? 0) + n;
}

export interface CoverageInput {
  document: Pick<OpenApiDocument, 'source' | 'operations'> & { title?: string };
  /** `smoke.openapi.exclude`. */
  exclude?: readonly string[];
  /** The run's phases (`verdict.phases`). */
  phases: readonly PhaseResult[];
  /** The target's base URL; without it no exchange of smoke or flows can be placed. */
  baseUrl?: string;
}

/**
 * Coverage from a run's phase results. Requests are matched against every operation (so an
 * excluded `/notes/mine` is not taken for `/notes/{id}`), then excluded ones are left out.
 */
export function computeCoverage(input: CoverageInput): EndpointCoverage {
  const all = input.document.operations;
  const exclude = input.exclude ?? [];
  const counted = all.filter((o) => !isExcluded(o, exclude));
  const hits = new Map<string, Partial<Record<CoveragePhase, OperationHits>>>(counted.map((o) => [o.id, {}]));
  const unattributed: Record<CoveragePhase, number> = { smoke: 0, flows: 0, load: 0 };
  const ran: Record<CoveragePhase, boolean> = { smoke: false, flows: false, load: false };

  const credit = (phase: CoveragePhase, op: OpenApiOperation | undefined, status: string, n: number) => {
    const perPhase = op ? hits.get(op.id) : undefined;
    // An excluded operation's requests are neither coverage nor unattributed.
    if (op && !perPhase) return;
    if (!perPhase) {
      unattributed[phase] += n;
      return;
    }
    addHits((perPhase[phase] ??= { requests: 0, statuses: {} }), status, n);
  };

  for (const p of input.phases) {
    const phase = COVERAGE_PHASES.find((n) => n === p.name);
    if (!phase) continue;
    // A skipped phase did not run: its column says so, whatever its results hold.
    if (p.status === 'skipped') continue;
    ran[phase] = true;
    if (phase === 'load') {
      const byId = new Map(all.map((o) => [o.id, o]));
      for (const k of p.k6 ?? []) {
        const h = k.analysis?.operations;
        if (!h) continue;
        unattributed.load += h.unattributed;
        for (const [id, x] of Object.entries(h.byId)) for (const [status, n] of Object.entries(x.statuses)) credit('load', byId.get(id), status, n);
      }
      continue;
    }
    for (const c of p.checks ?? []) {
      for (const e of c.evidence) {
        if (e.kind !== 'http' || e.status === undefined || e.status === 0) continue;
        const rel = input.baseUrl ? pathUnderBase(e.url, input.baseUrl) : undefined;
        if (rel === undefined) {
          unattributed[phase]++;
          continue;
        }
        credit(phase, matchOperation(all, e.method, rel), String(e.status), 1);
      }
    }
  }

  const operations: OperationCoverage[] = counted.map((o) => {
    const h = hits.get(o.id)!;
    return { id: o.id, method: o.method, path: o.path, smoke: !!h.smoke, flows: !!h.flows, load: !!h.load, hits: h };
  });
  const total = counted.length;
  const pct = (n: number) => (total ? Math.round((n / total) * 1000) / 10 : 0);
  const exercisedOps = operations.filter((o) => o.smoke || o.flows || o.load);
  const phaseCoverage = (phase: CoveragePhase): PhaseCoverage => {
    const count = operations.filter((o) => o[phase]).length;
    return { ran: ran[phase], count, percent: pct(count), unattributed: unattributed[phase] };
  };
  return {
    document: input.document.source,
    ...(input.document.title ? { title: input.document.title } : {}),
    total,
    exercised: exercisedOps.length,
    percent: pct(exercisedOps.length),
    byPhase: { smoke: phaseCoverage('smoke'), flows: phaseCoverage('flows'), load: phaseCoverage('load') },
    operations,
    untouched: operations.filter((o) => !o.smoke && !o.flows && !o.load).map((o) => o.id),
    excluded: all.filter((o) => !hits.has(o.id)).map((o) => o.id),
  };
}

/** A phase's cell in the reporters' coverage tables: `200 403` (distinct statuses, at most `max`, then `…`). */
export function statusesText(h: OperationHits, max = 3): string {
  const codes = Object.keys(h.statuses).sort();
  return codes.length > max ? `${codes.slice(0, max).join(' ')} …` : codes.join(' ');
}

/** `smoke 66.7% (8)` per phase that ran, `load not run` for one that did not. */
export function phaseCoverageText(c: EndpointCoverage): string {
  return COVERAGE_PHASES.map((p) => (c.byPhase[p].ran ? `${p} ${c.byPhase[p].percent}% (${c.byPhase[p].count})` : `${p} not run`)).join(' · ');
}

/** The operation as a reader scans for it: `GET /api/notes/{id}`, with its operationId when it has one. */
export function operationLabel(o: OperationCoverage): string {
  const byPath = `${o.method} ${o.path}`;
  return o.id === byPath ? byPath : `${byPath} (${o.id})`;
}
