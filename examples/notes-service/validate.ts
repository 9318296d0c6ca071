// Request-body and path validation. Each function returns the clean value or throws the
// service's single 400 shape naming every bad field at once.
import { invalid } from './http.ts';

export const USERNAME_RE = /^[a-z0-9_.-]{3,64}$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;
export const TITLE_MAX = 200;
export const BODY_MAX = 10_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Code points, as PostgreSQL's char_length counts them (not UTF-16 units). */
const charLength = (s: string): number => [...s].length;

/** Sign-up: the username must match the table's CHECK; the password 8 to 256 characters. */
export function signupBody(body: unknown): { username: string; password: string } {
  const b = isObject(body) ? body : {};
  const fields: string[] = [];
  if (typeof b.username !== 'string' || !USERNAME_RE.test(b.username)) fields.push('username');
  if (typeof b.password !== 'string' || b.password.length < PASSWORD_MIN || b.password.length > PASSWORD_MAX) {
    fields.push('password');
  }
  if (fields.length > 0) throw invalid(fields);
  return { username: b.username as string, password: b.password as string };
}

/**
 * Login: only the shape is checked (non-empty strings); a username that could never exist
 * simply fails as "denied", like any wrong credentials.
 */
export function loginBody(body: unknown): { username: string; password: string } {
  const b = isObject(body) ? body : {};
  const fields: string[] = [];
  if (typeof b.username !== 'string' || b.username === '' || b.username.length > 256) fields.push('username');
  if (typeof b.password !== 'string' || b.password === '' || b.password.length > PASSWORD_MAX) fields.push('password');
  if (fields.length > 0) throw invalid(fields);
  return { username: b.username as string, password: b.password as string };
}

/** New note: title 1 to 200 characters (not only whitespace); body optional, up to 10 000. */
export function noteBody(body: unknown): { title: string; body: string } {
  const b = isObject(body) ? body : {};
  const fields: string[] = [];
  const title = b.title;
  if (typeof title !== 'string' || title.trim() === '' || charLength(title) > TITLE_MAX) fields.push('title');
  const text = b.body ?? '';
  if (typeof text !== 'string' || charLength(text) > BODY_MAX) fields.push('body');
  if (fields.length > 0) throw invalid(fields);
  return { title: title as string, body: text as string };
}

/**
 * A note id from the path. Not an integer → 400. An integer that cannot be a note id
 * (zero, negative, beyond bigint) → null: the caller answers 404 without asking the database.
 */
export function noteIdParam(raw: string): string | null {
  if (!/^-?\d+$/.test(raw)) throw invalid(['id']);
  if (raw.startsWith('-') || /^0+$/.test(raw)) return null;
  const digits = raw.replace(/^0+/, '');
  return digits.length > 18 ? null : digits;
}
