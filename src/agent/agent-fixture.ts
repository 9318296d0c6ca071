/**
 * The `agent` fixture of flows: one run of the config's `agent` protocol as a test user.
 *
 * Contract (src/api/types.ts `AgentFixture`):
 * - `run(user)` connects through the `ws` fixture (which presents the user's credential the way
 *   `agent.token` says and records every frame as WsEvidence), waits for the greeting when one
 *   is declared (`timeouts.greeting`, from the upgrade), sends `renderTemplate(start, { userId,
 *   sessionId, ...vars })`, collects frames until this user's end event or an error event
 *   (`timeouts.run`, from the start message), and judges them with the SAME
 *   `judgeAgentRun` k6's `runAgent()` uses (src/shared/agent-protocol.ts);
 * - a bad run (refused handshake, no greeting, a timeout, a wrong sequence, a foreign event) is
 *   a result with `ok: false` and one line per problem, never an exception: the flow asserts;
 * - it throws a CheckFailure only when the config has no `agent` (naming the option) or
 *   `agent.start` names an unknown template variable, and rethrows when the check is aborted;
 * - a socket the fixture opened is closed after the run; one passed as `opts.client` is left open
 *   (several runs on one socket); each run also records a note with its judgement.
 */
import type { AgentFixture, AgentRunResult, TestUser, WsClient, WsFixture, WsMessage } from '../api/types.ts';
import { CheckFailure, type CheckContext } from '../checks/types.ts';
import type { ResolvedConfig } from '../config/config-schema.ts';
import type { AgentProtocol as ConfiguredProtocol } from '../config/schema-agent.ts';
import { agentTimeouts, endEventOf, endsRun, eventNameOf, greetingSession, judgeAgentRun, renderTemplate, type AgentJudgement, type AgentProtocol } from '../shared/agent-protocol.ts';

// The resolved config's protocol is what the shared judgement takes (checked here, where both are visible).
const _assignable: (p: ConfiguredProtocol) => AgentProtocol = (p) => p;
// And the shared judgement is the public result without its frames.
const _result: (j: AgentJudgement) => Omit<AgentRunResult, 'messages'> = (j) => j;
void _assignable;
void _result;

const NO_AGENT =
  'no `agent` in the config: declare the service\'s WebSocket protocol (agent.path, agent.token, agent.start, agent.eventPath, agent.sequence) to use the agent fixture; see docs/agent-protocol.md';

const secs = (ms: number) => `${ms / 1000} s`;

