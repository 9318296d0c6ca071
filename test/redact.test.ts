import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REDACTED, Redactor } from '../coordinator/redact.ts';

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
