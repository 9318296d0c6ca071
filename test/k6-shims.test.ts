// bundler/k6-shims/name-tag.ts runs inside k6 but is plain code: its contract checked in Node.
// (That the shims really stand in for k6's modules is tested on real k6 in secrets-scan.test.ts.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { moduleWith, urlName, withNameTag } from '../bundler/k6-shims/name-tag.ts';

describe('k6 shims: the name a request gets', () => {
  test('the URL without query string, fragment and userinfo', () => {
    assert.equal(urlName('wss://h:8443/ws?token=eyJx.y.z&session=1'), 'wss://h:8443/ws');
    assert.equal(urlName('http://user:pw@h/a/b?x=1#frag'), 'http://h/a/b');
    assert.equal(urlName('http://user@h/a'), 'http://h/a');
    assert.equal(urlName('http://h/a#x?y'), 'http://h/a');
    assert.equal(urlName('http://h/path@not-userinfo'), 'http://h/path@not-userinfo');
    assert.equal(urlName('/relative?q=1'), '/relative');
  });

  test('params: a name of its own is kept, otherwise added to a copy; non-string URLs are left to k6', () => {
    const own = { tags: { name: 'login' } };
    assert.equal(withNameTag('http://h/login?token=t', own), own);
    const params = { headers: { a: 'b' }, tags: { kind: 'x' } };
    const named = withNameTag('http://h/x?token=t', params);
    assert.deepEqual(named, { headers: { a: 'b' }, tags: { kind: 'x', name: 'http://h/x' } });
    assert.deepEqual(params.tags, { kind: 'x' }, "the script's object is not changed");
    assert.deepEqual(withNameTag('http://h/x?token=t', undefined), { tags: { name: 'http://h/x' } });
    assert.deepEqual(withNameTag('http://h/x?token=t', null), { tags: { name: 'http://h/x' } });
    const template = { url: 'http://h/${}', name: 'http://h/${}' };
    assert.equal(withNameTag(template, undefined), undefined);
  });

  test('moduleWith copies every own property (enumerable or not) and puts the overrides on top', () => {
    const real = { get: () => 'real', keep: 1 };
    Object.defineProperty(real, 'hidden', { value: 'h', enumerable: false });
    const shim = moduleWith(real, { get: () => 'shim' });
    assert.equal(shim.get(), 'shim');
    assert.equal(shim.keep, 1);
    assert.equal((shim as unknown as { hidden: string }).hidden, 'h');
  });
});
