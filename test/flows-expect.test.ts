/**
 * perf's `expect` in process (the runtime behind the public shim): Jest's matchers without
 * colours, the custom message, `toHaveStatus`, `expect.poll` (converging, `.not`, timing out with
 * the last value, a throwing callback), and failures recognised by shape.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expect } from '../src/index.ts';
import { assertionOf } from '../src/flows/expect-runtime.ts';

const failure = async (fn: () => unknown) => {
  try {
    await fn();
  } catch (e) {
    const a = assertionOf(e);
    assert.ok(a, `not an assertion: ${String(e)}`);
    return a;
  }
  assert.fail('did not throw');
};

describe('expect', () => {
  it('says expected and received, without colours, led by the custom message', async () => {
    const a = await failure(() => expect({ n: 1 }, 'the count').toEqual({ n: 2 }));
    assert.match(a.message, /^the count\n\nexpect\(received\)\.toEqual\(expected\)/);
    assert.doesNotMatch(a.message, /\u001b\[/);
    assert.deepEqual(a.expected, { n: 2 });
    assert.deepEqual(a.received, { n: 1 });
    expect([1, 2]).toContain(2);
    expect('x').not.toBe('y');
    await expect(Promise.resolve(3), 'resolves').resolves.toBe(3);
    assert.match((await failure(() => expect(Promise.resolve(3), 'resolved value').resolves.toBe(4))).message, /^resolved value\n\n/);
    assert.equal(assertionOf(new Error('plain')), undefined);
  });

  it('toHaveStatus names the request and quotes the (redacted) body', async () => {
    const res = { method: 'GET', url: 'http://h/x?k=1', status: 500, headers: {}, text: 'raw', json: undefined, durationMs: 1, correlationId: 'perf-1' };
    Object.defineProperty(res, 'exchange', { value: { responseBody: '{"error":"boom"}' } });
    expect(res).toHaveStatus([500, 503]);
    const a = await failure(() => expect(res).toHaveStatus(200));
    assert.equal(a.message, 'expected GET /x?… (correlation id perf-1) to answer 200, received 500\nresponse body: {"error":"boom"}');
    assert.equal(a.expected, 200);
    assert.equal(a.received, 500);
    assert.match((await failure(() => expect({ nope: 1 }).toHaveStatus(200))).message, /toHaveStatus: expected an API response/);
  });

  it('poll retries until the matcher passes, and times out with the last value', async () => {
    let n = 0;
    await expect.poll(() => ++n, { intervals: [10] }).toBeGreaterThanOrEqual(3);
    assert.equal(n, 3);
    let m = 0;
    await expect.poll(async () => ++m, { intervals: [10] }).not.toBeLessThan(2);
    const t0 = Date.now();
    const a = await failure(() => expect.poll(() => 'still', { timeout: 200, intervals: [20], message: 'the job is done' }).toBe('done'));
    assert.ok(Date.now() - t0 >= 190 && Date.now() - t0 < 1000);
    assert.match(a.message, /^expect\.poll \(the job is done\): did not pass within 200 ms \(\d+ tries\); last received: "still"\n\nexpect\(received\)\.toBe\(expected\)/);
    assert.equal(a.received, 'still');
    let k = 0;
    await expect.poll(() => {
      if (++k < 3) throw new Error('not yet');
      return k;
    }, { intervals: [5] }).toBe(3);
    const thrown = await failure(() => expect.poll(() => { throw new Error('always'); }, { timeout: 50, intervals: [10] }).toBe(1));
    assert.match(thrown.message, /the call threw: always$/);
  });
});
