// Parse errors carry the character range they refer to and print as Prometheus does:
// `1:5: parse error: unexpected <op:+>` (line and 1-based column of the range start).

import type { PositionRange } from './ast.ts';

export class PromQLParseError extends Error {
  readonly positionRange: PositionRange;
  /** The message without position (Prometheus' ParseErr.Err). */
  readonly detail: string;

  constructor(detail: string, positionRange: PositionRange, query: string) {
    super(`${positionText(query, positionRange.start)}: parse error: ${detail}`);
    this.name = 'PromQLParseError';
    this.detail = detail;
    this.positionRange = positionRange;
  }
}

/** `line:column` of a character offset, both 1-based. */
export function positionText(query: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  const limit = Math.min(offset, query.length);
  for (let i = 0; i < limit; i++) {
    if (query[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return `${line}:${offset - lineStart + 1}`;
}
