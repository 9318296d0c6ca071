// runAgent(): one run of the service's agent protocol (the config's `agent`, passed by perf as
// PERF_AGENT) by this VU's user, on k6/ws, recorded in the ws_* metrics and judged by the SAME
// judgeAgentRun the flows' `agent` fixture uses (src/shared/agent-protocol.ts).
//
// Budgets, each from where its wait starts (timeouts.*): the handshake (from connecting; k6/ws
// cannot bound it, so it is judged once done), the greeting (from the upgrade) and the run (from
// the start message to this user's end event). Metrics:
//   ws_session_established  1 when the socket opened within its budget and was greeted (or no greeting is declared)
//   ws_event_order          counts, order, end event, no error event (runs that were established)
//   ws_event_ownership      no event of another owner, every event names its owner and session (idem)
//   ws_time_to_first_event  from the start message to this user's first event
//   ws_event_latency        from the start message to each event, tagged `event`
// A run that failed leaves one console.warn line (k6's log, quoted in the verdict) saying how.
import {
  agentTimeouts,
  agentUrl,
  endsRun,
  eventNameOf,
  greetingSession,
  judgeAgentRun,
  renderTemplate,
  type AgentJudgement,
  type AgentProtocol,
} from '../../src/shared/agent-protocol.ts';
import { expectThat } from './checks.ts';
import { BASE_URL } from './env.ts';
import { wsEventLatency, wsEventOrder, wsEventOwnership, wsSessionEstablished, wsTimeToFirstEvent } from './metrics.ts';
import { withSocket, type SocketOptions } from './ws.ts';

export type { AgentJudgement, AgentProtocol } from '../../src/shared/agent-protocol.ts';

/** What runAgent needs of a session: the user's id (ownership), and the credential. */
export interface AgentSession {
  userId?: string;
  id?: string;
  /** The credential presented as `agent.token` says (`accessToken` is read when `token` is absent). */
  token?: string;
  accessToken?: string;
  /** For `token: { in: 'cookie' }`. */
  cookies?: Record<string, string>;
}

export interface AgentRunOutcome extends AgentJudgement {
  /** The upgrade succeeded. */
  opened: boolean;
  /** HTTP status of the handshake (101 when opened, 0 when no answer came). */
  status: number;
  /** Connected within the handshake budget and greeted: the run was judged on order and ownership. */
  established: boolean;
  /** How the socket's session ended: `completed`, a budget, an error. */
  how: string;
}

let fromEnv: AgentProtocol | undefined;

/** The protocol perf passed (`agent` of the config, as PERF_AGENT); an error saying what to declare when absent. */
export function agentProtocol(): AgentProtocol {
  if (fromEnv) return fromEnv;
  const raw = __ENV.PERF_AGENT;
  if (!raw) throw new Error('no agent protocol: PERF_AGENT is not set. Declare `agent` (path, token, start, eventPath, sequence) in perf.config.ts; perf passes it to k6 (docs/agent-protocol.md)');
  fromEnv = JSON.parse(raw) as AgentProtocol;
  return fromEnv;
}

