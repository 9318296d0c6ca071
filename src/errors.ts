/**
 * Two kinds of error. A `UserError` is an expected mistake (bad flag, bad config,
 * missing tool, type error in a scenario): the CLI prints its message and hint without
 * a stack and exits 2. Anything else is a bug or an unexpected failure and is printed
 * with its stack. Only `src/cli/cli.ts` turns either into an exit code.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  /** One line telling the user how to fix it, printed under the message. */
  readonly hint: string | undefined;

  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
