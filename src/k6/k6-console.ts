/**
 * A scenario's `console.warn` / `console.error` lines, from k6's JSON log (`--log-format=json`:
 * `{"level":"warning"|"error","msg":"…","source":"console"}`), for the verdict of a scenario
 * that failed: what the script itself said went wrong. Read line by line (a soak's log can be
 * large); kept bounded: distinct messages with their counts, the first `MAX_LINES` of them, each
 * cut at `MAX_CHARS`. Every message passes through the run's Redactor before it is kept, since
 * scripts log responses and tokens.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Redactor } from '../redact/redact.ts';
import type { K6ConsoleLine } from '../run/verdict.ts';

export const MAX_LINES = 20;
export const MAX_CHARS = 500;

export async function readConsoleLines(logFile: string, redactor: Redactor): Promise<{ lines: K6ConsoleLine[]; omitted: number }> {
  const byKey = new Map<string, K6ConsoleLine>();
  let omitted = 0;
  if (!existsSync(logFile)) return { lines: [], omitted };
  const rl = createInterface({ input: createReadStream(logFile, 'utf8'), crlfDelay: Infinity });
  for await (const raw of rl) {
    if (!raw.startsWith('{') || !raw.includes('"console"')) continue;
    let entry: { level?: string; msg?: unknown; source?: string };
    try {
      entry = JSON.parse(raw) as typeof entry;
    } catch {
      continue;
    }
    if (entry.source !== 'console' || typeof entry.msg !== 'string') continue;
    const level = entry.level === 'error' ? 'error' : entry.level === 'warning' || entry.level === 'warn' ? 'warn' : undefined;
    if (!level) continue;
    // redactBody: a JSON message (a logged response) is redacted by key too, not only by shape.
    const text = redactor.redactBody(entry.msg);
    const message = text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS - 1)}…` : text;
    const key = `${level}\u0000${message}`;
    const seen = byKey.get(key);
    if (seen) seen.count++;
    else if (byKey.size < MAX_LINES) byKey.set(key, { level, message, count: 1 });
    else omitted++;
  }
  return { lines: [...byKey.values()], omitted };
}
