import { existsSync } from 'node:fs';
import { K6CsvDecoder, readCsvText } from '../../analysis/k6-csv.ts';
import { UserError } from '../errors.ts';

/**
 * `perf samples <file>`: a run's raw samples (k6's CSV output, `k6-<scenario>-samples.csv.gz`)
 * on `out`, one row per sample: `metric_name,timestamp_ns,metric_value,tags`, the tags as
 * `k=v&k=v` with keys sorted, whatever columns k6 spread them over, and quoted as RFC 4180
 * says when they hold a comma, a quote or a line break. A reader that goes away (`| head`)
 * ends it quietly.
 */
export async function printK6Samples(file: string, metric: string | undefined, out: NodeJS.WritableStream): Promise<void> {
  if (!existsSync(file)) throw new UserError(`no such file: ${file}`, 'Raw samples are in the run folder: .perf/runs/<run-id>/k6-<scenario>-samples.csv.gz');
  if (/\.bin(\.gz)?$/.test(file)) {
    throw new UserError(
      `${file} was written by perf's former binary k6 output (k6ext/), which perf no longer builds or reads`,
      'Runs since then keep k6\'s own CSV output (k6-<scenario>-samples.csv.gz); the gates of that run are in its verdict.json and k6-<scenario>-analysis.json.gz.',
    );
  }
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
  // One printed tag text per tag set (the decoder's tag key is the same string for each).
  const tagText = new Map<string, string>();
  let text = '';
  const decoder: K6CsvDecoder = new K6CsvDecoder((name, seconds, nanos, value, tagKey) => {
    if (metric && name !== metric) return;
    let tags = tagText.get(tagKey);
    if (tags === undefined) {
      const t = decoder.tagsOf(tagKey);
      tags = Object.keys(t).sort().map((k) => `${k}=${t[k]}`).join('&');
      if (/[",\r\n]/.test(tags)) tags = `"${tags.replaceAll('"', '""')}"`;
      tagText.set(tagKey, tags);
    }
    text += `${name},${seconds}${String(nanos).padStart(9, '0')},${value},${tags}\n`;
  }, true);
  let header = false;
  try {
    for await (const chunk of readCsvText(file)) {
      decoder.push(chunk);
      // The header once the file has shown itself to be a k6 CSV file.
      if (!header) {
        header = true;
        text = `metric_name,timestamp_ns,metric_value,tags\n${text}`;
      }
      if (closed) break;
      if (text && !out.write(text)) await writable();
      text = '';
    }
    if (!closed) {
      decoder.end();
      if (!header) text = `metric_name,timestamp_ns,metric_value,tags\n${text}`;
      if (text) out.write(text);
    }
  } catch (e) {
    if (e instanceof Error && /not a k6 CSV sample file/.test(e.message)) throw new UserError(`${file}: ${e.message}`, 'perf samples reads the k6-<scenario>-samples.csv(.gz) files of a run folder.');
    throw e;
  }
  if (failure) throw failure;
}
