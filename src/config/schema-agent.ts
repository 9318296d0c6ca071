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
    /** The event's name, as found at `eventPath` in each frame. */
    event: z.string().min(1).meta({ description: "The event's name, as found at `eventPath` in each frame. Each name appears once in the sequence.", examples: ['summary.chunk'] }),
    /** Exactly this many of the event. */
    count: z.number().int().min(0).optional().meta({ description: 'Exactly this many of the event. Give `count`, or `min`/`max`, not both.', examples: [1] }),
    /** At least this many of the event (default: at least 1 when neither `count` nor `min` is given). */
    min: z.number().int().min(0).optional().meta({ description: 'At least this many of the event (default: at least 1 when neither `count` nor `min` is given).', examples: [2] }),
    /** At most this many of the event. */
    max: z.number().int().min(0).optional().meta({ description: 'At most this many of the event.', examples: [3] }),
  })
  .strict();

/** `500ms`, `5s`, `1m30s` (what src/shared/agent-protocol.ts `durationMs` reads, in Node and in k6). */
const duration = z.string().regex(/^(\d+(\.\d+)?h)?(\d+(\.\d+)?m)?(\d+(\.\d+)?s)?(\d+(\.\d+)?ms)?$/, 'must be a duration such as 500ms, 5s or 1m30s').refine((s) => s !== '', 'must be a duration such as 500ms, 5s or 1m30s');

