import { z } from 'zod';
import { jsonPath } from './schema-auth.ts';

/**
 * `agent`: the service's WebSocket event protocol, declared once and checked the same way by
 * flows (the `agent` fixture) and by k6 (`perf-harness/k6`'s `runAgent()`, in a scenario):
 * connect as a test user, (wait for a greeting,) send the start message, collect frames until
 * the end event, then judge the sequence (counts and order), ownership and time to first event.
 *
 * An instance (docs/agent-protocol.md has every option, and sample-app's own in perf.config.ts):
 *   agent: {
 *     path: '/events',
 *     token: { in: 'subprotocol', protocols: ['notes.v1'], prefix: 'token.' },
 *     start: { kind: 'cmd', name: 'summarize', note: '{{noteId}}' },
 *     eventPath: 'name', ownerPath: 'meta.owner',
 *     sequence: [{ event: 'summary.begin', count: 1 }, { event: 'summary.chunk', min: 1, max: 3 }, { event: 'summary.end', count: 1 }],
 *     errorEvents: ['summary.failed'],
 *   }
 */
export const agentStepSchema = z
  .object({
    event: z.string().min(1),
    /** Exactly this many. */
    count: z.number().int().min(0).optional(),
    /** At least / at most this many (default: at least 1 when neither count nor min is given). */
    min: z.number().int().min(0).optional(),
    max: z.number().int().min(0).optional(),
  })
  .strict();

/** `500ms`, `5s`, `1m30s` (what src/shared/agent-protocol.ts `durationMs` reads, in Node and in k6). */
const duration = z.string().regex(/^(\d+(\.\d+)?h)?(\d+(\.\d+)?m)?(\d+(\.\d+)?s)?(\d+(\.\d+)?ms)?$/, 'must be a duration such as 500ms, 5s or 1m30s').refine((s) => s !== '', 'must be a duration such as 500ms, 5s or 1m30s');

export const agentSchema = z
  .object({
    /**
     * Where the socket is, resolved against the WebSocket base (`target.wsUrl`, else the base URL
     * as ws://) like a link: `/ws` replaces the base's path, `events` is relative to its folder, a
     * ws:// or wss:// URL is used as it is (src/shared/agent-protocol.ts `agentUrl`).
     */
    path: z.string().default('/ws'),
    /** How the test user's credential is presented on the handshake. */
    token: z
      .discriminatedUnion('in', [
        z.object({ in: z.literal('query'), name: z.string().default('token') }).strict(),
        z.object({ in: z.literal('header'), name: z.string().default('Authorization'), prefix: z.string().default('Bearer ') }).strict(),
        z
          .object({
            in: z.literal('subprotocol'),
            /** Offered along with the token's own protocol. */
            protocols: z.array(z.string()).default([]),
            /** The token's protocol is `<prefix><token>`. */
            prefix: z.string().default(''),
          })
          .strict(),
        /** The user's cookies (a cookie-session service). */
        z.object({ in: z.literal('cookie') }).strict(),
      ])
      .default({ in: 'header', name: 'Authorization', prefix: 'Bearer ' }),
    /** A frame the server sends first; the start message waits for it. */
    greeting: z
      .object({
        event: z.string(),
        /** Where the session id is in it (then every event must carry the same one at `sessionPath`). */
        sessionPath: jsonPath.optional(),
      })
      .strict()
      .optional(),
    /**
     * The message that starts a run: JSON, a template (`{{userId}}`, `{{sessionId}}` and the
     * caller's vars; a whole-string `{{x}}` keeps its type). Absent: nothing is sent, the server
     * starts the run by itself once connected (and greeted); the run budget starts then.
     */
    start: z.unknown().optional(),
    /** Where the event name is in each frame. */
    eventPath: jsonPath.default('type'),
    /** Where the owning user's id is in each event (compared with the test user's id). */
    ownerPath: jsonPath.optional(),
    /** Where the session id is in each event (compared with the greeting's). */
    sessionPath: jsonPath.optional(),
    /** The events a run must produce, in this order, with their counts. */
    sequence: z.array(agentStepSchema).min(1),
    /** The event that ends a run; default: the sequence's last. */
    endEvent: z.string().optional(),
    /** Events that end a run as failed (`error`). */
    errorEvents: z.array(z.string()).default([]),
    timeouts: z
      .object({
        handshake: duration.default('10s'),
        greeting: duration.default('5s'),
        run: duration.default('5s'),
      })
      .strict()
      .default({ handshake: '10s', greeting: '5s', run: '5s' }),
  })
  .strict()
  .superRefine((a, ctx) => {
    // The judgement (src/shared/agent-protocol.ts) ranks events by their place in the sequence:
    // each name once, and the greeting, end and error events must not contradict it.
    const names = a.sequence.map((s) => s.event);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: ['sequence', i, 'event'], message: `"${n}" is in the sequence twice; give it once with count/min/max` });
    });
    a.sequence.forEach((s, i) => {
      if (s.count !== undefined && (s.min !== undefined || s.max !== undefined)) ctx.addIssue({ code: 'custom', path: ['sequence', i], message: 'give count, or min/max, not both' });
      if (s.min !== undefined && s.max !== undefined && s.min > s.max) ctx.addIssue({ code: 'custom', path: ['sequence', i], message: `min (${s.min}) is above max (${s.max})` });
    });
    if (a.endEvent !== undefined && !names.includes(a.endEvent)) ctx.addIssue({ code: 'custom', path: ['endEvent'], message: `"${a.endEvent}" is not in the sequence (${names.join(', ')})` });
    a.errorEvents.forEach((e, i) => {
      if (names.includes(e)) ctx.addIssue({ code: 'custom', path: ['errorEvents', i], message: `"${e}" is in the sequence too; an event is either expected or an error` });
    });
    if (a.greeting && names.includes(a.greeting.event)) ctx.addIssue({ code: 'custom', path: ['greeting', 'event'], message: `"${a.greeting.event}" is in the sequence too; the greeting is not an event of the run` });
  });

export type AgentProtocol = z.output<typeof agentSchema>;
export type AgentStep = z.output<typeof agentStepSchema>;
