import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { typesWithBuiltins } from './k6-metrics.ts';
import { MetricStore, type MetricType, type Series } from './metric-store.ts';

/**
 * k6's CSV output (`--out csv=<file>[.gz]`), the one raw format perf reads:
 * `metric_name,timestamp,metric_value,<system tag columns, sorted>,extra_tags,metadata`,
 * written by Go's `encoding/csv`: a field holding a comma, a double quote, a CR or LF (or
 * starting with white space) is quoted RFC 4180 style (`"a,""b"""`), and a quoted field may
 * span lines. Chosen over k6's JSON output because it costs k6 less CPU per sample
 * (bench/k6-output-cost.ts) and is half the size.
 *
 * The parser is hand-written, with a fast path, on purpose: csv-parse (MIT, well kept)
 * parses every field of every row into strings; on the same 1 M-sample file into the same
 * histograms it took 5.7–6.8 CPU seconds where this parser takes 1.0–1.3 (1.6 when every row
 * is quoted), and this parser is as fast as the unquoting one it replaced (README, Benchmarks), which would make the analysis, not k6, the slow part and
 * miss the ≥ 1 M samples/s target. What makes the fast path correct: the first three
 * columns are never quoted (k6 metric names are `[A-Za-z0-9_]`, the others numbers), so
 * they are found by plain commas; a row with no `"` after them has no quoted field either,
 * and its tag text (everything after the value) is the key of its series as it stands. A
 * row with a `"` is read field by field with the quoting rules (`splitCsvRecord`), which
 * happens once per new tag set, not per sample.
 *
 * `extra_tags` is k6's own `k=v&k=v` with nothing escaped: a value holding `&` followed by
 * `=` cannot be told apart from two tags (an `&` piece without `=` is joined back to the
 * value before it).
 */

/** The system tags perf asks k6 for: enough for gates (`name`, `scenario`, `status`, ...), without `url`. */
export const K6_SYSTEM_TAGS = ['status', 'method', 'name', 'scenario', 'expected_response', 'check', 'group', 'error_code'];

/** The header k6's CSV output starts with, up to the tag columns. */
const CSV_HEAD = 'metric_name,timestamp,metric_value';

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

/**
 * The fields of one CSV record (RFC 4180: `"` quotes a field, `""` is a quote inside one;
 * a quoted field may hold commas and line breaks). `text` is the record without its line end.
 */
export function splitCsvRecord(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (text.charCodeAt(i) === 0x22 /* " */) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q < 0) {
          // Unterminated (a file cut mid-field): what is there.
          value += text.slice(from);
          i = n;
          break;
        }
        value += text.slice(from, q);
        if (text.charCodeAt(q + 1) === 0x22) {
          value += '"';
          from = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      // Anything between the closing quote and the comma (not written by Go's csv) is kept.
      const comma = text.indexOf(',', i);
      if (comma < 0) return fields;
      if (comma > i) fields[fields.length - 1] += text.slice(i, comma);
      i = comma + 1;
    } else {
      const comma = text.indexOf(',', i);
      if (comma < 0) {
        fields.push(text.slice(i));
        return fields;
      }
      fields.push(text.slice(i, comma));
      i = comma + 1;
    }
  }
}

/**
 * Called per sample: `seconds` of the unix timestamp, `nanos` within it (0 unless asked
 * for or the file has whole seconds only), and `tagKey`, the row's raw tag text, which is
 * the same string for every sample of one tag set (`K6CsvDecoder.tagsOf` parses it).
 */
type OnSample = (metric: string, seconds: number, nanos: number, value: number, tagKey: string) => void;

/** Decodes k6 CSV text fed in chunks split anywhere: one decoder for the analysis and `perf samples`. */
export class K6CsvDecoder {
  private columns: string[] = [];
  private rest = '';

  /** `nanos`: parse the nanoseconds of unix_nano timestamps (else 0: cheaper per sample). */
  constructor(
    private readonly onSample: OnSample,
    private readonly nanos = false,
  ) {}

