/**
 * The one place where outcomes become process exit codes (DESIGN.md, "Exit codes").
 * k6's own exit codes are recorded in the verdict, never passed through.
 */
export type RunStatus = 'passed' | 'failed' | 'timedout' | 'interrupted' | 'invalid';

export const EXIT = {
  passed: 0,
  failed: 1,
  usage: 2,
  interrupted: 130,
} as const;

export function exitCodeForStatus(status: RunStatus): number {
  switch (status) {
    case 'passed':
      return EXIT.passed;
    case 'interrupted':
      return EXIT.interrupted;
    // A timed-out or invalid run (e.g. a saturated load generator) is not a pass.
    case 'failed':
    case 'timedout':
    case 'invalid':
      return EXIT.failed;
  }
}
