import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { influxQuery } from './influx-helpers.ts';

/**
 * The oracle of test/secrets-scan.test.ts: finds given secrets in everything a run left behind,
 * independently of perf's own code (its own gzip/zip reading, no redactor). A secret is
 * looked for as it is, URL-encoded and JSON-escaped, in every file of a folder (binary
 * included), inside gzip streams and zip members (nested too), in console text and in every
 * InfluxDB series key, tag and field.
 */
export interface Hit {
  /** Where: a file path (with `!member` for a zip member, `(gunzipped)` for gzip), `console`, or an InfluxDB measurement. */
  where: string;
  /** Which secret (its kind and first characters, never the whole value). */
  secret: string;
  /** A little of the text around it, the secret itself masked. */
  context: string;
}

export interface Secret {
  kind: string;
  value: string;
}

/** The secrets a sample-app instance logged (sample-app/issued-secrets.ts), one JSON line each. */
export function readIssuedSecrets(file: string): Secret[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Secret);
}

function forms(value: string): string[] {
  return [...new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)])];
}

function label(s: Secret): string {
  return `${s.kind} ${s.value.slice(0, 8)}…`;
}

/** Hits of `secrets` in `bytes`. */
export function scanBytes(where: string, bytes: Buffer, secrets: Secret[]): Hit[] {
  const hits: Hit[] = [];
  for (const s of secrets) {
    for (const f of forms(s.value)) {
      const at = bytes.indexOf(f);
      if (at < 0) continue;
      const around = bytes.toString('latin1', Math.max(0, at - 60), Math.min(bytes.length, at + f.length + 40)).split(f).join('<SECRET>');
      hits.push({ where, secret: label(s), context: around.replace(/[^\x20-\x7e]/g, '.') });
      break;
    }
  }
  return hits;
}

/** Every member of a zip archive (stored or deflated), from its local headers: no central directory needed. */
function zipMembers(buf: Buffer): { name: string; data: Buffer }[] {
  const out: { name: string; data: Buffer }[] = [];
  // Sizes from the central directory (local headers may defer them to a data descriptor).
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) return out;
  const count = buf.readUInt16LE(end + 10);
  let at = buf.readUInt32LE(end + 16);
  for (let i = 0; i < count && at + 46 <= buf.length && buf.readUInt32LE(at) === 0x02014b50; i++) {
    const method = buf.readUInt16LE(at + 10);
    const compressed = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + compressed);
    try {
      out.push({ name, data: method === 8 ? zlib.inflateRawSync(raw) : Buffer.from(raw) });
    } catch {
      out.push({ name: `${name} (unreadable)`, data: Buffer.from(raw) });
    }
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** `bytes` and what it contains: gunzipped, zip members, recursively. */
function scanContainer(where: string, bytes: Buffer, secrets: Secret[], depth = 0): Hit[] {
  const hits = scanBytes(where, bytes, secrets);
  if (depth > 3) return hits;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      hits.push(...scanContainer(`${where} (gunzipped)`, zlib.gunzipSync(bytes), secrets, depth + 1));
    } catch (e) {
      hits.push({ where, secret: '(none)', context: `gzip stream unreadable: ${(e as Error).message}` });
    }
  }
  if (bytes.readUInt32LE(0) === 0x04034b50) {
    for (const m of zipMembers(bytes)) hits.push(...scanContainer(`${where}!${m.name}`, m.data, secrets, depth + 1));
  }
  return hits;
}

/** Every file under `dir` (recursively), with how many were read. */
export function scanFolder(dir: string, secrets: Secret[]): { files: string[]; hits: Hit[] } {
  const files: string[] = [];
  const hits: Hit[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const p = path.join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else {
        files.push(path.relative(dir, p));
        const bytes = readFileSync(p);
        if (bytes.length >= 4) hits.push(...scanContainer(path.relative(dir, p), bytes, secrets));
        else hits.push(...scanBytes(path.relative(dir, p), bytes, secrets));
      }
    }
  };
  walk(dir);
  return { files, hits };
}

export function scanText(where: string, text: string, secrets: Secret[]): Hit[] {
  return scanBytes(where, Buffer.from(text), secrets);
}

/** Every series key (measurement + tags) and every point (tags and fields) of database `db`, as text, by measurement. */
export async function dumpInflux(url: string, db: string, auth?: { username: string; password: string }): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const measurements = await influxQuery(url, db, 'SHOW MEASUREMENTS', auth);
  for (const row of measurements[0]?.values ?? []) {
    const m = String(row[0]);
    const q = (s: string) => `"${s.replace(/"/g, '\\"')}"`;
    const series = await influxQuery(url, db, `SHOW SERIES FROM ${q(m)}`, auth);
    const tagKeys = await influxQuery(url, db, `SHOW TAG KEYS FROM ${q(m)}`, auth);
    const fieldKeys = await influxQuery(url, db, `SHOW FIELD KEYS FROM ${q(m)}`, auth);
    const points = await influxQuery(url, db, `SELECT * FROM ${q(m)}`, auth);
    out.set(m, JSON.stringify({ series, tagKeys, fieldKeys, points }));
  }
  return out;
}