  /** Feeds decoded text. Throws when the text does not start with k6's CSV header. */
  push(text: string): void {
    const data = this.rest ? this.rest + text : text;
    let start = 0;
    if (this.columns.length === 0) {
      const eol = data.indexOf('\n');
      if (eol < 0) {
        if (!CSV_HEAD.startsWith(data.slice(0, CSV_HEAD.length))) throw new Error('not a k6 CSV sample file (no metric_name,timestamp,metric_value header)');
        this.rest = data;
        return;
      }
      const header = data.slice(0, eol).replace(/\r$/, '');
      if (!header.startsWith(`${CSV_HEAD},`) && header !== CSV_HEAD) throw new Error('not a k6 CSV sample file (no metric_name,timestamp,metric_value header)');
      this.columns = header.split(',');
      start = eol + 1;
    }
    const onSample = this.onSample;
    const wantNanos = this.nanos;
    // The next `"` at or after `start`: rows before it take the fast path.
    let quote = data.indexOf('"', start);
    for (;;) {
      let eol = data.indexOf('\n', start);
      if (eol < 0) break;
      const c1 = data.indexOf(',', start);
      const c2 = data.indexOf(',', c1 + 1);
      const c3 = data.indexOf(',', c2 + 1);
      if (c1 < 0 || c3 < 0 || c3 > eol) {
        start = eol + 1;
        continue;
      }
      if (quote >= 0 && quote < eol) {
        // A quoted field: the record ends at the first line feed outside quotes.
        eol = recordEnd(data, c3 + 1);
        if (eol < 0) break; // the rest of the record is in the next chunk
      }
      const metric = data.slice(start, c1);
      const tagKey = data.slice(c3 + 1, eol);
      // perf asks k6 for nanosecond timestamps (K6_CSV_TIME_FORMAT=unix_nano): the seconds
      // place the sample in its window, the nanoseconds tell samples that share an InfluxDB
      // point apart. Plain unix seconds (k6's default) are read too.
      const secEnd = c2 - c1 - 1 > 12 ? c2 - 9 : c2;
      let ts = 0;
      for (let i = c1 + 1; i < secEnd; i++) ts = ts * 10 + (data.charCodeAt(i) - 48);
      let nanos = 0;
      if (wantNanos) for (let i = secEnd; i < c2; i++) nanos = nanos * 10 + (data.charCodeAt(i) - 48);
      onSample(metric, ts, nanos, +data.slice(c2 + 1, c3), tagKey);
      start = eol + 1;
      if (quote >= 0 && quote < start) quote = data.indexOf('"', start);
    }
    this.rest = data.slice(start);
  }

  /** Ends the input: a last row without its line feed counts; a record cut inside quotes too. */
  end(): void {
    const rest = this.rest;
    this.rest = '';
    if (rest) this.push(`${rest}\n`);
    // Still open: the record was cut inside a quoted field; close the quote where it was cut.
    if (this.rest) {
      this.rest = '';
      this.push(`${rest}"\n`);
    }
    this.rest = '';
  }

  /**
   * The tags of a row's tag text: system tag columns by name (empty ones left out, like the
   * root group's `group`), `extra_tags` split into its `k=v` pairs, `metadata` dropped.
   */
  tagsOf(tagKey: string): Record<string, string> {
    const names = this.columns.slice(3);
    const values = tagKey.includes('"') ? splitCsvRecord(tagKey.replace(/\r$/, '')) : tagKey.replace(/\r$/, '').split(',');
    const tags: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const v = values[i];
      if (name === 'metadata' || !v) continue;
      if (name !== 'extra_tags') {
        tags[name] = v;
        continue;
      }
      let last: string | undefined;
      for (const kv of v.split('&')) {
        const eq = kv.indexOf('=');
        if (eq > 0) tags[(last = kv.slice(0, eq))] = kv.slice(eq + 1);
        else if (last !== undefined) tags[last] += `&${kv}`;
      }
    }
    return tags;
  }
}

/** Index of the line feed that ends the record whose tag fields start at `from`; -1 if not in `data` yet. */
function recordEnd(data: string, from: number): number {
  let inQuotes = false;
  for (let i = from; i < data.length; i++) {
    const c = data.charCodeAt(i);
    // `""` inside quotes toggles twice: the boundary is found all the same.
    if (c === 0x22) inQuotes = !inQuotes;
    else if (c === 0x0a && !inQuotes) return i;
  }
  return -1;
}

