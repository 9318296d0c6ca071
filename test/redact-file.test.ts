import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { redactTextFile, ScrubBytes, scrubFile } from '../src/redact/redact-file.ts';
import { Redactor } from '../src/redact/redact.ts';
import { tempDir } from './helpers.ts';

describe('scrubFile: secrets out of files k6 wrote, keeping their length', () => {
  const secret = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWNsYWltcw.c2lnbmF0dXJlLXNpZw';

  test('plain and gzip files: every occurrence replaced by a mask of the same length', async () => {
    const dir = tempDir('perf-scrub-');
    const text = `a,${secret},b\nws://h/ws?token=${secret}\nshort:pw12\n`;
    const plain = path.join(dir, 'samples.csv');
    const gz = path.join(dir, 'samples.csv.gz');
    writeFileSync(plain, text);
    writeFileSync(gz, gzipSync(text));
    assert.equal(await scrubFile(plain, [secret, 'pw12']), 3);
    assert.equal(await scrubFile(gz, [secret, 'pw12']), 3);
    const mask = `[redacted]${'*'.repeat(secret.length - 10)}`;
    const want = `a,${mask},b\nws://h/ws?token=${mask}\nshort:****\n`;
    assert.equal(readFileSync(plain, 'utf8'), want);
    assert.equal(gunzipSync(readFileSync(gz)).toString(), want);
    assert.equal(await scrubFile(path.join(dir, 'missing.csv'), [secret]), 0);
  });

  test('a secret split across two chunks is still found', async () => {
    const scrub = new ScrubBytes([secret]);
    const chunks: Buffer[] = [];
    scrub.on('data', (c: Buffer) => chunks.push(c));
    const bytes = Buffer.from(`xx${secret}yy${secret}`);
    for (let i = 0; i < bytes.length; i += 7) scrub.write(bytes.subarray(i, i + 7));
    await new Promise<void>((r) => scrub.end(r));
    const out = Buffer.concat(chunks).toString();
    assert.equal(out.length, bytes.length);
    assert.equal(out.includes(secret), false);
    assert.equal(scrub.replaced, 2);
  });

  test('redactTextFile passes a text file through a redactor', () => {
    const file = path.join(tempDir('perf-scrub-'), 'summary.json');
    writeFileSync(file, JSON.stringify({ metrics: { [`ws_sessions{name:ws://h/ws?token=${secret}}`]: { count: 1 } } }));
    redactTextFile(file, (s) => new Redactor().redactString(s));
    const text = readFileSync(file, 'utf8');
    assert.equal(text.includes(secret), false);
    assert.ok(JSON.parse(text).metrics['ws_sessions{name:ws://h/ws?token=[redacted]}']);
  });
});
