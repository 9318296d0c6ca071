import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { typesWithBuiltins } from './k6-metrics.ts';
import { MetricStore, type MetricType } from './metric-store.ts';

/**
 * k6's CSV output (`--out csv=<file>.gz`): `metric_name,timestamp,metric_value,<system
 * tag columns…>,extra_tags,metadata`. Chosen over JSON because it costs k6 less CPU per
 * sample (measured: bench/analysis.ts and the note in README) and is half the size.
 *
 * Parsing is hand-rolled on purpose: a generic CSV parser allocates per field and would
 * make the analysis, not k6, the slow part. Values never contain commas except in
 * `extra_tags` (last but one column), which is split only once per new tag set.
 */

/** The system tags perf asks k6 for: enough for gates (`name`, `scenario`, `status`, ...), without `url`. */
export const K6_SYSTEM_TAGS = ['status', 'method', 'name', 'scenario', 'expected_response', 'check', 'group', 'error_code'];

/** Metric types from k6's `--summary-export` (trend, rate, counter or gauge, by the fields present). */
export function metricTypesFromSummary(summaryFile: string): Map<string, MetricType> {
  const types = new Map<string, MetricType>();
  if (!existsSync(summaryFile)) return types;
  const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as { metrics?: Record<string, Record<string, unknown>> };
  for (const [name, m] of Object.entries(summary.metrics ?? {})) {
    if ('p(95)' in m || 'avg' in m || 'med' in m) types.set(name, 'trend');
    else if ('passes' in m || 'fails' in m) types.set(name, 'rate');
    else if ('count' in m) types.set(name, 'counter');
    else types.set(name, 'gauge');
  }
  return types;
}


export class CsvIngest {
  private columns: string[] = [];
  private rest = '';
  readonly store: MetricStore;

  /** `pointIds`: count the samples InfluxDB would store as one point (`MetricStore.coincident`);
   *  only worth its cost per sample when the run also wrote to InfluxDB. */
  constructor(
    types: Map<string, MetricType>,
    windowSeconds = 10,
    private readonly pointIds = false,
  ) {
    // Built-ins typed from k6's own list; the summary's types (custom metrics) take precedence.
    this.store = new MetricStore(typesWithBuiltins(types), windowSeconds);
  }

  /** Feeds decoded text; lines may be split across chunks. */
  push(text: string): void {
    const data = this.rest ? this.rest + text : text;
    let start = 0;
    const store = this.store;
    for (;;) {
      const eol = data.indexOf('\n', start);
      if (eol < 0) break;
      if (this.columns.length === 0) {
        this.columns = data.slice(start, eol).split(',');
        start = eol + 1;
        continue;
      }
      const c1 = data.indexOf(',', start);
      const c2 = data.indexOf(',', c1 + 1);
      const c3 = data.indexOf(',', c2 + 1);
      if (c1 < 0 || c3 < 0 || c3 > eol) {
        start = eol + 1;
        continue;
      }
      const metric = data.slice(start, c1);
      const tagText = data.slice(c3 + 1, eol);
      // perf asks k6 for nanosecond timestamps (K6_CSV_TIME_FORMAT=unix_nano): the seconds
      // place the sample in its window, the nanoseconds tell samples that share an InfluxDB
      // point apart. Plain unix seconds (k6's default) are read too.
      const secEnd = c2 - c1 - 1 > 12 ? c2 - 9 : c2;
      let ts = 0;
      for (let i = c1 + 1; i < secEnd; i++) ts = ts * 10 + (data.charCodeAt(i) - 48);
      let nanos: number | undefined;
      if (secEnd < c2 && this.pointIds) {
        nanos = 0;
        for (let i = secEnd; i < c2; i++) nanos = nanos * 10 + (data.charCodeAt(i) - 48);
      }
      const value = +data.slice(c2 + 1, c3);
      const series = store.seriesFor(metric + '\u0000' + tagText, metric, () => this.parseTags(tagText));
      store.record(series, ts, value, nanos);
      start = eol + 1;
    }
    this.rest = data.slice(start);
  }

  end(): MetricStore {
    if (this.rest) this.push('\n');
    return this.store;
  }

  private parseTags(tagText: string): Record<string, string> {
    // Columns after the first three: system tags, then extra_tags (k=v&k=v), then metadata.
    const names = this.columns.slice(3);
    const values = tagText.split(',');
    const tags: Record<string, string> = {};
    const extraIdx = names.indexOf('extra_tags');
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (name === 'metadata') continue;
      if (i === extraIdx) {
        // extra_tags may itself hold commas only if a tag value does; join what is left but metadata.
        const extra = values.slice(i, values.length - (names.length - 1 - i)).join(',');
        for (const kv of extra ? extra.split('&') : []) {
          const eq = kv.indexOf('=');
          if (eq > 0) tags[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
        continue;
      }
      const v = values[i];
      if (v) tags[name] = v;
    }
    return tags;
  }
}

/** A raw sample file as a byte stream, gunzipped when its name ends in `.gz`. */
export function openRawSamples(file: string): NodeJS.ReadableStream {
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  if (!file.endsWith('.gz')) return source;
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  // pipe() does not forward errors; without this a read error would be unhandled.
  source.on('error', (e) => gunzip.destroy(e));
  return source.pipe(gunzip);
}

/** Streams a (gzip) k6 CSV file into a `MetricStore`. Memory stays flat whatever the file size. */
export async function ingestK6Csv(file: string, types: Map<string, MetricType>, windowSeconds = 10, pointIds = false): Promise<MetricStore> {
  const ingest = new CsvIngest(types, windowSeconds, pointIds);
  // k6 may have failed before writing a sample (invalid config, init error): nothing to ingest.
  if (!existsSync(file)) return ingest.end();
  for await (const chunk of openRawSamples(file)) ingest.push((chunk as Buffer).toString('latin1'));
  return ingest.end();
}
