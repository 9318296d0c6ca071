/**
 * A single status line for long work. On a TTY it rewrites itself in place; elsewhere
 * (CI logs) it prints at most one line per `minIntervalMs` so logs stay readable.
 */
export interface Progress {
  update(text: string): void;
  done(text?: string): void;
}

export function createProgress(
  stream: NodeJS.WriteStream = process.stderr,
  minIntervalMs = 10_000,
): Progress {
  const tty = Boolean(stream.isTTY);
  let last = 0;
  let shown = false;
  return {
    update(text) {
      if (tty) {
        stream.write(`\r\x1b[2K${text}`);
        shown = true;
        return;
      }
      const now = Date.now();
      if (now - last >= minIntervalMs) {
        last = now;
        stream.write(`${text}\n`);
      }
    },
    done(text) {
      if (tty && shown) stream.write('\r\x1b[2K');
      if (text) stream.write(`${text}\n`);
    },
  };
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${s} s`;
}