/** The socket URL and options presenting `session`'s credential the way `protocol.token` says. */
export function agentSocket(protocol: AgentProtocol, session: AgentSession): { url: string; options: SocketOptions } {
  const url = agentUrl(protocol, { baseUrl: BASE_URL, ...(__ENV.PERF_WS_URL ? { wsUrl: __ENV.PERF_WS_URL } : {}) });
  const token = session.token ?? session.accessToken;
  const how = protocol.token ?? { in: 'header' as const };
  const options: SocketOptions = {};
  if (how.in === 'cookie') {
    if (session.cookies) options.cookies = session.cookies;
  } else if (token !== undefined) {
    if (how.in === 'header') options.headers = { [how.name ?? 'Authorization']: `${how.prefix ?? 'Bearer '}${token}` };
    else if (how.in === 'query') options.query = { [how.name ?? 'token']: token };
    else options.protocols = [...(how.protocols ?? []), `${how.prefix ?? ''}${token}`];
  } else if (how.in === 'subprotocol' && how.protocols?.length) {
    options.protocols = how.protocols;
  }
  return { url, options };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * One run as `session`'s user: connect, (greeting,) start message (`renderTemplate(start,
 * { userId, sessionId, ...vars })`), frames until this user's end or error event, judged; the
 * ws_* metrics recorded. Returns the judgement; never throws for a bad run.
 */
export function runAgent(protocol: AgentProtocol, session: AgentSession, vars: Record<string, unknown> = {}): AgentRunOutcome {
  const budgets = agentTimeouts(protocol);
  // An empty id is an unknown one (a service that does not report ids): owners are then compared with the first event's.
  const userId = session.userId || session.id || undefined;
  const { url, options } = agentSocket(protocol, session);
  const frames: unknown[] = [];
  const at: number[] = [];
  let greeted = false;
  let inBudget = false;
  let sessionId: string | undefined;
  let sentAt: number | undefined;
  let how = 'socket closed';

  // k6/ws via withSocket: the handlers are attached before the first frame is read, so a
  // greeting sent right after the upgrade cannot be missed (lib/ws.ts says why k6/websockets can).
  const connectingSince = Date.now();
  const outcome = withSocket(url, options, (socket) => {
    const end = (why: string) => {
      how = why;
      socket.close();
    };
    const handshakeMs = Date.now() - connectingSince;
    if (handshakeMs > budgets.handshakeMs) {
      end(`handshake took ${(handshakeMs / 1000).toFixed(1)} s (budget ${budgets.handshakeMs / 1000} s)`);
      return;
    }
    inBudget = true;
    const start = () => {
      sentAt = Date.now();
      if (protocol.start !== undefined) socket.send(JSON.stringify(renderTemplate(protocol.start, { userId, sessionId, ...vars })));
      // A run that never ends is judged as it stands (its end event missing).
      socket.setTimeout(() => end(`run not completed within ${budgets.runMs / 1000} s of the start message`), budgets.runMs);
    };
    socket.on('message', (text: string) => {
      const now = Date.now();
      const data = parse(text);
      if (!greeted) {
        // Only the greeting counts before the run starts.
        if (eventNameOf(protocol, data) !== protocol.greeting!.event) return;
        greeted = true;
        sessionId = greetingSession(protocol, data);
        frames.push(data);
        at.push(now);
        start();
        return;
      }
      frames.push(data);
      at.push(now);
      if (endsRun(protocol, data, userId)) end('completed');
    });
    socket.on('error', (e) => {
      how = `socket error: ${e.error()}`;
    });
    if (protocol.greeting) {
      socket.setTimeout(() => {
        if (!greeted) end(`no greeting (${protocol.greeting!.event}) within ${budgets.greetingMs / 1000} s of the upgrade`);
      }, budgets.greetingMs);
    } else {
      greeted = true;
      start();
    }
  });
  if (!outcome.opened) how = `handshake failed: HTTP ${outcome.status}${outcome.error ? ` (${outcome.error})` : ''}`;

  const judgement = judgeAgentRun(protocol, frames, userId !== undefined ? { userId } : {}, sentAt !== undefined ? { sentAt, at } : {});
  // Order and ownership are judged on runs that had a session; a connection that never came up
  // (refused, too slow, not greeted) is a different failure, measured on its own.
  const established = outcome.opened && inBudget && greeted;
  wsSessionEstablished.add(established ? 1 : 0);
  if (established) {
    wsEventOrder.add(judgement.inOrder ? 1 : 0);
    wsEventOwnership.add(judgement.owned ? 1 : 0);
    if (judgement.timeToFirstEventMs !== undefined) wsTimeToFirstEvent.add(judgement.timeToFirstEventMs);
    judgement.frameIndexes.forEach((i, n) => wsEventLatency.add(at[i]! - sentAt!, { event: judgement.events[n]! }));
  }
  expectThat(judgement.events.length > 0, 'agent events received');
  // The evidence for a failed run: how it ended, what arrived, what was wrong.
  if (!established || !judgement.ok) {
    console.warn(JSON.stringify({ ws_run_failed: how, sessionId: judgement.sessionId ?? sessionId, events: judgement.events, problems: judgement.problems, foreign: judgement.foreign }));
  }
  return { ...judgement, opened: outcome.opened, status: outcome.status, established, how };
}
