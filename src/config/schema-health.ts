import { z } from 'zod';
import { parseDurationMs } from '../cli/flags.ts';
import { jsonPath } from './schema-auth.ts';

/**
 * `health`: what "the service is up" means for *this* service. The status endpoint must answer
 * `status`, and each assertion on its JSON body must hold. Redis and PostgreSQL are probed
 * directly only when the target has their URLs; other dependencies (storage, CDN) are `urls`.
 *
 *   expect: [
 *     { path: 'state', equals: 'green' },
 *     { path: 'build.rev', nonEmpty: true },
 *     { path: 'checkedAt', freshWithin: '5m' },
 *     { path: 'components.pg', oneOf: ['up', 'ok'] },
 *   ]
 */
export const healthAssertionSchema = z
  .object({
    /** Dotted JSON path into the status body, with `[n]` for list items. */
    path: jsonPath.meta({ description: 'Dotted JSON path into the status body, with `[n]` for list items. Required; give at least one operator besides it.', examples: ['components.pg'] }),
    /** The value there must deep-equal this one (objects and arrays compared by content). */
    equals: z.unknown().optional().meta({ description: 'The value there must deep-equal this one (objects and arrays compared by content).', examples: ['green'] }),
    /** The value there must deep-equal one of these. */
    oneOf: z.array(z.unknown()).min(1).optional().meta({ description: 'The value there must deep-equal one of these.', examples: [['up', 'ok']] }),
    /** `true`: the value must be present and not null, an empty string or an empty list. */
    nonEmpty: z.literal(true).optional().meta({ description: '`true`: the value must be present and not null, an empty string or an empty list.', examples: [true] }),
    /** `true`: the path must be present (any value, null included); `false`: it must be absent. */
    exists: z.boolean().optional().meta({ description: '`true`: the path must be present (any value, null included); `false`: it must be absent.', examples: [false] }),
    /** The value must be a string matching this regular expression. */
    matches: z.string().optional().meta({ description: 'The value must be a string matching this regular expression. A pattern that does not compile is a configuration error.', examples: ['^\\d+\\.\\d+'] }),
    /** The value must be a timestamp no further than this duration (`30s`, `5m`, `1h`) from perf's clock, in either direction. */
    freshWithin: z.string().optional().meta({
      description:
        "The value must be a timestamp no further than this duration (`30s`, `5m`, `1h`) from perf's clock, in either direction. An ISO string, or an epoch number: milliseconds, or seconds when below 1e11. The measured skew is recorded as `clock_skew_ms.<path>`.",
      examples: ['5m'],
    }),
    /** The value must be a number at least this (inclusive). */
    min: z.number().optional().meta({ description: 'The value must be a number at least this (inclusive).', examples: [1] }),
    /** The value must be a number at most this (inclusive). */
    max: z.number().optional().meta({ description: 'The value must be a number at most this (inclusive).', examples: [1000] }),
    /** Names the assertion in messages. */
    description: z.string().optional().meta({ description: 'Names the assertion in messages. Absent: its path and operator.', examples: ['postgres up'] }),
  })
  .strict()
  .superRefine((a, ctx) => {
    const ops = ['equals', 'oneOf', 'nonEmpty', 'exists', 'matches', 'freshWithin', 'min', 'max'].filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    if (ops.length === 0) ctx.addIssue({ code: 'custom', message: `give one of equals, oneOf, nonEmpty, exists, matches, freshWithin, min, max for "${a.path}"` });
    if (a.matches !== undefined) {
      try {
        new RegExp(a.matches);
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['matches'], message: `not a regular expression: ${(e as Error).message}` });
      }
    }
    if (a.freshWithin !== undefined) {
      try {
        parseDurationMs(a.freshWithin);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['freshWithin'], message: 'must be a positive duration such as 30s, 5m or 1h' });
      }
    }
    if (a.min !== undefined && a.max !== undefined && a.min > a.max) ctx.addIssue({ code: 'custom', path: ['min'], message: `min ${a.min} is above max ${a.max}` });
  });

export const healthSchema = z
  .object({
    /** The status endpoint: a path on `target.baseUrl`, or an absolute http(s) URL. */
    path: z.string().default('/health').meta({ description: 'The status endpoint: a path on `target.baseUrl`, or an absolute http(s) URL. Check `api_health` requests it.', examples: ['/status'] }),
    /** The HTTP status the status endpoint must answer. */
    status: z.number().int().min(100).max(599).default(200).meta({ description: 'The HTTP status the status endpoint must answer.', examples: [204] }),
    /** Assertions on the status endpoint's JSON body, each a `path` and one or more operators that must all hold. */
    expect: z
      .array(healthAssertionSchema)
      .default([])
      .meta({
        description:
          "Assertions on the status endpoint's JSON body, each a `path` and one or more operators that must all hold. None: only the status is checked, and the body need not be JSON. A failure lists every failed assertion with what was expected and found.",
        examples: [[{ path: 'state', equals: 'green' }, { path: 'checkedAt', freshWithin: '5m' }]],
      }),
    /** Other HTTP dependencies (storage, CDN, ...) as `name → URL`: each must answer 2xx, as its own check `<name>_health`. */
    urls: z
      .record(z.string(), z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL'))
      .default({})
      .meta({
        description: 'Other HTTP dependencies (storage, CDN, ...) as `name → URL`: each must answer 2xx, as its own check `<name>_health`. Redis and PostgreSQL are probed from `target.redisUrl` and `target.databaseUrl` instead.',
        examples: [{ storage: 'http://127.0.0.1:9000/minio/health/live' }],
      }),
  })
  .strict();

export type HealthConfig = z.output<typeof healthSchema>;
export type HealthAssertion = z.output<typeof healthAssertionSchema>;
