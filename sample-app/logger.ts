// The app's only logger: plain lines on stderr, quiet by default.
//
// stdout is reserved for main.ts's single `{"event":"ready",...}` line (perf reads it), so
// nothing here ever writes to stdout.
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

const ORDER: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

export interface Logger {
  readonly level: LogLevel;
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
  error(message: string, extra?: unknown): void;
  warn(message: string, extra?: unknown): void;
  info(message: string, extra?: unknown): void;
  debug(message: string, extra?: unknown): void;
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && value in ORDER;
}

export function createLogger(level: LogLevel = 'warn', sink: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const threshold = ORDER[level];
  const write = (lvl: Exclude<LogLevel, 'silent'>, message: string, extra?: unknown) => {
    if (ORDER[lvl] > threshold) return;
    let suffix = '';
    if (extra instanceof Error) suffix = ` ${extra.stack ?? extra.message}`;
    else if (extra !== undefined) suffix = ` ${JSON.stringify(extra)}`;
    sink(`${new Date().toISOString()} sample-app ${lvl}: ${message}${suffix}\n`);
  };
  return {
    level,
    enabled: (lvl) => ORDER[lvl] <= threshold,
    error: (m, e) => write('error', m, e),
    warn: (m, e) => write('warn', m, e),
    info: (m, e) => write('info', m, e),
    debug: (m, e) => write('debug', m, e),
  };
}
