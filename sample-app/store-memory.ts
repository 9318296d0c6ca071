// In-process Store (no REDIS_URL): plain Maps with lazy expiry plus a periodic sweep.
// Single process only; state is lost on restart (tokens issued before then answer 401).
import type { Counter, SessionRecord, Store } from './store.ts';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

export class MemoryStore implements Store {
  readonly mode = 'in-process' as const;
  #sessions = new Map<string, SessionRecord>();
  #counters = new Map<string, Expiring<number>>();
  #queue: string[] = [];
  #wsOwners = new Map<string, Expiring<string>>();
  #wsEvents = new Map<string, Expiring<string[]>>();
  #once = new Map<string, Expiring<string>>();
  #sweeper: NodeJS.Timeout;

  constructor() {
    this.#sweeper = setInterval(() => this.#sweep(), 30_000);
    this.#sweeper.unref();
  }

  #sweep(now = Date.now()): void {
    for (const [k, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(k);
    for (const map of [this.#counters, this.#wsOwners, this.#wsEvents, this.#once] as Map<string, Expiring<unknown>>[]) {
      for (const [k, e] of map) if (e.expiresAt <= now) map.delete(k);
    }
  }

  #live<T>(map: Map<string, Expiring<T>>, key: string): Expiring<T> | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  async ping(): Promise<void> {}

  async putSession(id: string, record: SessionRecord): Promise<void> {
    this.#sessions.set(id, { ...record });
  }
  async getSession(id: string): Promise<SessionRecord | null> {
    const s = this.#sessions.get(id);
    if (!s) return null;
    if (s.expiresAt <= Date.now()) {
      this.#sessions.delete(id);
      return null;
    }
    return { ...s };
  }
  async rotateRefresh(id: string, expectedJti: string, nextJti: string): Promise<boolean> {
    const s = await this.getSession(id);
    if (!s || s.refreshJti !== expectedJti) return false;
    this.#sessions.set(id, { ...s, refreshJti: nextJti });
    return true;
  }
  async deleteSession(id: string): Promise<void> {
    this.#sessions.delete(id);
  }

  async incrementCounter(key: string, windowMs: number): Promise<Counter> {
    const now = Date.now();
    const entry = this.#live(this.#counters, key) ?? { value: 0, expiresAt: now + windowMs };
    entry.value += 1;
    this.#counters.set(key, entry);
    return { count: entry.value, resetInMs: entry.expiresAt - now };
  }
  async getCounter(key: string): Promise<Counter> {
    const entry = this.#live(this.#counters, key);
    return entry ? { count: entry.value, resetInMs: entry.expiresAt - Date.now() } : { count: 0, resetInMs: 0 };
  }
  async deleteCounter(key: string): Promise<void> {
    this.#counters.delete(key);
  }
  async clearCounters(): Promise<void> {
    this.#counters.clear();
  }

  async enqueueJob(jobId: string): Promise<void> {
    this.#queue.push(jobId);
  }
  async dequeueJob(): Promise<string | null> {
    return this.#queue.shift() ?? null;
  }

  async claimWsSession(sessionId: string, userId: string, ttlMs: number): Promise<string> {
    const existing = this.#live(this.#wsOwners, sessionId);
    if (existing) return existing.value;
    this.#wsOwners.set(sessionId, { value: userId, expiresAt: Date.now() + ttlMs });
    return userId;
  }
  async appendWsEvents(sessionId: string, events: string[], maxEvents: number, ttlMs: number): Promise<void> {
    const entry = this.#live(this.#wsEvents, sessionId) ?? { value: [], expiresAt: 0 };
    entry.value.push(...events);
    if (entry.value.length > maxEvents) entry.value.splice(0, entry.value.length - maxEvents);
    entry.expiresAt = Date.now() + ttlMs;
    this.#wsEvents.set(sessionId, entry);
    const owner = this.#wsOwners.get(sessionId);
    if (owner) owner.expiresAt = entry.expiresAt;
  }
  async wsHistory(sessionId: string): Promise<string[]> {
    return [...(this.#live(this.#wsEvents, sessionId)?.value ?? [])];
  }

  async putOnce(key: string, value: string, ttlMs: number): Promise<void> {
    this.#once.set(key, { value, expiresAt: Date.now() + ttlMs });
  }
  async takeOnce(key: string): Promise<string | null> {
    const entry = this.#live(this.#once, key);
    this.#once.delete(key);
    return entry?.value ?? null;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }
}
