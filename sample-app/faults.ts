// Fault injection: one typed `Faults` object the whole app reads on its hot paths.
//
// Contract:
// - All faults are off by default (`NO_FAULTS`). They are switched on at start (env
//   `SAMPLE_APP_FAULTS` as JSON, `--fault name=value` flags, or `startSampleApp({ faults })`)
//   and at run time through the admin server (GET/PUT/DELETE /faults, see admin.ts).
// - A patch is validated as a whole; every problem is reported with the field it names, and a
//   rejected patch changes nothing.
// - The current value is an immutable snapshot replaced on every change, so request handlers
//   read plain fields without locks and a change applies to the next request.
// Which perf gate or check must catch each fault is documented in sample-app/README.md.
import { z } from 'zod';

export const AGENT_EVENT_TYPES = [
  'agent_started',
  'agent_thinking',
  'tool_executing',
  'tool_completed',
  'agent_completed',
] as const;
export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number];

export interface Faults {
  /** Fixed latency (ms) added to every API request (not /health, pages, /ws or admin). */
  latencyMs: number;
  /** Latency (ms) added to a `tailFraction` share of API requests, on top of `latencyMs`. */
  tailLatencyMs: number;
  /** Share (0..1) of API requests that get `tailLatencyMs`. */
  tailFraction: number;
  /** Share (0..1) of API requests answered 500 `{"error":"injected_fault"}`. */
  errorRate: number;
  /** Share (0..1) of WebSocket handshakes refused with 503 (an overloaded or dying WS tier). */
  wsHandshakeFailRate: number;
  /** Delay (ms) before the first event of every agent run (a slow model start). */
  wsFirstEventDelayMs: number;
  /** Agent events go to every connected socket, not only their session's (a fan-out bug):
   *  other users receive them. */
  wsBroadcast: boolean;
  /** This WebSocket agent event type is never sent (nor kept in the session history). */
  wsDropEvent: AgentEventType | null;
  /** The first events of these two types in each run are sent in swapped order. */
  wsReorder: [AgentEventType, AgentEventType] | null;
  /** Share (0..1) of generation jobs that stall in `running` forever (a worker dying mid-job). */
  jobStallRate: number;
  /** GET /brand-kits keeps "the current user" in a module variable across an await: under
   *  concurrency a response can hold another user's kits. */
  crossUserLeak: boolean;
  /** pg_sleep (ms) added to the brand-kits list query (GET /brand-kits). */
  slowQueryMs: number;
  /** GET /health reports this dependency down (status 'degraded', HTTP 503). */
  dependencyDown: 'database' | 'redis' | null;
  /** Every HTML page carries a script that throws an uncaught error in the browser. */
  brokenPageScript: boolean;
  /** Dashboard pages render for signed-out visitors instead of redirecting to /login. */
  dashboardNoRedirect: boolean;
  /** Delay (ms) added to an API request that arrives while more than `contentionAbove` API
   *  requests (itself included) are in flight: a contention bug (a pool too small, a lock held
   *  across an await) that only shows under real concurrency. 0 = off. */
  contentionLatencyMs: number;
  /** The in-flight count `contentionLatencyMs` needs to exceed. */
  contentionAbove: number;
  /** Share (0..1) of brand-kit creations (POST /brand-kits) answered 201 with the new kit whose
   *  row is never stored (the insert is rolled back after the answer was built): a lost write. */
  lostWriteRate: number;
  /** Share (0..1) of brand-kit creations stored twice (a second row, same content, another id,
   *  like a retried insert); the answer names the first: a duplicate row. */
  duplicateWriteRate: number;
  /** Delay (ms) before every HTML page is sent (a page that got slow: first paint and load move
   *  by that much). Static files, the API and /health are not delayed. */
  slowPageMs: number;
  /** The one API route `endpointErrorRate` fails, as `METHOD /path` with the route's own
   *  parameters (`PATCH /brand-kits/:id`); null = off. */
  endpointErrorRoute: string | null;
  /** Share (0..1) of that route's requests answered 500 `{"error":"injected_fault"}`, evenly
   *  spread (every 1/rate-th request, counted from when the fault was set): a deterministic
   *  share, so a test of it is not a matter of luck. */
  endpointErrorRate: number;
  /** Latency (ms per minute) that grows with uptime: every API request (the ones `latencyMs`
   *  applies to) gets this × the minutes elapsed since the fault value was set (at start, or by
   *  an admin patch naming it, which restarts the clock), on top of `latencyMs`: a service that
   *  degrades with uptime (a growing cache scanned per request, mounting lock contention).
   *  60 → +0 ms at first, +30 ms after 30 s, +60 ms after a minute (capped at 120 s). */
  latencyCreepMsPerMin: number;
  /** KB retained forever by every API request (the ones `latencyMs` applies to), in a
   *  module-level array of non-zero-filled buffers so the pages are resident: a memory leak the
   *  target's RSS shows. Setting it to 0 stops the growth; DELETE /faults (reset) also releases
   *  what leaked. Capped at 1024 (1 MB per request). */
  leakKbPerRequest: number;
}

