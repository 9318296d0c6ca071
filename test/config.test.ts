import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { flagLayer, resolveConfig } from '../src/config/config.ts';
import { REPO, tempDir } from './helpers.ts';

function projectWith(config: string): string {
  const dir = tempDir('perf-config-');
  writeFileSync(path.join(dir, 'perf.config.ts'), config);
  return dir;
}
const header = `import { defineConfig } from ${JSON.stringify(path.join(REPO, 'src/config/define-config.ts'))};\n`;

describe('resolveConfig', () => {
  test('no file: defaults (the bundled sample-app, 15 users)', async () => {
    const { config, file } = await resolveConfig({ cwd: tempDir(), env: {} });
    assert.equal(file, undefined);
    assert.equal(config.target, 'sample-app');
    assert.equal(config.users, 15);
    assert.equal(config.deadline, undefined, 'absent: 30 min plus the load (src/run/run.ts)');
  });

  test('defaults → file → PERF_* environment → flags, each layer winning over the previous', async () => {
    const cwd = projectWith(`${header}export default defineConfig({ users: 5, seed: 7, load: { profile: 'smoke' } });\n`);
    const fileOnly = await resolveConfig({ cwd, env: {} });
    assert.deepEqual([fileOnly.config.users, fileOnly.config.seed, fileOnly.config.load.profile], [5, 7, 'smoke']);
    const withEnv = await resolveConfig({ cwd, env: { PERF_USERS: '8', PERF_PROFILE: 'stress' } });
    assert.deepEqual([withEnv.config.users, withEnv.config.seed, withEnv.config.load.profile], [8, 7, 'stress']);
    const withFlags = await resolveConfig({ cwd, env: { PERF_USERS: '8' }, flagLayers: flagLayer({ users: { flag: '--users', value: '20' } }) });
    assert.equal(withFlags.config.users, 20);
    assert.notEqual(withFlags.hash, withEnv.hash, 'the config hash follows the resolved values');
  });

  test('a change in a file the config imports is seen (no stale cache)', async () => {
    const cwd = projectWith(`${header}import base from './base.ts';\nexport default defineConfig({ ...base });\n`);
    writeFileSync(path.join(cwd, 'base.ts'), 'export default { users: 4 };\n');
    assert.equal((await resolveConfig({ cwd, env: {} })).config.users, 4);
    writeFileSync(path.join(cwd, 'base.ts'), 'export default { users: 6 };\n');
    assert.equal((await resolveConfig({ cwd, env: {} })).config.users, 6);
  });

  test('perf-harness imports resolve to the harness (configs outside this repo)', async () => {
    const cwd = projectWith(`import { defineConfig } from 'perf-harness';\nexport default defineConfig({ users: 3 });\n`);
    assert.equal((await resolveConfig({ cwd, env: {} })).config.users, 3);
  });

  test('a target URL from the environment makes the target external', async () => {
    const { config } = await resolveConfig({ cwd: tempDir(), env: { PERF_TARGET: 'http://127.0.0.1:9999', PERF_REDIS_URL: 'redis://127.0.0.1:6379' } });
    assert.deepEqual(config.target, { baseUrl: 'http://127.0.0.1:9999', redisUrl: 'redis://127.0.0.1:6379', start: [] });
  });

  test('for the sample-app target, database and Redis URLs configure the app', async () => {
    const { config } = await resolveConfig({ cwd: tempDir(), env: { PERF_DATABASE_URL: 'postgres://127.0.0.1:5432/test' } });
    assert.equal(config.target, 'sample-app');
    assert.equal(config.sampleApp.databaseUrl, 'postgres://127.0.0.1:5432/test');
  });

  test('every problem is listed at once, each naming its field and where it came from', async () => {
    const cwd = projectWith(`${header}export default defineConfig({ seed: -1, phases: { health: { timeout: 'soon' } }, gates: [{ metric: 'http_req_duration', stat: 'p(97)', limit: 300 }] } as never);\n`);
    await assert.rejects(resolveConfig({ cwd, env: { PERF_USERS: 'many' } }), (e: Error) => {
      assert.equal(e.name, 'UserError');
      assert.match(e.message, /invalid configuration \(4 problems\)/);
      assert.match(e.message, /users \(from PERF_USERS\): .*expected number/);
      assert.match(e.message, /seed \(from perf\.config\.ts\): .*>=0/);
      assert.match(e.message, /phases\.health\.timeout \(from perf\.config\.ts\): must be a positive duration/);
      assert.match(e.message, /gates\.0\.stat \(from perf\.config\.ts\): /);
      return true;
    });
  });

  test('a misspelt option is an error naming it, not silently ignored', async () => {
    const cwd = projectWith(`${header}export default defineConfig({ phases: { health: { timout: '10s' } }, userz: 3 } as never);\n`);
    await assert.rejects(resolveConfig({ cwd, env: {} }), (e: Error) => {
      assert.match(e.message, /phases\.health\.timout .*unknown option/);
      assert.match(e.message, /userz .*unknown option/);
      return true;
    });
  });

  test('a config file with a syntax error names the file and line', async () => {
    const cwd = projectWith(`${header}export default defineConfig({ users: 3 ;\n`);
    await assert.rejects(resolveConfig({ cwd, env: {} }), /cannot load perf\.config\.ts:\n.*perf\.config\.ts:2:\d+/);
  });

  test('an explicit --config that does not exist is an error', async () => {
    await assert.rejects(resolveConfig({ cwd: tempDir(), env: {}, configFile: 'nope.ts' }), /config file not found: nope\.ts/);
  });
});
