import { existsSync } from 'node:fs';
import { readK6Bin } from '../analysis/k6-bin.ts';
import { UserError } from './errors.ts';

/**
 * `perf samples <file>`: a binary raw sample file as CSV on `out`, one row per sample:
 * `metric_name,timestamp_ns,metric_value,tags` with the tags as `k=v&k=v`, keys sorted.
 * A reader that goes away (`| head`) ends it quietly.
 */
export async function printK6Samples(file: string, metric: string | undefined, out: NodeJS.WritableStream): Promise<void> {
  if (!existsSync(file)) throw new UserError(`no such file: ${file}`, 'Raw samples are in the run folder: .perf/runs/<run-id>/k6-<scenario>-samples.bin.gz');
  if (/\.csv(\.gz)?$/.test(file)) throw new UserError(`${file} is k6's own CSV output already`, `Read it with \`zcat ${file}\` (or \`cat\` when not gzipped).`);
  let closed = false;
  let failure: Error | undefined;
  out.on('error', (e: NodeJS.ErrnoException) => {
    closed = true;
    if (e.code !== 'EPIPE') failure = e;
  });
  // Room again, or the reader is gone (events.once would reject on the EPIPE instead).
  const writable = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        for (const ev of ['drain', 'close', 'error']) out.off(ev, done);
        resolve();
      };
      for (const ev of ['drain', 'close', 'error']) out.once(ev, done);
    });
  const tagText = new Map<Record<string, string>, string>();
  // The header once the file has shown itself to be a sample file (its first chunk decoded).
  let text = 'metric_name,timestamp_ns,metric_value,tags\n';
  try {
    for await (const batch of readK6Bin(file)) {
      for (const s of batch) {
        if (metric && s.metric !== metric) continue;
        let tags = tagText.get(s.tags);
        if (tags === undefined) {
          tags = Object.keys(s.tags).sort().map((k) => `${k}=${s.tags[k]}`).join('&');
          tagText.set(s.tags, tags);
        }
        text += `${s.metric},${s.timestampNs},${s.value},${tags.includes(',') || tags.includes('"') ? `"${tags.replaceAll('"', '""')}"` : tags}\n`;
      }
      if (closed) break;
      if (text && !out.write(text)) await writable();
      text = '';
    }
    if (text && !closed) out.write(text);
  } catch (e) {
    if (e instanceof Error && /perf k6 sample file/.test(e.message)) throw new UserError(`${file}: ${e.message}`, 'perf samples reads the .bin(.gz) files perf writes in a run folder.');
    throw e;
  }
  if (failure) throw failure;
}
