import { UserError } from '../errors.ts';

/** `--users`: a whole number of virtual users, at least 1. */
export function parseUsers(raw: string, flag = '--users'): number {
  if (!/^\d+$/.test(raw.trim())) {
    throw new UserError(`${flag} must be a whole number of users (got "${raw}")`, `For example: ${flag} 15`);
  }
  const n = Number(raw);
  if (n < 1) throw new UserError(`${flag} must be at least 1 (got ${n})`, `For example: ${flag} 15`);
  if (n > 100_000) throw new UserError(`${flag} is capped at 100000 (got ${n})`);
  return n;
}

const DURATION = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/;

/** k6 duration syntax (`30s`, `1m30s`, `2h`, `500ms`) → milliseconds; positive only. */
export function parseDurationMs(raw: string, flag = '--duration'): number {
  const s = raw.trim();
  const m = DURATION.exec(s);
  if (!s || !m || m.slice(1).every((g) => g === undefined)) {
    throw new UserError(
      `${flag} must be a positive duration such as 30s, 1m30s or 2h (got "${raw}")`,
      'Units: ms, s, m, h.',
    );
  }
  const [h, min, sec, ms] = m.slice(1).map((g) => Number(g ?? 0)) as [number, number, number, number];
  const total = h * 3_600_000 + min * 60_000 + sec * 1000 + ms;
  if (total <= 0) throw new UserError(`${flag} must be longer than zero (got "${raw}")`);
  return total;
}

/** An http(s) URL on any host; the message names the flag. */
export function parseUrl(raw: string, flag: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UserError(`${flag} is not a URL (got "${raw}")`, `For example: ${flag} http://127.0.0.1:3000`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UserError(`${flag} must be an http:// or https:// URL (got "${raw}")`);
  }
  return raw.replace(/\/+$/, '');
}
