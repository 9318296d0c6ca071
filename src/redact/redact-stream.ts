/**
 * Text perf copies into the run folder as it comes (k6's stdout and log), passed through a
 * redactor line by line: a line is redacted whole, so a secret split across two chunks is still
 * found. `end()` redacts and writes a last line that has no newline.
 */
import { StringDecoder } from 'node:string_decoder';

export class LineRedactor {
  private rest = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly redact: (s: string) => string,
    private readonly write: (s: string) => void,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.rest + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const nl = text.lastIndexOf('\n');
    if (nl < 0) {
      this.rest = text;
      return;
    }
    this.rest = text.slice(nl + 1);
    this.write(this.redact(text.slice(0, nl + 1)));
  }

  end(): void {
    const text = this.rest + this.decoder.end();
    this.rest = '';
    if (text) this.write(this.redact(text));
  }
}
