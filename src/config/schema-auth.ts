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
    /** The request's HTTP method. */
    method: httpMethod.default('POST').meta({ description: "The request's HTTP method.", examples: ['DELETE'] }),
    /** The request's path on `target.baseUrl`, a template (`/api/users/{{id}}`). */
    path: z
      .string()
      .startsWith('/', 'must start with /')
      .meta({ description: "The request's path on `target.baseUrl`, a template (`/api/users/{{id}}`). Required; starts with `/`.", examples: ['/api/accounts'] }),
    /** The request's JSON body, a template filled in with the test user's values. */
    body: z
      .unknown()
      .optional()
      .meta({
        description:
          "The request's JSON body, a template filled in with the test user's values. In any string, `{{email}}`, `{{username}}`, `{{password}}`, `{{name}}`, `{{label}}` and `{{runId}}` are replaced (`{{id}}` too in `cleanup` and `database.rls.create`); a string that is exactly one `{{x}}` keeps the value's JSON type. Absent: no body.",
        examples: [{ email: '{{email}}', password: '{{password}}' }],
      }),
    /** Extra request headers, templated like the body. */
    headers: z.record(z.string(), z.string()).default({}).meta({ description: 'Extra request headers, templated like the body.', examples: [{ 'X-Invite-Code': 'perf-{{runId}}' }] }),
    /** The HTTP statuses that mean the request succeeded. */
    expect: z
      .array(status)
      .min(1)
      .default([200, 201, 204])
      .meta({ description: 'The HTTP statuses that mean the request succeeded. Any other answer fails the step, quoting it.', examples: [[201]] }),
  })
  .strict();

/** What proves the login, and how it is presented on later requests. */
export const credentialSchema = z.discriminatedUnion('type', [
  z
    .object({
      /** `'bearer'`: a token read from the login answer, sent as `<header>: <scheme> <token>`. */
      type: z.literal('bearer').meta({ description: "`'bearer'`: a token read from the login answer, sent as `<header>: <scheme> <token>`. The default credential.", examples: ['bearer'] }),
      /** Where the token is in the login answer (a JSON path such as `accessToken` or `data.token`). */
      tokenPath: jsonPath
        .default('accessToken')
        .meta({ description: 'Where the token is in the login answer (a JSON path such as `accessToken` or `data.token`). A token that is not there fails the check, listing the keys the answer had.', examples: ['data.token'] }),
      /** The request header carrying the token. */
      header: z.string().default('Authorization').meta({ description: 'The request header carrying the token.', examples: ['X-Auth-Token'] }),
      /** What precedes the token in the header's value (`'Token'` gives `Token <t>`; `''` sends the bare token). */
      scheme: z.string().default('Bearer').meta({ description: "What precedes the token in the header's value (`'Token'` gives `Token <t>`; `''` sends the bare token).", examples: ['Token'] }),
    })
    .strict(),
  z
    .object({
      /** `'apiKey'`: a key read from the login answer, sent in a header (`header`) or a query parameter (`query`). */
      type: z.literal('apiKey').meta({ description: "`'apiKey'`: a key read from the login answer, sent in a header (`header`) or a query parameter (`query`). Give one of the two.", examples: ['apiKey'] }),
      /** Where the key is in the login answer (a JSON path such as `data.key`). */
      tokenPath: jsonPath.meta({ description: 'Where the key is in the login answer (a JSON path such as `data.key`). Required.', examples: ['data.key'] }),
      /** The request header carrying the key, sent as it is. */
      header: z.string().optional().meta({ description: 'The request header carrying the key, sent as it is.', examples: ['X-Api-Key'] }),
      /** The query parameter carrying the key (`?api_key=<key>`). */
      query: z.string().optional().meta({ description: 'The query parameter carrying the key (`?api_key=<key>`).', examples: ['api_key'] }),
    })
    .strict(),
  z
    .object({
      /** `'cookie'`: a cookie session. */
      type: z
        .literal('cookie')
        .meta({
          description: "`'cookie'`: a cookie session. The cookies the login sets are kept in a jar per user (RFC 6265 rules) and sent back on later requests.",
          examples: ['cookie'],
        }),
      /** A CSRF token echoed on writes (POST, PUT, PATCH, DELETE), when the service wants one. */
      csrf: z
        .object({
          /** The cookie the service sets the CSRF token in (read again at each request). */
          cookie: z.string().optional().meta({ description: 'The cookie the service sets the CSRF token in (read again at each request). Give `cookie` or `bodyPath`.', examples: ['csrftoken'] }),
          /** Where the CSRF token is in the login answer (a JSON path). */
          bodyPath: jsonPath.optional().meta({ description: 'Where the CSRF token is in the login answer (a JSON path).', examples: ['csrf'] }),
          /** The request header the token is echoed in. */
          header: z.string().default('X-CSRF-Token').meta({ description: 'The request header the token is echoed in.', examples: ['X-CSRFToken'] }),
        })
        .strict()
        .optional()
        .meta({
          description:
            'A CSRF token echoed on writes (POST, PUT, PATCH, DELETE), when the service wants one. Smoke then also checks that a write without it is refused (`smoke.endpoints[].expect.missingCsrf`). Absent: no CSRF header is sent.',
          examples: [{ cookie: 'csrftoken', header: 'X-CSRFToken' }],
        }),
    })
    .strict(),
]);

