// Passwords and API keys. Neither is ever stored, logged or echoed in clear: passwords are
// kept as scrypt hashes, API keys as sha256 hashes (a key is 192 random bits, so a fast hash
// is enough and lets every request look the account up through an index).
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Account, Store } from './db.ts';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );

// Node's defaults (N=2^14, r=8, p=1): ~50 ms per hash, on libuv's thread pool.
const SCRYPT = { N: 16_384, r: 8, p: 1 } as const;
const KEY_LEN = 32;

/** `scrypt$N$r$p$<salt b64url>$<hash b64url>`: parameters travel with the hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEY_LEN, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

// Hashed against when the username is unknown, so "no such user" costs the same time as
// "wrong password" and the two stay indistinguishable (both answer 403 "denied").
const DUMMY_HASH = hashPassword(randomBytes(16).toString('hex'));

export async function burnPasswordCheck(password: string): Promise<void> {
  await verifyPassword(password, await DUMMY_HASH);
}

/** `nk_` + 32 base64url characters (24 random bytes). */
export function newApiKey(): string {
  return `nk_${randomBytes(24).toString('base64url')}`;
}

const API_KEY_RE = /^nk_[A-Za-z0-9_-]{32}$/;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * The account owning `key`, or undefined for a missing, malformed, revoked or unknown key.
 * Malformed keys are rejected without a database round trip.
 */
export async function authenticate(store: Store, key: string | undefined): Promise<Account | undefined> {
  if (!key || !API_KEY_RE.test(key)) return undefined;
  return store.accountByKeyHash(hashApiKey(key));
}
