import { z } from 'zod';
import { jsonPath } from './schema-auth.ts';

/**
 * `agent`: the service's WebSocket event protocol, declared once and checked the same way by
 * flows (the `agent` fixture) and by k6 (`perf-harness/k6`'s `runAgent()`, in a scenario):
 * connect as a test user, (wait for a greeting,) send the start message, collect frames until
 * the end event, then judge the sequence (counts and order), ownership and time to first event.
 *
 * sample-app's protocol, as an instance:
 *   agent: {
 *     path: '/ws',
 *     token: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
 *     greeting: { event: 'session', sessionPath: 'sessionId' },
 *     start: { type: 'run', prompt: 'Draft a product teaser' },
 *     eventPath: 'type', ownerPath: 'userId', sessionPath: 'sessionId',
 *     sequence: [
 *       { event: 'agent_started', count: 1 }, { event: 'agent_thinking', min: 2 },
 *       { event: 'tool_executing', min: 1 }, { event: 'tool_completed', min: 1 },
 *       { event: 'agent_completed', count: 1 },
 *     ],
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

export const agentSchema = z
  .object({
    /** The socket's path on the target's WebSocket base (`target.wsUrl`, else the base URL as ws://), or a ws:// URL. */
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
    /** The message that starts a run: JSON, a template (`{{userId}}` and the caller's vars, whole-string keeps type). */
    start: z.unknown(),
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
        handshake: z.string().default('10s'),
        greeting: z.string().default('5s'),
        run: z.string().default('5s'),
      })
      .strict()
      .default({ handshake: '10s', greeting: '5s', run: '5s' }),
  })
  .strict();

export type AgentProtocol = z.output<typeof agentSchema>;
export type AgentStep = z.output<typeof agentStepSchema>;
