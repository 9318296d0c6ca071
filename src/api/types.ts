/**
 * The types of perf's public API for the user's files: what `flow()` and `browserFlow()`
 * callbacks receive. Fixtures are made by the runner for each attempt of a flow and handed
 * in; user code never imports perf's runtime (pg, ws, Playwright stay in the runner).
 *
 * Every request, frame and query a fixture makes is recorded as evidence of the flow's check,
 * redacted (credentials registered as secrets), each HTTP request carrying a correlation id in
 * the header the config names.
 */
import type { Page, BrowserContext } from 'playwright-core';

export interface FlowOptions {
  /** Per-attempt timeout, `30s` or ms; default: the phase's `checkTimeout`. */
  timeout?: string | number;
  /** Retries after a failed attempt (a pass on retry is `flaky`); default: the phase's. */
  retries?: number;
  /** Selects flows with `flows.tags` / `--tag`. */
  tags?: string[];
  /** When any flow of the phase is `only`, just those run (like `test.only`). */
  only?: boolean;
  /** Declared but not run: reported `skipped` with this reason. */
  skip?: boolean | string;
  /** One line saying what the flow proves (`perf list`, reports). */
  description?: string;
  /**
   * `flow()` only: run it as a check of the `db-integrity` phase instead of `flows` (database
   * behaviour: functions, triggers, row-level security). Default: `flows`.
   */
  phase?: 'flows' | 'db-integrity';
}

/** A test user made through the config's `auth` (or its `module`). Secrets are registered for redaction. */
export interface TestUser {
  readonly label: string;
  /** The user's id as the service reports it (`auth.userIdPath`), when it does. */
  readonly id?: string;
  readonly email: string;
  readonly username: string;
  readonly password: string;
  /** The credential proving the login (token, API key), when there is one (not for cookie sessions). */
  readonly token?: string;
  readonly refreshToken?: string;
  /** The raw JSON answer of the signup/login that made it. */
  readonly raw?: unknown;
}

export interface ApiRequestOptions {
  /** JSON-serialised unless a string. */
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean>;
  /** Per-request deadline, ms. */
  timeoutMs?: number;
}

export interface ApiResponse<T = any> {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: T;
  readonly durationMs: number;
  readonly correlationId: string;
}

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
  /** ms since the request started. */
  atMs: number;
}

/** HTTP on the target's base URL; anonymous unless made with `as(user)`. */
export interface ApiClient {
  get<T = any>(path: string, opts?: ApiRequestOptions): Promise<ApiResponse<T>>;
  post<T = any>(path: string, body?: unknown, opts?: ApiRequestOptions): Promise<ApiResponse<T>>;
  put<T = any>(path: string, body?: unknown, opts?: ApiRequestOptions): Promise<ApiResponse<T>>;
  patch<T = any>(path: string, body?: unknown, opts?: ApiRequestOptions): Promise<ApiResponse<T>>;
  delete<T = any>(path: string, opts?: ApiRequestOptions): Promise<ApiResponse<T>>;
  request<T = any>(method: string, path: string, opts?: ApiRequestOptions): Promise<ApiResponse<T>>;
  /** The same client presenting `user`'s credential (header, API key, or cookie jar + CSRF). */
  as(user: TestUser): ApiClient;
  /** Reads a server-sent-events stream to its end (or `maxEvents`, or the timeout). */
  stream(path: string, opts?: ApiRequestOptions & { method?: string; maxEvents?: number }): Promise<{ response: ApiResponse<string>; events: SseEvent[] }>;
}

export interface TestUsers {
  /** A new user for this attempt (`label` names it; a retry gets a new one). */
  create(label?: string): Promise<TestUser>;
  /** Logs `user` in again (a fresh credential), through `auth.login`. */
  login(user: Pick<TestUser, 'label' | 'email' | 'username' | 'password'>): Promise<TestUser>;
  /** The identity (email, username, password) perf would give a user of this label, without creating it. */
  identity(label: string): { label: string; email: string; username: string; password: string; name: string };
}

export interface WsMessage {
  /** Parsed JSON when the frame is JSON, else the text. */
  data: any;
  text: string;
  atMs: number;
}

