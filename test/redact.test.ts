import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REDACTED, Redactor } from '../src/redact/redact.ts';

describe('Redactor', () => {
  test('secret-named keys, also inside JSON held in strings (recorded bodies, frames)', () => {
    const r = new Redactor();
    const out = r.redactDeep({
      password: 'hunter2hunter2',
      responseBody: '{"access_token":"opaque123456","user":{"id":"u1"}}',
      frames: [{ data: '[{"refreshToken":"zzzzzzzz"}]' }],
      passed: true,
      passes: 3,
    });
    assert.equal(out.password, REDACTED);
    assert.equal(out.responseBody, '{"access_token":"[redacted]","user":{"id":"u1"}}');
    assert.equal(out.frames[0]!.data, '[{"refreshToken":"[redacted]"}]');
    assert.equal(out.passed, true, 'verdict words like passed/passes are not secrets');
  });

  test('shapes: bearer tokens, JWTs, URL passwords, token query parameters', () => {
    const r = new Redactor();
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLXNpZw';
    const s = r.redactString(`Authorization: Bearer abc.def-123 ${jwt} postgres://app:pa55word@db:5432/x ws://h/ws?token=xyz&session=s1`);
    assert.doesNotMatch(s, /abc\.def-123|eyJhbGci|pa55word|xyz/);
    assert.match(s, /session=s1/);
  });

  test('known secret values are replaced wherever they appear, longest first', () => {
    const r = new Redactor();
    r.addSecret('https://hooks.example/T0/B0/secretpath');
    r.addSecret('secretpath');
    r.addSecret('abc'); // too short to register: would match innocent text
    assert.equal(r.redactString('posting to https://hooks.example/T0/B0/secretpath failed'), `posting to ${REDACTED} failed`);
    assert.equal(r.redactString('abc'), 'abc');
  });

  test('headers by name', () => {
    const r = new Redactor();
    assert.deepEqual(r.redactHeaders({ authorization: 'Bearer x', cookie: 'a=b', 'x-request-id': 'perf-1' }), { authorization: REDACTED, cookie: REDACTED, 'x-request-id': 'perf-1' });
  });
});

describe('Redactor: finding secrets (for scrubbing raw files) and where they come from', () => {
  test('secretsIn returns the secret part of each shape and registered values, as they stand', () => {
    const r = new Redactor();
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLXNpZw';
    r.addSecret('opaque-registered-1');
    const s = `ws://h/ws?token=${jwt}&session=s1 postgres://app:pa55word@db/x Bearer abc.def-123 x=opaque-registered-1 https://h/?access_token=tok123&page=2`;
    assert.deepEqual(r.secretsIn(s).sort(), ['abc.def-123', jwt, 'opaque-registered-1', 'pa55word', 'tok123'].sort());
    assert.equal(r.hasSecret('ws://h/ws?session=s1'), false);
    // Already redacted text holds no secret any more.
    assert.deepEqual(r.secretsIn(r.redactString(s)), []);
  });

  test('a URL inside JSON text: the userinfo shape stops at the quote, the JSON stays JSON', () => {
    const r = new Redactor();
    const text = '{"url":"http://host:8080","who":"a@b.example","db":"postgres://u:pw-1234@h/db"}';
    const out = r.redactString(text);
    assert.deepEqual(JSON.parse(out), { url: 'http://host:8080', who: 'a@b.example', db: `postgres://u:${REDACTED}@h/db` });
  });

  test('addUrlCredentials registers a URL password, as written and decoded, so it is found alone too', () => {
    const r = new Redactor();
    r.addUrlCredentials('postgres://app:s%40cret-pass@db:5432/x');
    r.addUrlCredentials('not a url');
    r.addUrlCredentials(undefined);
    assert.equal(r.redactString('auth failed for s@cret-pass and s%40cret-pass'), `auth failed for ${REDACTED} and ${REDACTED}`);
  });

  test('addEnvSecrets registers the values of variables named like secrets, only those', () => {
    const r = new Redactor();
    r.addEnvSecrets({ K6_INFLUXDB_PASSWORD: 'influx-pass-1', MY_API_KEY: 'key-value-123', HOME: '/root/home-dir' });
    assert.equal(r.redactString('influx-pass-1 key-value-123 /root/home-dir'), `${REDACTED} ${REDACTED} /root/home-dir`);
  });
});
