// Test instrumentation, off by default: every credential this instance hands out or accepts
// (access and refresh tokens, password-reset tokens, the passwords of signups, logins and
// resets, the seed password), appended as one JSON line `{"kind","value"}` to a file.
//
// Why a file and not an admin route: perf starts and stops the app itself, so a test of what
// perf wrote (test/secrets-scan.test.ts) can only ask after the app is gone. The file is
// named by `issuedSecretsLog` / `SAMPLE_APP_ISSUED_SECRETS_LOG`; never set it outside tests.
import { appendFileSync } from 'node:fs';

export type IssuedKind = 'access_token' | 'refresh_token' | 'reset_token' | 'password';

export class IssuedSecrets {
  readonly #file: string | null;
  readonly #seen = new Set<string>();

  constructor(file: string | null) {
    this.#file = file;
  }

  record(kind: IssuedKind, value: string): void {
    if (!this.#file || this.#seen.has(value)) return;
    this.#seen.add(value);
    // Synchronous: the line is on disk before the answer carrying the secret is sent.
    appendFileSync(this.#file, `${JSON.stringify({ kind, value })}\n`);
  }
}
