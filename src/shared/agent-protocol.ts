/**
 * The agent protocol's judgement, pure TypeScript (no Node, no k6 imports): the `agent` fixture
 * of flows (src/agent/agent-fixture.ts) and k6's `runAgent()` (scenarios/lib/agent.ts) import
 * this one file, so a run is judged the same way in a flow and under load.
 *
 * The protocol is the config's `agent` block (src/config/schema-agent.ts, docs/agent-protocol.md).
 * Here it is typed structurally with every defaulted option optional, so a resolved config and a
 * hand-written object (k6 reads it from `__ENV.PERF_AGENT`) are both accepted, and the defaults
 * are applied the same way on both sides.
 */
import { getPath } from './json-path.ts';

export { getPath, parsePath } from './json-path.ts';

export interface AgentStepSpec {
  event: string;
  /** Exactly this many. */
  count?: number;
  /** At least this many (default 1 when neither count nor min is given). */
  min?: number;
  /** At most this many. */
  max?: number;
}

export type AgentTokenSpec =
  | { in: 'query'; name?: string }
  | { in: 'header'; name?: string; prefix?: string }
  | { in: 'subprotocol'; protocols?: string[]; prefix?: string }
  | { in: 'cookie' };

/** The config's `agent` (schema-agent.ts `AgentProtocol` is assignable to it). */
export interface AgentProtocol {
  path?: string;
  token?: AgentTokenSpec;
  greeting?: { event: string; sessionPath?: string };
  start?: unknown;
  eventPath?: string;
  ownerPath?: string;
  sessionPath?: string;
  sequence: AgentStepSpec[];
  endEvent?: string;
  errorEvents?: string[];
  timeouts?: { handshake?: string; greeting?: string; run?: string };
}

/** Who ran it: the test user's id (compared with `ownerPath`), the session the greeting named. */
export interface AgentWho {
  userId?: string;
  sessionId?: string;
}

/** Arrival times, on any one clock (ms): `at[i]` is when `frames[i]` arrived, `sentAt` when the start message went. */
export interface AgentTiming {
  sentAt?: number;
  at?: readonly number[];
}

export interface AgentJudgement {
  /** Every judgement held: greeting, sequence (counts, order, end), ownership, session. */
  ok: boolean;
  /** What was wrong, one line each. */
  problems: string[];
  /** This user's event names (sequence and error events) in arrival order. */
  events: string[];
  /** Per event name of the sequence (0 when none came), and of each error event received. */
  counts: Record<string, number>;
  sessionId?: string;
  /** From `timing.sentAt` to the first of this user's events. */
  timeToFirstEventMs?: number;
  /** Events of other owners (an isolation failure); not in `events` or `counts`. */
  foreign: number;
  /** The greeting came (or none is declared). */
  greeted: boolean;
  /** Counts, order, end event, no error event: what k6's `ws_event_order` records. */
  inOrder: boolean;
  /** No foreign event, every event names its owner and this session: what k6's `ws_event_ownership` records. */
  owned: boolean;
  /** Index in `frames` of each entry of `events`. */
  frameIndexes: number[];
}

const DEFAULT_TIMEOUTS = { handshake: '10s', greeting: '5s', run: '5s' } as const;
const MAX_LINES_PER_RULE = 3;

/** A duration of the protocol (`500ms`, `5s`, `1m30s`) in ms; plain numbers are ms. */
export function durationMs(value: string | number, option = 'duration'): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?!s))?\s*(?:(\d+(?:\.\d+)?)s)?\s*(?:(\d+(?:\.\d+)?)ms)?\s*$/.exec(value);
  if (!m || m.slice(1).every((g) => g === undefined)) throw new Error(`${option} must be a duration such as 500ms, 5s or 1m (got "${value}")`);
  const [h, min, s, ms] = m.slice(1).map((g) => Number(g ?? 0)) as [number, number, number, number];
  return h * 3_600_000 + min * 60_000 + s * 1000 + ms;
}

/** The protocol's three budgets in ms, defaults applied (handshake 10 s, greeting 5 s, run 5 s). */
export function agentTimeouts(protocol: AgentProtocol): { handshakeMs: number; greetingMs: number; runMs: number } {
  const t = { ...DEFAULT_TIMEOUTS, ...protocol.timeouts };
  return {
    handshakeMs: durationMs(t.handshake, 'agent.timeouts.handshake'),
    greetingMs: durationMs(t.greeting, 'agent.timeouts.greeting'),
    runMs: durationMs(t.run, 'agent.timeouts.run'),
  };
}