/** Sees each sample as it is ingested: its series (metric, tags), unix seconds, nanoseconds within them, value. */
export type SampleTap = (series: Series, seconds: number, nanos: number, value: number) => void;

/** k6 CSV rows → a `MetricStore`: one series per metric × tag set, found by the row's tag text. */
export class CsvIngest {
  readonly store: MetricStore;
  private decoder: K6CsvDecoder;
  private readonly makeDecoder: () => K6CsvDecoder;

  /** `pointIds`: count the samples InfluxDB would store as one point (`MetricStore.coincident`);
   *  only worth its cost per sample when the run also wrote to InfluxDB. `tap`: also given every
   *  sample, with its series and nanosecond time (analysis/concurrency.ts), in the same pass. */
  constructor(types: Map<string, MetricType>, windowSeconds = 10, pointIds = false, tap?: SampleTap) {
    // Built-ins typed from k6's own list; the summary's types (custom metrics) take precedence.
    const store = (this.store = new MetricStore(typesWithBuiltins(types), windowSeconds));
    // Series by metric, then by tag text: two lookups of strings as they are, cheaper per
    // sample than one of a key concatenated from both.
    // A tag key is the row's tag text under its file's header: per file (the next file's columns may differ).
    this.makeDecoder = () => {
      const byMetric = new Map<string, Map<string, Series>>();
      const decoder: K6CsvDecoder = new K6CsvDecoder((metric, seconds, nanos, value, tagKey) => {
        let perMetric = byMetric.get(metric);
        if (!perMetric) byMetric.set(metric, (perMetric = new Map()));
        let series = perMetric.get(tagKey);
        if (!series) {
          // Keyed by the parsed tags, not this file's tag text: another shard's file shares the series.
          const tags = decoder.tagsOf(tagKey);
          perMetric.set(tagKey, (series = store.seriesFor(metric + '\u0000' + JSON.stringify(tags), metric, () => tags)));
        }
        store.record(series, seconds, value, pointIds ? nanos : undefined);
        if (tap) tap(series, seconds, nanos, value);
      }, pointIds || tap !== undefined);
      return decoder;
    };
    this.decoder = this.makeDecoder();
  }

  /**
   * Ends the current file and starts reading another into the same store (`--shards`: each k6
   * process wrote its own file): its header is read again, equal tag sets share their series.
   */
  nextFile(): void {
    this.decoder.end();
    this.decoder = this.makeDecoder();
  }

  /** Feeds decoded text; rows (and quoted fields) may be split across chunks. */
  push(text: string): void {
    this.decoder.push(text);
  }

  end(): MetricStore {
    this.decoder.end();
    return this.store;
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

/**
 * A (gzip) k6 CSV file as text chunks: UTF-8 (tag values may be any text), a character
 * split across two reads is joined.
 */
export async function* readCsvText(file: string): AsyncGenerator<string> {
  const utf8 = new StringDecoder('utf8');
  for await (const chunk of openRawSamples(file)) yield utf8.write(chunk as Buffer);
  const tail = utf8.end();
  if (tail) yield tail;
}

/**
 * Streams (gzip) k6 CSV files into one `MetricStore`, one file after the other (several: the
 * shards of one scenario). Memory stays flat whatever the files' size.
 */
export async function ingestK6Csv(file: string | string[], types: Map<string, MetricType>, windowSeconds = 10, pointIds = false, tap?: SampleTap): Promise<MetricStore> {
  const ingest = new CsvIngest(types, windowSeconds, pointIds, tap);
  const files = typeof file === 'string' ? [file] : file;
  // k6 may have failed before writing a sample (invalid config, init error): nothing to ingest.
  for (const [i, f] of files.filter((x) => existsSync(x)).entries()) {
    if (i > 0) ingest.nextFile();
    for await (const text of readCsvText(f)) ingest.push(text);
  }
  return ingest.end();
}
