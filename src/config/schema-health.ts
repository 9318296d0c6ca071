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
    /** Dotted JSON path into the body. */
    path: jsonPath,
    /** Exactly this value (deep-equal). */
    equals: z.unknown().optional(),
    /** One of these values. */
    oneOf: z.array(z.unknown()).min(1).optional(),
    /** Present and not null, '' or []. */
    nonEmpty: z.literal(true).optional(),
    /** Present (any value, null included). */
    exists: z.boolean().optional(),
    /** A string matching this regular expression. */
    matches: z.string().optional(),
    /** A timestamp (ISO string, or an epoch number: ms, or seconds when below 1e11) no further than this (`30s`, `5m`) from perf's clock, either way. */
    freshWithin: z.string().optional(),
    /** Numbers: bounds, inclusive. */
    min: z.number().optional(),
    max: z.number().optional(),
    /** Names the assertion in messages; default: the path and operator. */
    description: z.string().optional(),
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
    /** The status endpoint (path on the base URL, or an absolute URL). */
    path: z.string().default('/health'),
    /** The HTTP status it must answer. */
    status: z.number().int().min(100).max(599).default(200),
    /** Assertions on its JSON body; none: only the status is checked (the body need not be JSON). */
    expect: z.array(healthAssertionSchema).default([]),
    /** Extra HTTP dependencies (storage, CDN, ...) that must answer 2xx, each its own check `<name>_health`. */
    urls: z.record(z.string(), z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL')).default({}),
  })
  .strict();

export type HealthConfig = z.output<typeof healthSchema>;
export type HealthAssertion = z.output<typeof healthAssertionSchema>;
