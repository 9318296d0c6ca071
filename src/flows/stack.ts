/**
 * Where in the user's TypeScript an error happened. User files run as bundles with inline source
 * maps and `process.setSourceMapsEnabled(true)`, so V8's stacks already name the original `.ts`
 * files; this picks the frames that are the user's (not perf's own src/, bundler/ or dist/, not
 * node_modules, not Node's internals, not an unmapped bundle under .perf/) and shows them
 * relative to the project folder.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HARNESS_ROOT } from '../paths.ts';

const OWN = ['src', 'bundler', 'dist'].map((d) => path.join(HARNESS_ROOT, d) + path.sep);
const FRAME = /^\s*at (?:(.*?) \()?((?:file:\/\/)?[^()]+?):(\d+):(\d+)\)?\s*$/;

export interface UserFrame {
  /** Relative to the project folder (absolute when outside it). */
  file: string;
  line: number;
  col: number;
  fn?: string;
}

export function userFrames(stack: string | undefined, projectDir: string): UserFrame[] {
  const out: UserFrame[] = [];
  for (const raw of (stack ?? '').split('\n')) {
    const m = FRAME.exec(raw);
    if (!m) continue;
    let file = m[2]!.replace(/^async /, '');
    if (file.startsWith('node:') || file.startsWith('internal/')) continue;
    if (file.startsWith('file://')) {
      try {
        file = fileURLToPath(file);
      } catch {
        continue;
      }
    }
    if (!path.isAbsolute(file)) continue;
    if (OWN.some((d) => file.startsWith(d)) || file.includes(`${path.sep}node_modules${path.sep}`) || file.includes(`${path.sep}.perf${path.sep}`)) continue;
    const rel = path.relative(projectDir, file);
    out.push({ file: rel.startsWith('..') ? file : rel, line: Number(m[3]), col: Number(m[4]), ...(m[1] ? { fn: m[1].replace(/^async /, '') } : {}) });
  }
  return out;
}

/** `flows/notes.ts:12:7` of the first user frame, if any. */
export function userLocation(e: unknown, projectDir: string): string | undefined {
  const f = userFrames(e instanceof Error ? e.stack : undefined, projectDir)[0];
  return f ? `${f.file}:${f.line}:${f.col}` : undefined;
}
