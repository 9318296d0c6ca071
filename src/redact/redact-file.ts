/**
 * Redaction of files perf did not write line by line itself: k6's raw sample file and its
 * `--summary-export`, which k6 writes directly.
 *
 * `scrubFile` replaces given secret byte strings wherever they occur, keeping the file's length:
 * each secret becomes `[redacted]` padded with `*` to its own length (or `*`s alone when it is
 * shorter). Length-preserving so that a format with length-prefixed records (a binary sample
 * file) stays readable, and the analysis of a CSV stays the same. A `.gz` file is gunzipped,
 * scrubbed and gzipped again. Streams with bounded memory; the file is replaced atomically.
 */
import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { REDACTED } from './redact.ts';

/** What a secret of `length` bytes becomes. */
function mask(length: number): Buffer {
  const text = length >= REDACTED.length ? REDACTED + '*'.repeat(length - REDACTED.length) : '*'.repeat(length);
  return Buffer.from(text);
}

/** A Transform replacing each of `secrets` by its mask, also across chunk boundaries. */
export class ScrubBytes extends Transform {
  private readonly secrets: { bytes: Buffer; mask: Buffer }[];
  private readonly keep: number;
  private carry = Buffer.alloc(0);
  /** Occurrences replaced so far. */
  replaced = 0;

  constructor(secrets: string[]) {
    super();
    // Longest first, so a secret containing another is replaced whole.
    this.secrets = [...new Set(secrets)].filter((s) => s.length > 0).map((s) => Buffer.from(s)).sort((a, b) => b.length - a.length).map((bytes) => ({ bytes, mask: mask(bytes.length) }));
    this.keep = Math.max(0, ...this.secrets.map((s) => s.bytes.length - 1));
  }

  private scrub(buf: Buffer): void {
    for (const { bytes, mask } of this.secrets) {
      for (let at = buf.indexOf(bytes); at >= 0; at = buf.indexOf(bytes, at + bytes.length)) {
        mask.copy(buf, at);
        this.replaced++;
      }
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const buf = Buffer.concat([this.carry, chunk]);
    this.scrub(buf);
    // The tail may hold the start of a secret that ends in the next chunk: held back.
    const cut = Math.max(0, buf.length - this.keep);
    this.carry = Buffer.from(buf.subarray(cut));
    done(null, buf.subarray(0, cut));
  }

  override _flush(done: TransformCallback): void {
    this.scrub(this.carry);
    done(null, this.carry);
  }
}

/** Replaces `secrets` in `file` (gunzipped first when it ends in `.gz`); returns how many occurrences. */
export async function scrubFile(file: string, secrets: string[]): Promise<number> {
  if (!existsSync(file) || secrets.length === 0) return 0;
  const tmp = `${file}.${process.pid}.scrub`;
  const scrub = new ScrubBytes(secrets);
  const gz = file.endsWith('.gz');
  try {
    await pipeline([createReadStream(file), ...(gz ? [createGunzip()] : []), scrub, ...(gz ? [createGzip({ level: 1 })] : []), createWriteStream(tmp)]);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return scrub.replaced;
}

/** Rewrites a (small) text file through `redact`, when it exists and anything changes. */
export function redactTextFile(file: string, redact: (s: string) => string): void {
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const out = redact(text);
  if (out !== text) writeFileSync(file, out);
}
