import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import yazl from 'yazl';
import { redactZipFile } from '../src/checks/frontend-artifacts.ts';
import { Redactor } from '../src/redact/redact.ts';
import { tempDir } from './helpers.ts';

// Redaction of a Playwright trace (a zip) before it stays in the run folder. The archives here
// are written by yazl, the writer Playwright itself uses, and the results are checked with
// Info-ZIP's unzip, a reader independent of perf's.

const PASSWORD = 'Tr4ce-Passw0rd-Secret';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
/** A PNG-like binary entry: NUL bytes, not UTF-8, kept byte for byte. */
const IMAGE = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from(PASSWORD), Buffer.alloc(64, 0xff)]);
const MTIME = new Date('2026-11-30T12:34:56Z');

/** A trace-shaped archive: events with what the browser typed, the network log with a token, a screenshot. */
async function traceZip(file: string, opts: { zip64?: boolean; entries?: number } = {}): Promise<void> {
  const zip = new yazl.ZipFile();
  const done = new Promise<void>((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => {
      writeFileSync(file, Buffer.concat(chunks));
      resolve();
    });
    zip.outputStream.on('error', reject);
  });
  const o = { mtime: MTIME, forceZip64Format: opts.zip64 ?? false };
  zip.addBuffer(Buffer.from(`{"type":"action","method":"fill","params":{"selector":"#password","value":"${PASSWORD}"}}\n`), 'trace.trace', o);
  zip.addBuffer(Buffer.from(`{"request":{"headers":[{"name":"authorization","value":"Bearer ${JWT}"}]}}\n`), 'trace.network', o);
  zip.addBuffer(IMAGE, 'resources/page@1.png', { ...o, compress: false });
  zip.addEmptyDirectory('resources/empty/', { mtime: MTIME });
  for (let i = 0; i < (opts.entries ?? 0); i++) zip.addBuffer(Buffer.from(`{"n":${i}}`), `resources/r${i}.json`, o);
  zip.end({ forceZip64Format: opts.zip64 ?? false, comment: '' });
  await done;
}

const unzip = (...args: string[]) => execFileSync('unzip', args, { maxBuffer: 64 << 20 });

function redactor(): Redactor {
  const r = new Redactor();
  r.addSecret(PASSWORD);
  return r;
}

describe('trace redaction (zip read and written by yauzl/yazl)', () => {
  for (const [what, opts] of [
    ['a plain trace', {}],
    // zip64 records: what a trace past 4 GB or 65,535 entries has. The hand-written reader refused them.
    ['a zip64 trace', { zip64: true }],
    ['a trace of many entries', { entries: 300 }],
  ] as const) {
    test(`${what}: text entries redacted, the image byte for byte, names and times kept, the archive valid`, async () => {
      const dir = tempDir('perf-trace-');
      const file = path.join(dir, 'trace.zip');
      await traceZip(file, opts);
      const r = redactor();
      const changed = await redactZipFile(file, (t) => r.redactString(t));
      assert.equal(changed, 2, 'trace.trace and trace.network');
      // The independent reader: every CRC checks, and the contents are what they should be.
      assert.match(unzip('-t', file).toString(), /No errors detected/);
      const events = unzip('-p', file, 'trace.trace').toString();
      const network = unzip('-p', file, 'trace.network').toString();
      assert.ok(!events.includes(PASSWORD) && !network.includes(JWT), `${events}${network}`);
      assert.match(events, /"value":"\[redacted\]"/);
      assert.match(network, /Bearer \[redacted\]/);
      assert.deepEqual(unzip('-p', file, 'resources/page@1.png'), IMAGE);
      const listing = unzip('-Z', '-1', file).toString().trim().split('\n');
      assert.equal(listing.length, 4 + (opts.entries ?? 0));
      assert.deepEqual(listing.slice(0, 4), ['trace.trace', 'trace.network', 'resources/page@1.png', 'resources/empty/']);
      if (opts.entries) assert.equal(unzip('-p', file, `resources/r${opts.entries - 1}.json`).toString(), `{"n":${opts.entries - 1}}`);
      // DOS times have 2-second steps; yazl also writes the exact time in an extra field.
      assert.match(unzip('-Z', '-T', file, 'trace.trace').toString(), /20261130\.\d{6}/);
      assert.deepEqual(readdirSync(dir), ['trace.zip'], 'no temporary file left');
    });
  }

  test('an archive that cannot be read: an error, the original untouched and nothing else written', async () => {
    const dir = tempDir('perf-trace-');
    const file = path.join(dir, 'trace.zip');
    await traceZip(file);
    const whole = readFileSync(file);
    // Cut in the middle of the first entry's data: the central directory is gone too.
    writeFileSync(file, whole.subarray(0, 60));
    await assert.rejects(redactZipFile(file, (t) => t), /end of central directory|invalid|zip/i);
    assert.deepEqual(readFileSync(file), whole.subarray(0, 60));
    assert.deepEqual(readdirSync(dir), ['trace.zip']);
    assert.equal(existsSync(`${file}.writing`), false);
  });

  test('an entry whose data does not match its CRC-32: an error, not a rewritten archive', async () => {
    const dir = tempDir('perf-trace-');
    const file = path.join(dir, 'trace.zip');
    await traceZip(file);
    const buf = readFileSync(file);
    // The image is stored (not compressed): flip a byte of its data, leaving every header intact.
    const at = buf.indexOf(Buffer.from(PASSWORD), buf.indexOf(Buffer.from('resources/page@1.png')));
    buf[at] = buf[at]! ^ 0xff;
    writeFileSync(file, buf);
    await assert.rejects(redactZipFile(file, (t) => t), /crc32|CRC/i);
    assert.deepEqual(readdirSync(dir), ['trace.zip']);
  });
});
