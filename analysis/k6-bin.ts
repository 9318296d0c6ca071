import { existsSync } from 'node:fs';
import { ingestK6Csv, openRawSamples } from './k6-csv.ts';
import { typesWithBuiltins } from './k6-metrics.ts';
import { MetricStore, type MetricType, type Series } from './metric-store.ts';

/**
 * perf's own k6 output (`--out perf=<file>`, k6ext/perf_output.go): binary records that
 * cost k6 far less CPU per sample than its CSV output. The format, little-endian:
 *
 *   header  "PERFK6S1\n"
 *   'M' u16 id, u8 type (0 counter, 1 gauge, 2 rate, 3 trend), u16 length, name
 *   'T' u32 id, u32 length, tags as key 0x00 value 0x00 ...
 *   'S' u16 metric id, u32 tag set id, u32 unix seconds, u32 nanoseconds, f64 value
 *
 * A file cut short (k6 killed mid-write) yields every whole record before the cut.
 */

export const K6_BIN_HEADER = 'PERFK6S1\n';
const TYPES: MetricType[] = ['counter', 'gauge', 'rate', 'trend'];
const SAMPLE_BYTES = 23;

/** Ids as the file declares them: `decoder.metricNames[metric]`, `decoder.tagSets[tagSet]`. */
type OnSample = (metric: number, tagSet: number, seconds: number, nanos: number, value: number) => void;

/**
 * Decodes the records of a perf k6 sample file fed in chunks of any size: metric and tag set
 * records are kept, each sample goes to `onSample`. One decoder for the analysis and for
 * `perf samples`.
 */
export class K6BinDecoder {
  readonly metricNames: string[] = [];
  readonly tagSets: Record<string, string>[] = [];
  private rest: Buffer | undefined;
  private headerSeen = false;

  constructor(
    private readonly onSample: OnSample,
    private readonly onMetric: (name: string, type: MetricType) => void = () => {},
  ) {}

  push(chunk: Buffer): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    let at = 0;
    if (!this.headerSeen) {
      if (buf.length < K6_BIN_HEADER.length) {
        this.rest = buf;
        return;
      }
      if (buf.toString('latin1', 0, K6_BIN_HEADER.length) !== K6_BIN_HEADER) throw new Error('not a perf k6 sample file (bad header)');
      this.headerSeen = true;
      at = K6_BIN_HEADER.length;
    }
    const n = buf.length;
    while (at < n) {
      const kind = buf[at]!;
      if (kind === 0x53 /* S */) {
        if (at + SAMPLE_BYTES > n) break;
        const metric = buf.readUInt16LE(at + 1);
        const tagSet = buf.readUInt32LE(at + 3);
        if (this.metricNames[metric] === undefined || this.tagSets[tagSet] === undefined) throw new Error(`perf k6 sample file: a sample refers to an undeclared metric ${metric} or tag set ${tagSet}`);
        this.onSample(metric, tagSet, buf.readUInt32LE(at + 7), buf.readUInt32LE(at + 11), buf.readDoubleLE(at + 15));
        at += SAMPLE_BYTES;
      } else if (kind === 0x4d /* M */) {
        if (at + 6 > n) break;
        const len = buf.readUInt16LE(at + 4);
        if (at + 6 + len > n) break;
        const name = buf.toString('utf8', at + 6, at + 6 + len);
        this.metricNames[buf.readUInt16LE(at + 1)] = name;
        this.onMetric(name, TYPES[buf[at + 3]!] ?? 'trend');
        at += 6 + len;
      } else if (kind === 0x54 /* T */) {
        if (at + 9 > n) break;
        const len = buf.readUInt32LE(at + 5);
        if (at + 9 + len > n) break;
        const parts = buf.toString('utf8', at + 9, at + 9 + len).split('\u0000');
        const tags: Record<string, string> = {};
        // An empty value (the root group's `group`) is left out, as the CSV ingest does.
        for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i + 1]) tags[parts[i]!] = parts[i + 1]!;
        this.tagSets[buf.readUInt32LE(at + 1)] = tags;
        at += 9 + len;
      } else {
        throw new Error(`perf k6 sample file: unknown record type 0x${kind.toString(16)} at byte ${at}`);
      }
    }
    this.rest = at < n ? buf.subarray(at) : undefined;
  }
}

