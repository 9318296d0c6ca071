// Login rate limiting: fixed windows of *failed* attempts, per account and per client IP.
//
// Only failures count, and a successful login clears its account's counter, so a load test that
// logs in correctly never trips it. While either counter is at its limit, every login for that
// account / from that IP answers 429 with Retry-After, even with the right password (the
// password is not even checked: that is the point of the limit).
// Counters live in the Store, so with Redis they are shared by every instance on one prefix.
import type { Store } from './store.ts';

export interface LoginLimits {
  maxPerAccount: number;
  maxPerIp: number;
  windowMs: number;
}

export interface LimitDecision {
  limited: boolean;
  scope?: 'account' | 'ip';
  retryAfterSec: number;
}

export class LoginRateLimiter {
  readonly #store: Store;
  readonly #limits: LoginLimits;

  constructor(store: Store, limits: LoginLimits) {
    this.#store = store;
    this.#limits = limits;
  }

  #keys(email: string, ip: string) {
    return { account: `login:account:${email.toLowerCase()}`, ip: `login:ip:${ip}` };
  }

  async check(email: string, ip: string): Promise<LimitDecision> {
    const keys = this.#keys(email, ip);
    const [account, byIp] = await Promise.all([this.#store.getCounter(keys.account), this.#store.getCounter(keys.ip)]);
    if (account.count >= this.#limits.maxPerAccount) return { limited: true, scope: 'account', retryAfterSec: Math.max(1, Math.ceil(account.resetInMs / 1000)) };
    if (byIp.count >= this.#limits.maxPerIp) return { limited: true, scope: 'ip', retryAfterSec: Math.max(1, Math.ceil(byIp.resetInMs / 1000)) };
    return { limited: false, retryAfterSec: 0 };
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    const keys = this.#keys(email, ip);
    await Promise.all([
      this.#store.incrementCounter(keys.account, this.#limits.windowMs),
      this.#store.incrementCounter(keys.ip, this.#limits.windowMs),
    ]);
  }

  async recordSuccess(email: string): Promise<void> {
    await this.#store.deleteCounter(this.#keys(email, '').account);
  }

  /** Drops the account's failure counter (the account was deleted: nothing to limit any more). */
  async forgetAccount(email: string): Promise<void> {
    await this.#store.deleteCounter(this.#keys(email, '').account);
  }
}