export interface WsClient {
  readonly messages: readonly WsMessage[];
  send(data: unknown): void;
  /** The first message (from index `from`) matching `predicate`, waiting up to `timeoutMs` (default 5 s). */
  waitFor(predicate: (data: any) => boolean, opts?: { timeoutMs?: number; from?: number; what?: string }): Promise<WsMessage>;
  close(): Promise<void>;
}

export interface WsConnectOptions {
  /** Present this user's credential the way `agent.token` says (default: anonymous). */
  as?: TestUser;
  /** Path on the target's WebSocket base, or a ws:// URL; default `agent.path`. */
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  protocols?: string[];
}

export interface WsFixture {
  /** Opens a socket; rejects when the handshake is refused (use `tryConnect` to assert a refusal). */
  connect(opts?: WsConnectOptions): Promise<WsClient>;
  /** Opens a socket or reports the refusal (`status` of the refused handshake when there was one). */
  tryConnect(opts?: WsConnectOptions): Promise<{ ok: true; client: WsClient } | { ok: false; status?: number; error: string }>;
}

export interface AgentRunResult {
  /** Every judgement held: sequence, order, ownership, session, ended in time. */
  ok: boolean;
  /** What was wrong, one line each. */
  problems: string[];
  /** Event names in arrival order. */
  events: string[];
  counts: Record<string, number>;
  sessionId?: string;
  timeToFirstEventMs?: number;
  /** Frames of events of other owners (an isolation failure). */
  foreign: number;
  messages: WsMessage[];
}

export interface AgentFixture {
  /**
   * One run of the configured protocol (`agent` in the config) as `user`: connect, greeting,
   * start message (templated with `vars`), collect until the end event, judge. Does not throw
   * on a bad run: assert on the result (`expect(run.problems).toEqual([])`).
   */
  run(user: TestUser, opts?: { vars?: Record<string, unknown>; client?: WsClient }): Promise<AgentRunResult>;
  /** A socket for `user` as the protocol connects (to run several times, or hold it open). */
  connect(user: TestUser): Promise<WsClient>;
}

export interface DbClient {
  /** Rows of a parameterised query (`$1`, `$2`). */
  query<R = Record<string, any>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** The one row (or undefined). */
  one<R = Record<string, any>>(sql: string, params?: unknown[]): Promise<R | undefined>;
  /** `SELECT count(*) FROM <table> WHERE <col> = <value> AND ...` (identifiers quoted, schema-qualified names allowed). */
  count(table: string, where?: Record<string, unknown>): Promise<number>;
}

export interface TargetInfo {
  baseUrl: string;
  wsUrl?: string;
  frontendUrl?: string;
  databaseUrl?: string;
}

export interface FlowFixtures {
  api: ApiClient;
  users: TestUsers;
  ws: WsFixture;
  agent: AgentFixture;
  /** Fails the flow (with a clear message) when the target has no database URL. */
  db: DbClient;
  /** A named step: its duration is measured, a failure inside names it. */
  step<T>(name: string, fn: () => Promise<T> | T): Promise<T>;
  /** A note in the evidence. */
  log(message: string, data?: unknown): void;
  /** A measurement in the check's result. */
  measure(key: string, value: unknown): void;
  target: TargetInfo;
  runId: string;
  seed: number;
  /** Aborted on timeout, deadline or Ctrl-C. */
  signal: AbortSignal;
  info: { name: string; attempt: number; tags: string[]; file: string };
}

export interface BrowserFlowFixtures extends Omit<FlowFixtures, 'ws' | 'agent' | 'db'> {
  page: Page;
  context: BrowserContext;
  /** The front end's base URL (`target.frontendUrl`, else the base URL). */
  baseURL: string;
  /** Signs `user` in to the pages without the form, as `frontend.signIn` says. */
  signIn(user: TestUser): Promise<void>;
}

export type FlowFn = (fixtures: FlowFixtures) => Promise<void> | void;
export type BrowserFlowFn = (fixtures: BrowserFlowFixtures) => Promise<void> | void;

/** What `flow()`/`browserFlow()` register (read by perf's loader). */
export interface DeclaredFlow {
  kind: 'flow' | 'browserFlow';
  name: string;
  options: FlowOptions;
  fn: FlowFn | BrowserFlowFn;
  /** The declaring file and line (from the call site), for messages. */
  file?: string;
  line?: number;
}
