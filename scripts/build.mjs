// Prebuilds the Node-side entry points into dist/ so `perf` starts without compiling
// TypeScript on every invocation. npm dependencies stay external (they are installed).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

await build({
  absWorkingDir: root,
  entryPoints: {
    cli: 'src/cli/cli.ts',
    'sample-app': 'sample-app/main.ts',
  },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: 'linked',
  // Split so commands load their heavy modules (esbuild, pg, ...) only when they run.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
