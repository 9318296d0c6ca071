/**
 * Where k6's raw samples (k6's CSV output) are written, and when they are compressed.
 *
 * Gzip in k6 makes k6 pay for compression while it generates load: at saturation its CSV
 * output costs k6 about 7 % more CPU per request gzipped than plain (bench/k6-output-cost.ts).
 * A plain file takes ~3× the disk, though: about 5 MB/s of CSV on this 2-core machine at
 * ~5,500 req/s. So k6 writes plain
 * when the run is bounded and the disk has room, and perf compresses the file after k6
 * exits; otherwise k6 writes gzip itself. Either way the run folder ends with a `.gz`.
 */
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, rmSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { parseDurationMs } from '../cli/flags.ts';

/** Runs that may last longer than this have k6 compress as it writes. */
export const PLAIN_RAW_MAX_MS = 10 * 60_000;
/**
 * Free disk a plain run needs per minute it may last. That is 3× the ~0.3 GB of CSV a
 * minute k6 writes here at saturation, leaving headroom for a faster generator.
 */
export const PLAIN_RAW_BYTES_PER_MIN = 1e9;

export type RawMode = 'plain' | 'gzip';

/**
 * `maxRunMs` is k6's own bound on the run: scenarios plus graceful stops. An unknown bound
 * (k6 could not tell, e.g. a script error) is treated as unbounded.
 */
export function rawMode(maxRunMs: number | undefined, freeBytes: number): RawMode {
  if (maxRunMs === undefined || maxRunMs > PLAIN_RAW_MAX_MS) return 'gzip';
  const needed = Math.max(1, maxRunMs / 60_000) * PLAIN_RAW_BYTES_PER_MIN;
  return freeBytes >= needed ? 'plain' : 'gzip';
}

/**
 * What `k6 inspect --execution-requirements` says of the script, with the same environment
 * the run gets: `maxRunMs`, the longest it can run (its `totalDuration`, graceful stops
 * included), and `scenarios`, its scenario options as k6 resolved them (what each asked for:
 * analysis/concurrency.ts). Both undefined when k6 cannot tell.
 */
export async function k6Inspect(k6Path: string, script: string, env: NodeJS.ProcessEnv): Promise<{ maxRunMs?: number; scenarios?: Record<string, unknown> }> {
  try {
    const { stdout } = await promisify(execFile)(k6Path, ['inspect', '--include-system-env-vars', '--execution-requirements', script], {
      env,
      timeout: 30_000,
      maxBuffer: 16 << 20,
    });
    const out = JSON.parse(stdout) as { totalDuration?: unknown; scenarios?: unknown };
    const total = out.totalDuration;
    return {
      ...(typeof total === 'string' ? { maxRunMs: parseDurationMs(total) } : {}),
      ...(out.scenarios && typeof out.scenarios === 'object' ? { scenarios: out.scenarios as Record<string, unknown> } : {}),
    };
  } catch {
    return {};
  }
}

/** The longest the script can run (`k6Inspect`'s `maxRunMs`); undefined when k6 cannot tell. */
export async function k6MaxRunMs(k6Path: string, script: string, env: NodeJS.ProcessEnv): Promise<number | undefined> {
  return (await k6Inspect(k6Path, script, env)).maxRunMs;
}

/** Free bytes for an unprivileged writer on the file system holding `dir`; 0 when unknown. */
export async function freeBytes(dir: string): Promise<number> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

/**
 * Compresses the plain file k6 wrote into `<file>.gz` and removes the plain file. Returns the
 * file that now holds the samples. If compression fails (e.g. a full disk), the plain file
 * stays and is returned, because the raw results must survive. A file k6 never created
 * yields the `.gz` name, which does not exist either.
 */
export async function gzipRawSamples(file: string): Promise<string> {
  const gz = `${file}.gz`;
  if (!existsSync(file)) return gz;
  try {
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), createGzip({ chunkSize: 1 << 20 }), createWriteStream(gz));
  } catch {
    // A partial .gz would pass for the samples; what stands there may not even be a file.
    try {
      rmSync(gz, { force: true });
    } catch {
      /* left as it was */
    }
    return file;
  }
  rmSync(file, { force: true });
  return gz;
}
