// Redis Store (REDIS_URL set), with ioredis.
//
// Every key starts with the instance prefix (`SAMPLE_APP_REDIS_PREFIX`, default
// `sample-app:<random>:`) so parallel app instances sharing one Redis never collide. When the
// prefix was generated (not configured), close() deletes the instance's keys; every key also
// carries a TTL, so a crashed instance leaves nothing forever.
// Commands fail fast while Redis is unreachable (one retry), so a Redis outage turns into errors
// and a degraded /health instead of requests hanging on an offline queue.
import { Redis } from 'ioredis';
import { redactUrl } from './config.ts';
import type { Logger } from './logger.ts';
import type { Counter, SessionRecord, Store } from './store.ts';

const ROTATE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'refreshJti') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'refreshJti', ARGV[2])
  return 1
end
return 0`;

// INCR, and open the window on the first hit; returns {count, pttl}.
const INCREMENT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  /** Delete the prefix's keys on close (only for generated prefixes). */
  ownsPrefix: boolean;
  log: Logger;
}

export class RedisStore implements Store {
  readonly mode = 'redis' as const;
  readonly prefix: string;
  #redis: Redis;
  #ownsPrefix: boolean;

  private constructor(redis: Redis, options: RedisStoreOptions) {
    this.#redis = redis;
    this.prefix = options.prefix;
    this.#ownsPrefix = options.ownsPrefix;
  }

  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    const redis = new Redis(options.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 3_000,
      retryStrategy: (times) => Math.min(times * 100, 1_000),
    });
    let lastError = '';
    redis.on('error', (error: Error) => {
      if (error.message !== lastError) options.log.warn('redis error', error.message);
      lastError = error.message;
    });
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      throw new Error(`cannot reach Redis at ${redactUrl(options.url)}: ${(error as Error).message}`);
    }
    return new RedisStore(redis, options);
  }

  #k(kind: string, id: string): string {
    return `${this.prefix}${kind}:${id}`;
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  async putSession(id: string, record: SessionRecord): Promise<void> {
    const key = this.#k('session', id);
    await this.#redis
      .multi()
      .hset(key, { userId: record.userId, refreshJti: record.refreshJti, expiresAt: String(record.expiresAt) })
      .pexpireat(key, record.expiresAt)
      .exec();
  }
  async getSession(id: string): Promise<SessionRecord | null> {
    const h = await this.#redis.hgetall(this.#k('session', id));
    if (!h.userId || !h.refreshJti) return null;
    return { userId: h.userId, refreshJti: h.refreshJti, expiresAt: Number(h.expiresAt) };
  }
  async rotateRefresh(id: string, expectedJti: string, nextJti: string): Promise<boolean> {
    const result = await this.#redis.eval(ROTATE_SCRIPT, 1, this.#k('session', id), expectedJti, nextJti);
    return result === 1;
  }
  async deleteSession(id: string): Promise<void> {
    await this.#redis.del(this.#k('session', id));
  }

  async incrementCounter(key: string, windowMs: number): Promise<Counter> {
    const [count, pttl] = (await this.#redis.eval(INCREMENT_SCRIPT, 1, this.#k('counter', key), windowMs)) as [number, number];
    return { count, resetInMs: Math.max(0, pttl) };
  }
  async getCounter(key: string): Promise<Counter> {
    const k = this.#k('counter', key);
    const [[, count], [, pttl]] = (await this.#redis.multi().get(k).pttl(k).exec()) as [[null, string | null], [null, number]];
    return { count: count ? Number(count) : 0, resetInMs: Math.max(0, pttl) };
  }
  async deleteCounter(key: string): Promise<void> {
    await this.#redis.del(this.#k('counter', key));
  }
  async clearCounters(): Promise<void> {
    await this.#deleteMatching(`${this.prefix}counter:*`);
  }

  async enqueueJob(jobId: string): Promise<void> {
    await this.#redis.rpush(this.#k('queue', 'jobs'), jobId);
  }
  async dequeueJob(): Promise<string | null> {
    return this.#redis.lpop(this.#k('queue', 'jobs'));
  }

  async claimWsSession(sessionId: string, userId: string, ttlMs: number): Promise<string> {
    const key = this.#k('ws-owner', sessionId);
    const [[, claimed], [, owner]] = (await this.#redis.multi().set(key, userId, 'PX', ttlMs, 'NX').get(key).exec()) as [
      [null, string | null],
      [null, string | null],
    ];
    void claimed;
    return owner ?? userId;
  }
  async appendWsEvents(sessionId: string, events: string[], maxEvents: number, ttlMs: number): Promise<void> {
    if (events.length === 0) return;
    const key = this.#k('ws-events', sessionId);
    await this.#redis
      .multi()
      .rpush(key, ...events)
      .ltrim(key, -maxEvents, -1)
      .pexpire(key, ttlMs)
      .pexpire(this.#k('ws-owner', sessionId), ttlMs)
      .exec();
  }
  async wsHistory(sessionId: string): Promise<string[]> {
    return this.#redis.lrange(this.#k('ws-events', sessionId), 0, -1);
  }

  async putOnce(key: string, value: string, ttlMs: number): Promise<void> {
    await this.#redis.set(this.#k('once', key), value, 'PX', ttlMs);
  }
  async takeOnce(key: string): Promise<string | null> {
    return this.#redis.getdel(this.#k('once', key));
  }

  async #deleteMatching(pattern: string): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length) await this.#redis.del(...keys);
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    try {
      if (this.#ownsPrefix && this.#redis.status === 'ready') await this.#deleteMatching(`${this.prefix}*`);
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }
}