export const authSchema = z
  .object({
    /** The request that creates a test user's account. */
    signup: authRequestSchema.optional().meta({
      description:
        "The request that creates a test user's account. Absent: the accounts must exist already (`login` alone) or `module` makes them. An answer in `existsStatus` means the account exists: perf logs in instead.",
      examples: [{ method: 'POST', path: '/api/accounts', body: { username: '{{username}}', password: '{{password}}' }, expect: [201] }],
    }),
    /** Statuses of `signup` that mean the account exists already: perf then logs in. */
    existsStatus: z
      .array(status)
      .default([409])
      .meta({ description: 'Statuses of `signup` that mean the account exists already: perf then logs in. Happens on a retried step or a rerun.', examples: [[409, 422]] }),
    /** The request that signs a test user in: its answer carries the credential. */
    login: authRequestSchema.optional().meta({
      description:
        'The request that signs a test user in: its answer carries the credential. Absent: the signup answer does. With both, a token already in the signup answer is used as it is; a cookie session always logs in.',
      examples: [{ method: 'POST', path: '/api/login', body: { username: '{{username}}', password: '{{password}}' }, expect: [200] }],
    }),
    /** What proves the login and how it is sent on later requests: `type` `'bearer'`, `'apiKey'` or `'cookie'`. */
    credential: credentialSchema
      .default({ type: 'bearer', tokenPath: 'accessToken', header: 'Authorization', scheme: 'Bearer' })
      .meta({
        description: "What proves the login and how it is sent on later requests: `type` `'bearer'`, `'apiKey'` or `'cookie'`. Each kind's options are below.",
        examples: [{ type: 'apiKey', tokenPath: 'data.key', header: 'X-Api-Key' }],
      }),
    /** Where the user's id is in the signup or login answer (a JSON path). */
    userIdPath: jsonPath
      .optional()
      .meta({ description: "Where the user's id is in the signup or login answer (a JSON path). Needed by the row-level security proof and compared with data ownership; `{{id}}` in templates.", examples: ['user.id'] }),
    /** Where a refresh token is in the login answer (a JSON path). */
    refreshTokenPath: jsonPath
      .optional()
      .meta({ description: 'Where a refresh token is in the login answer (a JSON path). It is registered as a secret and offered to flows as `user.refreshToken`.', examples: ['refreshToken'] }),
    /** How perf names test users: templates with `{{label}}` and `{{runId}}` (lower-cased, made safe). */
    identity: z
      .object({
        /** Template of a test user's e-mail address. */
        email: z
          .string()
          .default(DEFAULT_IDENTITY.email)
          .meta({ description: "Template of a test user's e-mail address. The `.test` top-level domain is reserved: no mail is ever delivered.", examples: ['qa+{{label}}-{{runId}}@example.test'] }),
        /** Template of a test user's username. */
        username: z.string().default(DEFAULT_IDENTITY.username).meta({ description: "Template of a test user's username.", examples: ['qa_{{label}}_{{runId}}'] }),
        /** Template of a test user's display name. */
        name: z.string().default(DEFAULT_IDENTITY.name).meta({ description: "Template of a test user's display name.", examples: ['QA {{label}}'] }),
      })
      .strict()
      .default({ ...DEFAULT_IDENTITY })
      .meta({
        description:
          'How perf names test users: templates with `{{label}}` and `{{runId}}` (lower-cased, made safe). Identities and passwords are deterministic (run id, seed, label), so a retried step, or k6 and Node, meet the same account; k6 load users are labelled `vu<n>`.',
        examples: [{ email: 'qa+{{label}}-{{runId}}@example.test' }],
      }),
    /** The request, made as each test user the run created, that removes its data at the end of the run. */
    cleanup: authRequestSchema.optional().meta({
      description:
        "The request, made as each test user the run created, that removes its data at the end of the run. Absent: the users are left behind, and the verdict's `testData` lists them.",
      examples: [{ method: 'DELETE', path: '/api/accounts/me', expect: [204] }],
    }),
    /** A file of the project (relative to the config) exporting `createUser()` (and optionally `removeUser()`), for services whose sign-up no request template describes. */
    module: z
      .string()
      .optional()
      .meta({
        description:
          'A file of the project (relative to the config) exporting `createUser()` (and optionally `removeUser()`), for services whose sign-up no request template describes. `createUser({ label, identity, api })` returns a `TestUserInit`; `removeUser(user, { api })` runs at the end. Node-side only: k6 scenarios still use `signup`/`login`.',
        examples: ['perf/users.ts'],
      }),
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
