#!/usr/bin/env node
// Starts the prebuilt CLI (dist/cli.js, made by `npm run build`, which `npm ci` runs via
// `prepare`). If it is missing (a fresh checkout without install scripts), build it once.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  await import('../scripts/build.mjs');
}
await import(cli.href);