export type FaultName = keyof Faults;

export const NO_FAULTS: Readonly<Faults> = Object.freeze({
  latencyMs: 0,
  tailLatencyMs: 0,
  tailFraction: 0,
  errorRate: 0,
  wsHandshakeFailRate: 0,
  wsFirstEventDelayMs: 0,
  wsBroadcast: false,
  wsDropEvent: null,
  wsReorder: null,
  jobStallRate: 0,
  crossUserLeak: false,
  slowQueryMs: 0,
  dependencyDown: null,
  brokenPageScript: false,
  dashboardNoRedirect: false,
  contentionLatencyMs: 0,
  contentionAbove: 0,
  lostWriteRate: 0,
  duplicateWriteRate: 0,
  slowPageMs: 0,
  endpointErrorRoute: null,
  endpointErrorRate: 0,
  latencyCreepMsPerMin: 0,
  leakKbPerRequest: 0,
});

const MAX_DELAY_MS = 120_000;
const eventType = z.enum(AGENT_EVENT_TYPES);
const delay = z.number().int().min(0).max(MAX_DELAY_MS);
const fraction = z.number().min(0).max(1);
const MAX_LEAK_KB = 1024;

/** What `leakKbPerRequest` retained: module-level, so it outlives requests (a real leak); emptied
 *  by FaultController.reset() (DELETE /faults). */
const leaked: Buffer[] = [];

const patchSchema = z
  .strictObject({
    latencyMs: delay,
    tailLatencyMs: delay,
    tailFraction: fraction,
    errorRate: fraction,
    wsHandshakeFailRate: fraction,
    wsFirstEventDelayMs: delay,
    wsBroadcast: z.boolean(),
    wsDropEvent: eventType.nullable(),
    wsReorder: z
      .tuple([eventType, eventType])
      .refine(([a, b]) => a !== b, 'the two event types must differ')
      .nullable(),
    jobStallRate: fraction,
    crossUserLeak: z.boolean(),
    slowQueryMs: delay,
    dependencyDown: z.enum(['database', 'redis']).nullable(),
    brokenPageScript: z.boolean(),
    dashboardNoRedirect: z.boolean(),
    contentionLatencyMs: delay,
    contentionAbove: z.number().int().min(0).max(100_000),
    lostWriteRate: fraction,
    duplicateWriteRate: fraction,
    slowPageMs: delay,
    endpointErrorRoute: z
      .string()
      .regex(/^(GET|POST|PUT|PATCH|DELETE) \/\S*$/, 'must be "METHOD /route", e.g. "PATCH /brand-kits/:id"')
      .nullable(),
    endpointErrorRate: fraction,
    latencyCreepMsPerMin: z.number().min(0).max(MAX_DELAY_MS),
    leakKbPerRequest: z.number().min(0).max(MAX_LEAK_KB),
  })
  .partial();

export type FaultsPatch = Partial<Faults>;

export interface FaultIssue {
  field: string;
  message: string;
}