/** perf k6 sample records → a `MetricStore`, as `CsvIngest` does for k6's CSV. */
export class BinIngest {
  readonly store: MetricStore;
  private readonly decoder: K6BinDecoder;

  /** `pointIds`: as for the CSV ingest, count the samples InfluxDB would store as one point. */
  constructor(types: Map<string, MetricType>, windowSeconds = 10, pointIds = false) {
    const all = typesWithBuiltins(types);
    const store = (this.store = new MetricStore(all, windowSeconds));
    // The series of each (metric id, tag set id), by a number: no key string per sample.
    const seriesOf = new Map<number, Series>();
    const decoder: K6BinDecoder = (this.decoder = new K6BinDecoder(
      (metric, tagSet, seconds, nanos, value) => {
        const id = tagSet * 65536 + metric;
        let series = seriesOf.get(id);
        if (!series) {
          const name = decoder.metricNames[metric]!;
          series = store.seriesFor(`${name}|${tagSet}`, name, () => ({ ...decoder.tagSets[tagSet]! }));
          seriesOf.set(id, series);
        }
        store.record(series, seconds, value, pointIds ? nanos : undefined);
      },
      // k6's own type for the metric, which is what its thresholds use too.
      (name, type) => all.set(name, type),
    ));
  }

  /** Feeds bytes; records may be split across chunks. */
  push(chunk: Buffer): void {
    this.decoder.push(chunk);
  }

  /** Ends the input; a partial record at the end (a cut file) is dropped. */
  end(): MetricStore {
    return this.store;
  }
}

/** Streams a (gzip) perf k6 sample file into a `MetricStore`. Memory stays flat whatever the file size. */
export async function ingestK6Bin(file: string, types: Map<string, MetricType>, windowSeconds = 10, pointIds = false): Promise<MetricStore> {
  const ingest = new BinIngest(types, windowSeconds, pointIds);
  if (!existsSync(file)) return ingest.end();
  for await (const chunk of openRawSamples(file)) ingest.push(chunk as Buffer);
  return ingest.end();
}

/**
 * A run's raw samples into a `MetricStore`, whichever output wrote them: perf's binary
 * (`….bin[.gz]`, a k6 with k6ext/) or k6's CSV (`….csv[.gz]`, a stock k6).
 */
export function ingestK6Samples(file: string, types: Map<string, MetricType>, windowSeconds = 10, pointIds = false): Promise<MetricStore> {
  return (/\.bin(\.gz)?$/.test(file) ? ingestK6Bin : ingestK6Csv)(file, types, windowSeconds, pointIds);
}

/** One sample of a perf k6 sample file, as `perf samples` prints it. */
export interface K6BinSample {
  metric: string;
  tags: Record<string, string>;
  /** Unix nanoseconds, as a string: exact, where a number would round. */
  timestampNs: string;
  value: number;
}

/** Every sample of a (gzip) perf k6 sample file, in file order, a batch per chunk read. */
export async function* readK6Bin(file: string): AsyncGenerator<K6BinSample[]> {
  let batch: K6BinSample[] = [];
  const decoder: K6BinDecoder = new K6BinDecoder((metric, tagSet, seconds, nanos, value) =>
    batch.push({ metric: decoder.metricNames[metric]!, tags: decoder.tagSets[tagSet]!, timestampNs: `${seconds}${String(nanos).padStart(9, '0')}`, value }),
  );
  for await (const chunk of openRawSamples(file)) {
    decoder.push(chunk as Buffer);
    if (batch.length) yield batch;
    batch = [];
  }
}
