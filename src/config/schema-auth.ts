import { z } from 'zod';
import { DEFAULT_IDENTITY } from '../auth/template.ts';

/**
 * `auth`: how perf makes test users on *this* service and proves who they are. One declaration
 * serves every phase that needs a signed-in user: smoke (protected endpoints), flows (`users`
 * fixture), browser sign-in, the RLS proof, and the k6 scenarios (as `PERF_AUTH`, read by
 * `perf-harness/k6`'s `session()`).
 *
 * Requests are templates: in `path`, `body` and `headers`, the strings `{{email}}`, `{{username}}`,
 * `{{password}}`, `{{name}}`, `{{label}}` and `{{runId}}` are replaced by the test user's values
 * (a whole-string `{{x}}` keeps its JSON type). Identities are deterministic: from the run id, the
 * seed and a label (`vu<n>` for k6's users), so a retried step meets the same account.
 */

const httpMethod = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const status = z.number().int().min(100).max(599);

/** A JSON path into an answer: `accessToken`, `data.key`, `items[0].id`. */
export const jsonPath = z.string().regex(/^[A-Za-z_$][\w$-]*(\[\d+\])*(\.[A-Za-z_$][\w$-]*(\[\d+\])*)*$/, 'must be a dotted JSON path such as data.token or items[0].id');

export const authRequestSchema = z
  .object({
    method: httpMethod.default('POST'),
    path: z.string().startsWith('/', 'must start with /'),
    /** JSON body template (see above). */
    body: z.unknown().optional(),
    headers: z.record(z.string(), z.string()).default({}),
    /** Statuses that mean success. */
    expect: z.array(status).min(1).default([200, 201, 204]),
  })
  .strict();

/** What proves the login, and how it is presented on later requests. */
export const credentialSchema = z.discriminatedUnion('type', [
  z
    .object({
      /** A bearer token read from the login answer, sent as `<header>: <scheme> <token>`. */
      type: z.literal('bearer'),
      tokenPath: jsonPath.default('accessToken'),
      header: z.string().default('Authorization'),
      scheme: z.string().default('Bearer'),
    })
    .strict(),
  z
    .object({
      /** An API key read from the login answer, sent as a header (or a query parameter). */
      type: z.literal('apiKey'),
      tokenPath: jsonPath,
      header: z.string().optional(),
      query: z.string().optional(),
    })
    .strict(),
  z
    .object({
      /** A cookie session: the cookies the login sets are kept in a jar per user and sent back. */
      type: z.literal('cookie'),
      /** A CSRF token echoed on writes (POST, PUT, PATCH, DELETE), when the service wants one. */
      csrf: z
        .object({
          /** Where the token comes from: a cookie the service sets, or a JSON path of the login answer. */
          cookie: z.string().optional(),
          bodyPath: jsonPath.optional(),
          /** The request header it is echoed in. */
          header: z.string().default('X-CSRF-Token'),
        })
        .strict()
        .optional(),
    })
    .strict(),
]);

export const authSchema = z
  .object({
    /** Creates the account. Absent: users must exist already or `module` makes them. */
    signup: authRequestSchema.optional(),
    /** Statuses of `signup` that mean "exists already": perf then logs in (a retried step). */
    existsStatus: z.array(status).default([409]),
    /** Signs in; its answer carries the credential. Absent: the signup answer does. */
    login: authRequestSchema.optional(),
    credential: credentialSchema.default({ type: 'bearer', tokenPath: 'accessToken', header: 'Authorization', scheme: 'Bearer' }),
    /** Where the user's id is in the signup/login answer (compared with data ownership). */
    userIdPath: jsonPath.optional(),
    /** Refresh token in the login answer (registered as a secret, offered to flows). */
    refreshTokenPath: jsonPath.optional(),
    /** How perf names test users: templates with `{{label}}` and `{{runId}}` (lower-cased, safe). */
    identity: z
      .object({
        email: z.string().default(DEFAULT_IDENTITY.email),
        username: z.string().default(DEFAULT_IDENTITY.username),
        name: z.string().default(DEFAULT_IDENTITY.name),
      })
      .strict()
      .default({ ...DEFAULT_IDENTITY }),
    /** Removes a test user's data, made as that user (e.g. `DELETE /api/accounts/me`); at the end of the run. */
    cleanup: authRequestSchema.optional(),
    /**
     * A file of the project (path relative to the config) exporting
     * `createUser({ label, identity, api }): Promise<TestUserInit>` (and optionally
     * `removeUser(user, { api })`): for services whose sign-up no request template describes.
     * Node-side only: k6 scenarios still use `signup`/`login`.
     */
    module: z.string().optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (!a.signup && !a.login && !a.module) ctx.addIssue({ code: 'custom', message: 'give signup and/or login requests, or a module exporting createUser()' });
    if (a.credential.type === 'apiKey' && !a.credential.header && !a.credential.query) {
      ctx.addIssue({ code: 'custom', path: ['credential'], message: 'an apiKey credential needs header or query (where it is sent)' });
    }
  });

export type AuthConfig = z.output<typeof authSchema>;
export type AuthRequest = z.output<typeof authRequestSchema>;
export type CredentialConfig = z.output<typeof credentialSchema>;