export class FaultValidationError extends Error {
  readonly issues: FaultIssue[];
  constructor(issues: FaultIssue[]) {
    super(`invalid faults: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
    this.name = 'FaultValidationError';
    this.issues = issues;
  }
}

/** Validates a patch (e.g. a PUT /faults body); throws FaultValidationError listing every problem. */
export function parseFaultsPatch(input: unknown): FaultsPatch {
  // `wsReorder: true` is a shorthand for the classic tool_executing/tool_completed swap.
  if (input && typeof input === 'object' && !Array.isArray(input) && (input as Record<string, unknown>).wsReorder === true) {
    input = { ...(input as object), wsReorder: ['tool_executing', 'tool_completed'] };
  }
  const result = patchSchema.safeParse(input);
  if (result.success) return result.data as FaultsPatch;
  const issues: FaultIssue[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ field: key, message: `unknown fault (known: ${Object.keys(NO_FAULTS).join(', ')})` });
    } else {
      issues.push({ field: issue.path.length ? issue.path.map(String).join('.') : '(root)', message: issue.message });
    }
  }
  throw new FaultValidationError(issues);
}

/** Parses one `--fault name=value` flag. Values: numbers, true/false, null, JSON, `a,b` lists
 *  (for wsReorder) or bare strings; `--fault name` alone means `name=true`. */
export function parseFaultFlag(flag: string): FaultsPatch {
  const eq = flag.indexOf('=');
  const name = (eq === -1 ? flag : flag.slice(0, eq)).trim();
  const raw = eq === -1 ? 'true' : flag.slice(eq + 1).trim();
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = name === 'wsReorder' && raw.includes(',') ? raw.split(',').map((s) => s.trim()) : raw;
  }
  return parseFaultsPatch({ [name]: value });
}

/** Parses `SAMPLE_APP_FAULTS` (a JSON object). */
export function parseFaultsEnv(json: string): FaultsPatch {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new FaultValidationError([{ field: 'SAMPLE_APP_FAULTS', message: `not JSON: ${(error as Error).message}` }]);
  }
  return parseFaultsPatch(value);
}

/** Holds the live faults. One per app instance. */
export class FaultController {
  #current: Readonly<Faults>;

  /** When the current `latencyCreepMsPerMin` value was set (performance.now() ms). */
  #creepSince = performance.now();

  constructor(initial: FaultsPatch = {}) {
    this.#current = Object.freeze({ ...NO_FAULTS, ...parseFaultsPatch(initial) });
  }

  /** The current snapshot (immutable; re-read it per request). */
  get current(): Readonly<Faults> {
    return this.#current;
  }

  /** JSON-merges a validated patch; returns the new snapshot. */
  merge(patch: unknown): Readonly<Faults> {
    const parsed = parseFaultsPatch(patch);
    this.#current = Object.freeze({ ...this.#current, ...parsed });
    this.#endpointShare = 0;
    // A patch naming latencyCreepMsPerMin (even with the same value) restarts its clock.
    if (parsed.latencyCreepMsPerMin !== undefined) this.#creepSince = performance.now();
    return this.#current;
  }

  /** Switches every fault off. */
  reset(): Readonly<Faults> {
    this.#current = NO_FAULTS;
    this.#endpointShare = 0;
    this.#creepSince = performance.now();
    leaked.length = 0; // releases what leakKbPerRequest retained
    return this.#current;
  }

  /** `endpointErrorRate` accumulated over the route's requests since the fault was set: a
   *  request fails each time it reaches 1 (so exactly ⌊n·rate⌋ of n fail). */
  #endpointShare = 0;

  /** Whether this request of `route` (`METHOD /route`) is one the endpoint fault fails. */
  failsEndpoint(route: string): boolean {
    const f = this.#current;
    if (f.endpointErrorRate <= 0 || f.endpointErrorRoute !== route) return false;
    this.#endpointShare += f.endpointErrorRate;
    if (this.#endpointShare < 1 - 1e-9) return false;
    this.#endpointShare -= 1;
    return true;
  }

  /** Whether any API-request fault (latency, tail, creep, leak, error, contention, endpoint error) is on: the hot path's fast exit. */
  get touchesApi(): boolean {
    const f = this.#current;
    return f.latencyMs > 0 || f.latencyCreepMsPerMin > 0 || f.leakKbPerRequest > 0 || (f.tailLatencyMs > 0 && f.tailFraction > 0) || f.errorRate > 0 || f.contentionLatencyMs > 0 || (f.endpointErrorRate > 0 && f.endpointErrorRoute !== null);
  }

  /** The contention delay (ms) for an API request that arrives with `inFlight` API requests in
   *  flight, itself included: `contentionLatencyMs` above `contentionAbove`, else 0. */
  contentionDelayMs(inFlight: number): number {
    const f = this.#current;
    return f.contentionLatencyMs > 0 && inFlight > f.contentionAbove ? f.contentionLatencyMs : 0;
  }

  /** The delay (ms) to add to this API request. */
  apiDelayMs(random: () => number = Math.random): number {
    const f = this.#current;
    let ms = f.latencyMs;
    if (f.tailLatencyMs > 0 && f.tailFraction > 0 && random() < f.tailFraction) ms += f.tailLatencyMs;
    if (f.latencyCreepMsPerMin > 0) ms += Math.min(MAX_DELAY_MS, (f.latencyCreepMsPerMin * (performance.now() - this.#creepSince)) / 60_000);
    return ms;
  }

  /** FAULT leakKbPerRequest: retains that many KB (non-zero bytes, so resident) forever. */
  leakForRequest(): void {
    const kb = this.#current.leakKbPerRequest;
    if (kb > 0) leaked.push(Buffer.alloc(Math.round(kb * 1024), 1));
  }


  /** Whether this API request must be answered 500. */
  shouldFail(random: () => number = Math.random): boolean {
    const rate = this.#current.errorRate;
    return rate > 0 && random() < rate;
  }
}
