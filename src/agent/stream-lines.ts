// Splits a byte stream (a child's stdout or stderr) into lines, decoding UTF-8 across chunk borders.

import { StringDecoder } from 'node:string_decoder';

// A line with no newline after this many characters is cut so memory stays bounded.
const MAX_LINE_CHARS = 1024 * 1024;

export class StreamLineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private carry = '';
  private readonly onLine: (line: string) => void;

  constructor(onLine: (line: string) => void) {
    this.onLine = onLine;
  }

  write(chunk: Buffer): void {
    let text = this.carry + this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) break;
      this.onLine(text.slice(start, newline));
      start = newline + 1;
    }
    text = text.slice(start);
    while (text.length > MAX_LINE_CHARS) {
      this.onLine(text.slice(0, MAX_LINE_CHARS));
      text = text.slice(MAX_LINE_CHARS);
    }
    this.carry = text;
  }

  /** Emits an unfinished last line, if any (the stream ended without a newline). */
  end(): void {
    const rest = this.carry + this.decoder.end();
    this.carry = '';
    if (rest !== '') this.onLine(rest);
  }
}
