// The fast, shared, expiring state: live sessions, login rate-limit counters, the job queue,
// WebSocket agent sessions and one-time values (password-reset tokens).
//
// Two implementations behind one interface: Redis (`REDIS_URL` set; store-redis.ts) and
// in-process (store-memory.ts). GET /health reports which one runs (`redis.mode`).
// Contract shared by both:
// - a session is live while `getSession` returns it; logout deletes it; it expires at
//   `expiresAt` (ms since epoch) without anyone deleting it;
// - `rotateRefresh` is a compare-and-set: exactly one of two racing refreshes wins;
// - counters are fixed windows that start at the first increment;
// - the job queue is FIFO;
// - a WebSocket session belongs to the first user who claims it, forever (until it expires).
export interface SessionRecord {
  userId: string;
  /** jti of the only refresh token that may still be used for this session. */
  refreshJti: string;
  /** ms since epoch */
  expiresAt: number;
}

export interface Counter {
  count: number;
  /** ms until the window resets (0 when no window is open) */
  resetInMs: number;
}

export interface Store {
  readonly mode: 'redis' | 'in-process';
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;

  putSession(id: string, record: SessionRecord): Promise<void>;
  getSession(id: string): Promise<SessionRecord | null>;
  rotateRefresh(id: string, expectedJti: string, nextJti: string): Promise<boolean>;
  deleteSession(id: string): Promise<void>;

  incrementCounter(key: string, windowMs: number): Promise<Counter>;
  getCounter(key: string): Promise<Counter>;
  deleteCounter(key: string): Promise<void>;
  /** Deletes every counter (cleanup after a test run). */
  clearCounters(): Promise<void>;

  enqueueJob(jobId: string): Promise<void>;
  dequeueJob(): Promise<string | null>;

  /** Claims a WebSocket session for `userId` if unclaimed; returns the owner either way. */
  claimWsSession(sessionId: string, userId: string, ttlMs: number): Promise<string>;
  appendWsEvents(sessionId: string, events: string[], maxEvents: number, ttlMs: number): Promise<void>;
  wsHistory(sessionId: string): Promise<string[]>;

  putOnce(key: string, value: string, ttlMs: number): Promise<void>;
  /** Returns the value and deletes it (so it can be used once). */
  takeOnce(key: string): Promise<string | null>;

  close(): Promise<void>;
}