export function createAgentFixture(ctx: CheckContext, config: ResolvedConfig, ws: WsFixture): AgentFixture {
  const protocolOf = (): ConfiguredProtocol => {
    if (!config.agent) throw new CheckFailure(NO_AGENT);
    return config.agent;
  };

  return {
    async connect(user: TestUser): Promise<WsClient> {
      return ws.connect({ as: user, path: protocolOf().path });
    },

    async run(user: TestUser, opts: { vars?: Record<string, unknown>; client?: WsClient } = {}): Promise<AgentRunResult> {
      const protocol = protocolOf();
      // An empty id is an unknown one: owners are then compared with the first event's.
      const userId = user.id || undefined;
      const timeouts = agentTimeouts(protocol);
      const early: string[] = [];
      const finish = (messages: WsMessage[], judgement?: AgentJudgement): AgentRunResult => {
        const problems = [...early, ...(judgement?.problems ?? [])];
        const result: AgentRunResult = {
          ok: problems.length === 0,
          problems,
          events: judgement?.events ?? [],
          counts: judgement?.counts ?? Object.fromEntries(protocol.sequence.map((s) => [s.event, 0])),
          ...(judgement?.sessionId !== undefined ? { sessionId: judgement.sessionId } : {}),
          ...(judgement?.timeToFirstEventMs !== undefined ? { timeToFirstEventMs: judgement.timeToFirstEventMs } : {}),
          foreign: judgement?.foreign ?? 0,
          messages,
        };
        ctx.record({
          kind: 'note',
          message: `agent run as ${user.label}: ${result.ok ? 'ok' : `${problems.length} problem(s)`} — events [${result.events.join(', ')}]`,
          data: { problems, counts: result.counts, sessionId: result.sessionId, timeToFirstEventMs: result.timeToFirstEventMs, foreign: result.foreign },
        });
        return result;
      };
      const abortedCheck = () => {
        if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('aborted (check timed out or the run was interrupted)');
      };

      // Connect (unless the caller holds a socket), bounded by the handshake budget.
      let client = opts.client;
      const opened = !client;
      if (!client) {
        const attempt = ws.tryConnect({ as: user, path: protocol.path });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeouts.handshakeMs)));
        const r = await Promise.race([attempt, late]);
        clearTimeout(timer);
        abortedCheck();
        if (r === 'late') {
          // A handshake that completes after its budget is closed, never used.
          void attempt.then((x) => (x.ok ? x.client.close() : undefined)).catch(() => undefined);
          early.push(`handshake: not done within ${secs(timeouts.handshakeMs)} (agent.timeouts.handshake)`);
          return finish([]);
        }
        if (!r.ok) {
          // The status first, then the error (its body), unless the error says it all already.
          const detail = (r.error ?? '').replace(/^handshake refused (with )?/i, '');
          const parts = r.status !== undefined && !detail.includes(String(r.status)) ? [`HTTP ${r.status}`] : [];
          if (detail) parts.push(detail);
          early.push(`handshake refused: ${parts.join('; ') || 'no reason given'}`);
          return finish([]);
        }
        client = r.client;
      }

      try {
        // The greeting, and the session it names.
        let greeting: WsMessage | undefined;
        if (protocol.greeting) {
          const name = protocol.greeting.event;
          try {
            greeting = await client.waitFor((d) => eventNameOf(protocol, d) === name, { timeoutMs: timeouts.greetingMs, what: `the greeting (${name})` });
          } catch (e) {
            abortedCheck();
            early.push(`no greeting (${name}) within ${secs(timeouts.greetingMs)} of the upgrade (agent.timeouts.greeting): ${(e as Error).message}`);
            return finish([...client.messages]);
          }
        }
        const sessionId = greeting ? greetingSession(protocol, greeting.data) : undefined;

        // The start message.
        const from = client.messages.length;
        if (protocol.start !== undefined) {
          let message: unknown;
          try {
            message = renderTemplate(protocol.start, { userId, sessionId, ...opts.vars });
          } catch (e) {
            throw new CheckFailure(`agent.start: ${(e as Error).message}`);
          }
          client.send(message);
        }
        const sentAt = performance.now();

        // Frames until this user's end (or error) event, each timed as it is seen.
        const at: number[] = [];
        const deadline = sentAt + timeouts.runMs;
        let next = from;
        let ended = false;
        while (!ended) {
          const left = deadline - performance.now();
          if (left <= 0) {
            early.push(`${endEventOf(protocol)} not received within ${secs(timeouts.runMs)} of the start message (agent.timeouts.run)`);
            break;
          }
          try {
            await client.waitFor(() => true, { from: next, timeoutMs: left, what: `the run's frames up to ${endEventOf(protocol)}` });
          } catch (e) {
            abortedCheck();
            if (performance.now() < deadline - 5) {
              early.push(`the socket ended before ${endEventOf(protocol)}: ${(e as Error).message}`);
              break;
            }
            continue; // the deadline: reported above on the next turn
          }
          const now = performance.now();
          for (; next < client.messages.length && !ended; next++) {
            at.push(now);
            ended = endsRun(protocol, client.messages[next]!.data, userId);
          }
        }
        const runMessages = client.messages.slice(from, next);
        const frames = greeting ? [greeting.data, ...runMessages.map((m) => m.data)] : runMessages.map((m) => m.data);
        const judgement = judgeAgentRun(protocol, frames, userId !== undefined ? { userId } : {}, { sentAt, at: greeting ? [sentAt, ...at] : at });
        return finish(greeting ? [greeting, ...runMessages] : runMessages, judgement);
      } finally {
        if (opened) await client.close().catch(() => undefined);
      }
    },
  };
}
