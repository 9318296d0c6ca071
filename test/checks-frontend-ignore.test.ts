import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { urlMatcher } from '../src/checks/frontend-ignore.ts';
import { configSchema } from '../src/config/config-schema.ts';

describe('frontend.ignoreRequests patterns', () => {
  test('a path matches that path exactly, on any origin, whatever the query', () => {
    const m = urlMatcher(['/favicon.ico']);
    assert.equal(m('http://127.0.0.1:3000/favicon.ico'), true);
    assert.equal(m('https://example.com/favicon.ico?v=2'), true);
    assert.equal(m('http://127.0.0.1:3000/favicon.ico.bak'), false);
    assert.equal(m('http://127.0.0.1:3000/static/favicon.ico'), false);
  });

  test('* stays within a segment, ** crosses segments; other characters are literal', () => {
    const m = urlMatcher(['/img/*.gif', '/analytics/**', '/a.b']);
    assert.equal(m('http://h/img/pixel.gif'), true);
    assert.equal(m('http://h/img/x/pixel.gif'), false);
    assert.equal(m('http://h/analytics/v1/collect'), true);
    assert.equal(m('http://h/analytics'), false);
    assert.equal(m('http://h/axb'), false, 'a dot is not a wildcard');
  });

  test('a pattern with :// matches the whole URL (origin and path), not just the path', () => {
    const m = urlMatcher(['https://cdn.example.com/**']);
    assert.equal(m('https://cdn.example.com/lib/x.js?x=1'), true);
    assert.equal(m('https://other.example.com/lib/x.js'), false);
    assert.equal(m('http://cdn.example.com/lib/x.js'), false);
  });

  test('no patterns ignore nothing; the option defaults to none and rejects empty strings', () => {
    assert.equal(urlMatcher([])('http://h/favicon.ico'), false);
    assert.deepEqual(configSchema.parse({}).frontend.ignoreRequests, []);
    const bad = configSchema.safeParse({ frontend: { ignoreRequests: [''] } });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error!.issues[0]!.path, ['frontend', 'ignoreRequests', 0]);
  });
});
