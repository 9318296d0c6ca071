/**
 * Trace redaction for the front-end checks' failure artifacts (frontend-session.ts saves a
 * screenshot and a Playwright trace per failed attempt under `<runDir>/frontend/<check>/attempt-<n>/`).
 *
 * Contract: a trace never leaves a secret in the run folder. A trace records what the browser
 * typed (the test user's password) and saw (tokens in API answers, cookies and Authorization
 * headers), so before it is referenced every text entry of the zip is passed through the run's
 * redactor (secrets by value, bearer tokens and JWTs by shape) and the zip is rewritten. If that
 * fails (an archive this small reader does not understand, e.g. zip64), the trace is deleted and
 * a note says why: fail closed. Binary entries (screenshots, images) are kept as they are;
 * password fields render as dots in them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  data: Buffer;
  /** DOS time and date of the entry, kept when the archive is rewritten. */
  time: number;
  date: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;

/** Reads every entry of a (non-zip64, stored or deflated) zip archive, by its central directory. */
export function readZip(buf: Buffer): ZipEntry[] {
  let end = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === SIG_END) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('not a zip archive (no end of central directory)');
  const count = buf.readUInt16LE(end + 10);
  let at = buf.readUInt32LE(end + 16);
  if (count === 0xffff || at === 0xffffffff) throw new Error('zip64 archives are not supported');
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(at) !== SIG_CENTRAL) throw new Error(`bad central directory entry ${i}`);
    const method = buf.readUInt16LE(at + 10);
    const time = buf.readUInt16LE(at + 12);
    const date = buf.readUInt16LE(at + 14);
    const compressedSize = buf.readUInt32LE(at + 20);
    const size = buf.readUInt32LE(at + 24);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    if (compressedSize === 0xffffffff || size === 0xffffffff || local === 0xffffffff) throw new Error('zip64 archives are not supported');
    if (buf.readUInt32LE(local) !== SIG_LOCAL) throw new Error(`bad local header for ${name}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + compressedSize);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = zlib.inflateRawSync(raw);
    else throw new Error(`${name}: unsupported compression method ${method}`);
    if (data.length !== size) throw new Error(`${name}: size ${data.length}, expected ${size}`);
    entries.push({ name, data, time, date });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Writes entries as a deflated zip archive (UTF-8 names, no extra fields). */
export function writeZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const compressed = zlib.deflateRawSync(e.data);
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(e.time, 10);
    local.writeUInt16LE(e.date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(SIG_CENTRAL, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(e.time, 12);
    central.writeUInt16LE(e.date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(SIG_END, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

let crcTable: Uint32Array | undefined;
function crc32(data: Buffer): number {
  const native = (zlib as { crc32?: (d: Buffer) => number }).crc32;
  if (native) return native(data);
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text when it has no NUL byte and is valid UTF-8 (trace events, network log, HTML, JSON, CSS, JS). */
function asText(data: Buffer): string | undefined {
  if (data.includes(0)) return undefined;
  try {
    return utf8.decode(data);
  } catch {
    return undefined;
  }
}

/** Rewrites the zip at `file` with `redact` applied to every text entry; returns how many entries changed. */
export async function redactZipFile(file: string, redact: (text: string) => string): Promise<number> {
  const entries = readZip(await readFile(file));
  let changed = 0;
  for (const e of entries) {
    const text = asText(e.data);
    if (text === undefined) continue;
    const redacted = redact(text);
    if (redacted !== text) {
      e.data = Buffer.from(redacted, 'utf8');
      changed++;
    }
  }
  await writeFile(file, writeZip(entries));
  return changed;
}