/**
 * The socket's URL: `agent.path` (default `/ws`) resolved against the WebSocket base the way a
 * link is: a ws:// or wss:// URL is taken as it is; a path starting with `/` replaces the base's
 * path (`ws://host:3000/anything` + `/ws` → `ws://host:3000/ws`); any other path is relative to
 * the base's folder. The base is `target.wsUrl` (k6: `PERF_WS_URL`), else the base URL with
 * http → ws. No credential is added here (`agent.token` says where it goes).
 */
export function agentUrl(protocol: Pick<AgentProtocol, 'path'>, target: { baseUrl: string; wsUrl?: string }): string {
  const path = protocol.path ?? '/ws';
  if (/^wss?:\/\//i.test(path)) return path;
  const base = (target.wsUrl || target.baseUrl).replace(/^http(s?):\/\//i, 'ws$1://');
  const m = /^(wss?:\/\/[^/?#]+)([^?#]*)/i.exec(base);
  if (!m) throw new Error(`not a WebSocket or HTTP URL: ${base}`);
  if (path.startsWith('/')) return `${m[1]}${path}`;
  const dir = m[2]!.slice(0, m[2]!.lastIndexOf('/') + 1) || '/';
  return `${m[1]}${dir}${path}`;
}

/** `url` with `name=value` added to its query string (both encoded). */
export function withQuery(url: string, name: string, value: string): string {
  const hash = url.indexOf('#');
  const [head, frag] = hash >= 0 ? [url.slice(0, hash), url.slice(hash)] : [url, ''];
  return `${head}${head.includes('?') ? '&' : '?'}${encodeURIComponent(name)}=${encodeURIComponent(value)}${frag}`;
}

/** The event that ends a run: `endEvent`, else the sequence's last. */
export function endEventOf(protocol: AgentProtocol): string {
  return protocol.endEvent ?? protocol.sequence[protocol.sequence.length - 1]!.event;
}

/** The event name of a frame (at `eventPath`, default `type`), or undefined when it has none. */
export function eventNameOf(protocol: AgentProtocol, frame: unknown): string | undefined {
  const name = getPath(frame, protocol.eventPath ?? 'type');
  return typeof name === 'string' || typeof name === 'number' ? String(name) : undefined;
}

/** What a frame means to a run in progress: the greeting, an event that ends it, or nothing special. */
export function classifyFrame(protocol: AgentProtocol, frame: unknown): { name?: string; greeting: boolean; ends: boolean; error: boolean } {
  const name = eventNameOf(protocol, frame);
  const error = name !== undefined && (protocol.errorEvents ?? []).includes(name);
  return { ...(name !== undefined ? { name } : {}), greeting: name !== undefined && protocol.greeting?.event === name, ends: error || name === endEventOf(protocol), error };
}

/**
 * Whether `frame` ends the run of user `userId`: the end event or an error event, of this user
 * (an event of another owner, broadcast by mistake, must not end this user's run; without
 * `ownerPath` or a known user id any end event does).
 */
export function endsRun(protocol: AgentProtocol, frame: unknown, userId: string | undefined): boolean {
  if (!classifyFrame(protocol, frame).ends) return false;
  if (!protocol.ownerPath || userId === undefined) return true;
  const owner = getPath(frame, protocol.ownerPath);
  return owner === undefined || String(owner) === userId;
}

/** The session id a greeting frame carries (at `greeting.sessionPath`), as a string. */
export function greetingSession(protocol: AgentProtocol, frame: unknown): string | undefined {
  const path = protocol.greeting?.sessionPath;
  if (!path) return undefined;
  const v = getPath(frame, path);
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

const TEMPLATE = /\{\{\s*([A-Za-z_$][\w$]*)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z_$][\w$]*)\s*\}\}$/;

/**
 * `value` with `{{name}}` replaced from `vars` in every string, recursively through objects and
 * arrays. A string that is exactly one `{{name}}` becomes the variable's value with its type
 * (a number stays a number, an object an object); inside a longer string the value is
 * stringified (objects as JSON, undefined as ''). An unknown name is an error naming it and the
 * known ones: a typo would otherwise reach the service as literal braces.
 */
export function renderTemplate(value: unknown, vars: Record<string, unknown>): unknown {
  if (typeof value === 'string') {
    const lookup = (name: string): unknown => {
      if (!Object.prototype.hasOwnProperty.call(vars, name)) {
        throw new Error(`unknown template variable {{${name}}} in ${JSON.stringify(value)}; known: ${Object.keys(vars).map((k) => `{{${k}}}`).join(', ') || 'none'}`);
      }
      return vars[name];
    };
    const whole = WHOLE.exec(value);
    if (whole) return lookup(whole[1]!);
    return value.replace(TEMPLATE, (_m, name: string) => {
      const v = lookup(name);
      if (v === undefined || v === null) return '';
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => renderTemplate(v, vars));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderTemplate(v, vars);
    return out;
  }
  return value;
}

function expectation(step: AgentStepSpec): { ok: (n: number) => boolean; text: string } {
  if (step.count !== undefined) return { ok: (n) => n === step.count, text: `exactly ${step.count}` };
  const min = step.min ?? (step.max === undefined ? 1 : 0);
  const max = step.max;
  if (max !== undefined && min > 0) return { ok: (n) => n >= min && n <= max, text: `between ${min} and ${max}` };
  if (max !== undefined) return { ok: (n) => n <= max, text: `at most ${max}` };
  return { ok: (n) => n >= min, text: `at least ${min}` };
}

function excerpt(frame: unknown): string {
  let s: string;
  try {
    s = typeof frame === 'string' ? frame : JSON.stringify(frame);
  } catch {
    s = String(frame);
  }
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function asId(v: unknown): string | undefined {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

/** Lines past `MAX_LINES_PER_RULE` of one rule are summed up in one more line. */
function capped(lines: string[]): string[] {
  if (lines.length <= MAX_LINES_PER_RULE) return lines;
  return [...lines.slice(0, MAX_LINES_PER_RULE), `... and ${lines.length - MAX_LINES_PER_RULE} more like these`];
}

/**
 * Judges one run of `protocol` from the frames received (parsed JSON, or text; in arrival order,
 * the greeting included or not). Rules, each failure one line of `problems`:
 * - greeting: when one is declared and `who.sessionId` is not given, a frame named
 *   `greeting.event` must be among the frames (its `sessionPath` gives the session id);
 * - only frames whose name (at `eventPath`) is in the sequence or in `errorEvents` are events;
 *   events of another owner (at `ownerPath`, compared with `who.userId`, else with the first
 *   event's owner) are `foreign`: one problem, and not counted below;
 * - counts per step (`count` exact, `min`, `max`; at least 1 by default);
 * - order: never backwards in the sequence;
 * - the last event is the end event (`endEvent`, default the sequence's last); an error event
 *   is a problem quoting it;
 * - every event names its owner (when `ownerPath` is declared) and the session (at
 *   `sessionPath`) equals the greeting's (or, without a greeting, the first event's).
 */
export function judgeAgentRun(protocol: AgentProtocol, frames: readonly unknown[], who: AgentWho = {}, timing: AgentTiming = {}): AgentJudgement {
  const order = protocol.sequence.map((s) => s.event);
  const errorEvents = protocol.errorEvents ?? [];
  const end = endEventOf(protocol);
  const sequenceProblems: string[] = [];
  const ownerProblems: string[] = [];
  const greetingProblems: string[] = [];

  // The greeting and the session it names.
  let sessionId = who.sessionId;
  let greeted = protocol.greeting === undefined || who.sessionId !== undefined;
  if (protocol.greeting && who.sessionId === undefined) {
    const g = frames.find((f) => eventNameOf(protocol, f) === protocol.greeting!.event);
    if (g === undefined) greetingProblems.push(`no greeting (${protocol.greeting.event}) received`);
    else {
      greeted = true;
      if (protocol.greeting.sessionPath) {
        sessionId = greetingSession(protocol, g);
        if (sessionId === undefined) greetingProblems.push(`the greeting (${protocol.greeting.event}) has no session id at ${protocol.greeting.sessionPath}`);
      }
    }
  }

  // This user's events, the foreign ones set aside.
  const events: string[] = [];
  const frameIndexes: number[] = [];
  const counts: Record<string, number> = Object.fromEntries(order.map((e) => [e, 0]));
  let foreign = 0;
  const foreignOwners = new Set<string>();
  const foreignNames: string[] = [];
  let owner = who.userId;
  const unowned: string[] = [];
  const wrongSession: string[] = [];
  const errors: string[] = [];
  let expectedSession = protocol.greeting?.sessionPath ? sessionId : who.sessionId;
  frames.forEach((frame, i) => {
    const name = eventNameOf(protocol, frame);
    if (name === undefined || (!order.includes(name) && !errorEvents.includes(name))) return;
    if (protocol.ownerPath) {
      const o = asId(getPath(frame, protocol.ownerPath));
      if (o === undefined) unowned.push(`${name} (event ${events.length + 1}) names no owner at ${protocol.ownerPath}`);
      else if (owner === undefined) owner = o;
      else if (o !== owner) {
        foreign++;
        foreignOwners.add(o);
        foreignNames.push(name);
        return;
      }
    }
    events.push(name);
    frameIndexes.push(i);
    counts[name] = (counts[name] ?? 0) + 1;
    if (errorEvents.includes(name)) errors.push(`the server sent ${name}: ${excerpt(frame)}`);
    if (protocol.sessionPath) {
      const s = asId(getPath(frame, protocol.sessionPath));
      if (expectedSession === undefined && s !== undefined) expectedSession = s;
      else if (s !== expectedSession) wrongSession.push(`${name} (event ${events.length}) has session ${s === undefined ? 'none' : JSON.stringify(s)} at ${protocol.sessionPath}, expected ${JSON.stringify(expectedSession)}`);
    }
  });

  // Counts.
  for (const step of protocol.sequence) {
    const want = expectation(step);
    const n = counts[step.event] ?? 0;
    if (!want.ok(n)) sequenceProblems.push(`${step.event}: ${n} received, expected ${want.text}`);
  }
  // Order: each event's rank in the sequence never goes down.
  const backwards: string[] = [];
  let rank = -1;
  let rankName = '';
  events.forEach((name, i) => {
    const r = order.indexOf(name);
    if (r < 0) return;
    if (r < rank) backwards.push(`${name} (event ${i + 1}) arrived after ${rankName}: out of the declared order ${order.join(' → ')}`);
    else {
      rank = r;
      rankName = name;
    }
  });
  sequenceProblems.push(...capped(backwards));
  // The end.
  const last = events[events.length - 1];
  if (last === undefined) sequenceProblems.push(`no events received (expected ${order[0]} first, ${end} last)`);
  else if (!errorEvents.includes(last) && last !== end) {
    sequenceProblems.push(events.includes(end) ? `the run did not end with ${end}: ${last} came after it` : `${end} never received: the last event was ${last}`);
  }
  sequenceProblems.push(...capped(errors));

  if (foreign > 0) {
    ownerProblems.push(
      `${foreign} event(s) of other owners received (${protocol.ownerPath} ${[...foreignOwners].slice(0, 3).map((o) => JSON.stringify(o)).join(', ')}${foreignOwners.size > 3 ? ', ...' : ''}, expected ${JSON.stringify(owner)}): ${foreignNames.slice(0, 6).join(', ')}${foreignNames.length > 6 ? ', ...' : ''}`,
    );
  }
  ownerProblems.push(...capped(unowned), ...capped(wrongSession));

  let timeToFirstEventMs: number | undefined;
  const firstAt = frameIndexes.length ? timing.at?.[frameIndexes[0]!] : undefined;
  if (timing.sentAt !== undefined && firstAt !== undefined) timeToFirstEventMs = Math.round((firstAt - timing.sentAt) * 100) / 100;

  const problems = [...greetingProblems, ...sequenceProblems, ...ownerProblems];
  return {
    ok: problems.length === 0,
    problems,
    events,
    counts,
    ...(sessionId !== undefined ? { sessionId } : {}),
    ...(timeToFirstEventMs !== undefined ? { timeToFirstEventMs } : {}),
    foreign,
    greeted,
    inOrder: sequenceProblems.length === 0,
    owned: ownerProblems.length === 0,
    frameIndexes,
  };
}