export const agentSchema = z
  .object({
    /** Where the socket is, resolved against the WebSocket base (`target.wsUrl`, else the base URL as ws://) the way a link is. */
    path: z
      .string()
      .default('/ws')
      .meta({
        description:
          'Where the socket is, resolved against the WebSocket base (`target.wsUrl`, else the base URL as ws://) the way a link is. `/ws` replaces the base\'s path, `events` is relative to its folder, and a ws:// or wss:// URL is used as it is.',
        examples: ['/live'],
      }),
    /** How the test user's credential (token or API key, from `auth`) is presented on the handshake, by `in`. */
    token: z
      .discriminatedUnion('in', [
        z
          .object({
            /** `'query'`: the credential in a query parameter, `?<name>=<token>`. */
            in: z.literal('query').meta({ description: "`'query'`: the credential in a query parameter, `?<name>=<token>`. k6's `url` and `name` tags then drop the query string; prefer a header when the service accepts one.", examples: ['query'] }),
            /** The query parameter's name. */
            name: z.string().default('token').meta({ description: "The query parameter's name.", examples: ['access_token'] }),
          })
          .strict(),
        z
          .object({
            /** `'header'`: the credential in a request header of the handshake, `<name>: <prefix><token>`. */
            in: z.literal('header').meta({ description: "`'header'`: the credential in a request header of the handshake, `<name>: <prefix><token>`. The default.", examples: ['header'] }),
            /** The header's name. */
            name: z.string().default('Authorization').meta({ description: "The header's name.", examples: ['X-Api-Key'] }),
            /** What precedes the credential in the header's value. */
            prefix: z.string().default('Bearer ').meta({ description: "What precedes the credential in the header's value. Mind the space: `'Bearer '`.", examples: [''] }),
          })
          .strict(),
        z
          .object({
            /** `'subprotocol'`: the `Sec-WebSocket-Protocol` header offers `protocols`, then `<prefix><token>` (the way browsers pass a token). */
            in: z.literal('subprotocol').meta({ description: "`'subprotocol'`: the `Sec-WebSocket-Protocol` header offers `protocols`, then `<prefix><token>` (the way browsers pass a token).", examples: ['subprotocol'] }),
            /** Protocols offered along with the credential's own. */
            protocols: z.array(z.string()).default([]).meta({ description: "Protocols offered along with the credential's own.", examples: [['notes.v1']] }),
            /** The credential's protocol is `<prefix><token>`. */
            prefix: z.string().default('').meta({ description: "The credential's protocol is `<prefix><token>`.", examples: ['key.'] }),
          })
          .strict(),
        z
          .object({
            /** `'cookie'`: the user's session cookies (a cookie-session service, `auth.credential.type: 'cookie'`). */
            in: z.literal('cookie').meta({ description: "`'cookie'`: the user's session cookies (a cookie-session service, `auth.credential.type: 'cookie'`).", examples: ['cookie'] }),
          })
          .strict(),
      ])
      .default({ in: 'header', name: 'Authorization', prefix: 'Bearer ' })
      .meta({
        description: "How the test user's credential (token or API key, from `auth`) is presented on the handshake, by `in`. Each way's options are below.",
        examples: [{ in: 'subprotocol', protocols: ['notes.v1'], prefix: 'key.' }],
      }),
    /** A frame the server sends first, before any run; the start message waits for it. */
    greeting: z
      .object({
        /** The greeting's event name (at `eventPath`). */
        event: z.string().meta({ description: "The greeting's event name (at `eventPath`). It must not be in the sequence.", examples: ['session'] }),
        /** Where the session id is in the greeting; then every event must carry the same one at `sessionPath`. */
        sessionPath: jsonPath.optional().meta({ description: 'Where the session id is in the greeting; then every event must carry the same one at `sessionPath`.', examples: ['sessionId'] }),
      })
      .strict()
      .optional()
      .meta({
        description: 'A frame the server sends first, before any run; the start message waits for it. Absent: the start message is sent once connected.',
        examples: [{ event: 'session', sessionPath: 'sessionId' }],
      }),
    /** The message that starts a run, as JSON. */
    start: z
      .unknown()
      .optional()
      .meta({
        description:
          "The message that starts a run, as JSON. A template: `{{userId}}`, `{{sessionId}}` and the caller's variables are filled in, and a string that is exactly `{{x}}` keeps the value's type. Absent: nothing is sent, the server starts the run by itself once connected (and greeted); the run budget starts then.",
        examples: [{ op: 'summarize', noteId: '{{noteId}}' }],
      }),
    /** Where the event name is in each frame (a JSON path). */
    eventPath: jsonPath.default('type').meta({ description: 'Where the event name is in each frame (a JSON path).', examples: ['event.name'] }),
    /** Where the owning user's id is in each event (a JSON path), compared with the test user's id. */
    ownerPath: jsonPath
      .optional()
      .meta({ description: "Where the owning user's id is in each event (a JSON path), compared with the test user's id. Events of another owner are foreign: an isolation failure.", examples: ['meta.owner'] }),
    /** Where the session id is in each event (a JSON path), compared with the greeting's. */
    sessionPath: jsonPath.optional().meta({ description: "Where the session id is in each event (a JSON path), compared with the greeting's. Without a greeting, with the first event's.", examples: ['sessionId'] }),
    /** The events a run must produce, in this order, with their counts. */
    sequence: z
      .array(agentStepSchema)
      .min(1)
      .meta({
        description:
          'The events a run must produce, in this order, with their counts. Required. Frames whose name is neither in the sequence nor in `errorEvents` are ignored (pings, acks, progress).',
        examples: [[{ event: 'summary.begin', count: 1 }, { event: 'summary.chunk', min: 1 }, { event: 'summary.end', count: 1 }]],
      }),
    /** The event that ends a run. */
    endEvent: z.string().optional().meta({ description: "The event that ends a run. It must be in the sequence; absent: the sequence's last.", examples: ['summary.end'] }),
    /** Events that end a run as failed, quoting the frame. */
    errorEvents: z.array(z.string()).default([]).meta({ description: 'Events that end a run as failed, quoting the frame. None may be in the sequence.', examples: [['error']] }),
    /** Time budgets of a run's waits, as durations (`500ms`, `5s`, `1m30s`), each starting where its wait starts. */
    timeouts: z
      .object({
        /** From connecting to the WebSocket upgrade. */
        handshake: duration.default('10s').meta({ description: 'From connecting to the WebSocket upgrade. A slower handshake is a connection that did not come up.', examples: ['5s'] }),
        /** From the upgrade to the greeting. */
        greeting: duration.default('5s').meta({ description: 'From the upgrade to the greeting.', examples: ['2s'] }),
        /** From the start message to this user's end event. */
        run: duration.default('5s').meta({ description: "From the start message to this user's end event.", examples: ['30s'] }),
      })
      .strict()
      .default({ handshake: '10s', greeting: '5s', run: '5s' })
      .meta({
        description: "Time budgets of a run's waits, as durations (`500ms`, `5s`, `1m30s`), each starting where its wait starts. A slow handshake is not charged to the run.",
        examples: [{ handshake: '5s', run: '30s' }],
      }),
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
