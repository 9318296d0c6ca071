/**
 * Trace redaction for the front-end checks' failure artifacts (frontend-session.ts saves a
 * screenshot and a Playwright trace per failed attempt under `<runDir>/frontend/<check>/attempt-<n>/`).
 *
 * Contract: a trace never leaves a secret in the run folder. A trace records what the browser
 * typed (the test user's password) and saw (tokens in API answers, cookies and Authorization
 * headers), so before it is referenced every text entry of the zip is passed through the run's
 * redactor (secrets by value, bearer tokens and JWTs by shape) and the zip is rewritten. If that
 * fails (an archive that cannot be read), the trace is deleted and a note says why: fail closed.
 * Binary entries (screenshots, images) are kept as they are; password fields render as dots in them.
 *
 * The zip format is left to yauzl (reading) and yazl (writing), the pair Playwright itself uses:
 * zip64 (traces past 4 GB or 65,535 entries), CRC-32 checks, entry sizes validated.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { buffer as readAll } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import yazl from 'yazl';

export interface ZipEntry {
  /** Path inside the archive; a directory's ends with `/` (and has no data). */
  name: string;
  data: Buffer;
  /** Last modification time, kept when the archive is rewritten. */
  mtime: Date;
}

/** Every entry of a zip archive (zip64 too), in archive order, each checked against its size and CRC-32 (Node's zlib). */
export async function readZip(source: Buffer | string): Promise<ZipEntry[]> {
  const out: ZipEntry[] = [];
  await eachZipEntry(source, async (e) => void out.push(e));
  return out;
}

async function eachZipEntry(source: Buffer | string, fn: (e: ZipEntry) => Promise<void>): Promise<void> {
  const opts = { lazyEntries: true, validateEntrySizes: true, strictFileNames: false };
  const zip = typeof source === 'string' ? await yauzl.openPromise(source, opts) : await yauzl.fromBufferPromise(source, opts);
  try {
    for await (const entry of zip.eachEntry()) {
      const name = entry.fileName;
      const mtime = entry.getLastModDate();
      if (name.endsWith('/')) await fn({ name, data: Buffer.alloc(0), mtime });
      else {
        const data = await readAll(await zip.openReadStreamPromise(entry));
        // yauzl checks sizes, not checksums: a damaged entry must not be rewritten as a sound one.
        if (crc32(data) !== entry.crc32) throw new Error(`${name}: CRC-32 mismatch (the archive is damaged)`);
        await fn({ name, data, mtime });
      }
    }
  } finally {
    zip.close();
  }
}

/** Adds an entry to an archive being written, deflated (zip64 where sizes or counts need it). */
function addEntry(zip: yazl.ZipFile, e: ZipEntry): void {
  if (e.name.endsWith('/')) zip.addEmptyDirectory(e.name, { mtime: e.mtime });
  else zip.addBuffer(e.data, e.name, { mtime: e.mtime, compress: true });
}

/**
 * Writes `entries` as a zip archive to `file`, through a file beside it renamed over `file` only
 * when complete. `entries` adds them (it may be reading another archive as it goes); if it
 * throws, nothing is left behind and `file` is untouched.
 */
async function writeZipFile(file: string, entries: (add: (e: ZipEntry) => void) => Promise<void>): Promise<void> {
  const zip = new yazl.ZipFile();
  const tmp = `${file}.writing`;
  const written = pipeline(zip.outputStream, createWriteStream(tmp));
  written.catch(() => {}); // awaited below; a write failure must not surface as an unhandled rejection first
  try {
    await entries((e) => addEntry(zip, e));
  } catch (e) {
    zip.end();
    await written.catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  zip.end();
  await written;
  await rename(tmp, file);
}

/** Writes entries as a zip archive at `file`. */
export async function writeZip(file: string, entries: ZipEntry[]): Promise<void> {
  await writeZipFile(file, async (add) => entries.forEach(add));
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

/**
 * Rewrites the zip at `file` with `redact` applied to every text entry; returns how many entries
 * changed. Entries are read one by one and handed to the writer as they come. The new archive
 * replaces the original only when complete: a failure leaves the unredacted original, which the
 * caller then deletes (fail closed).
 */
export async function redactZipFile(file: string, redact: (text: string) => string): Promise<number> {
  let changed = 0;
  await writeZipFile(file, (add) =>
    eachZipEntry(file, async (e) => {
      const text = asText(e.data);
      if (text !== undefined) {
        const redacted = redact(text);
        if (redacted !== text) {
          e.data = Buffer.from(redacted, 'utf8');
          changed++;
        }
      }
      add(e);
    }),
  );
  return changed;
}
