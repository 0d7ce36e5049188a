// Loki's parse error format: `parse error at line L, col C: msg`, or `parse error : msg` for checks
// that have no position (Loki's ParseError with line and column 0).

import { QueryError } from '../api.ts';

/** Builds Loki's error text; line/column 0 means "no position" as in Loki's ParseError. */
export function parseErrorMessage(message: string, line: number, column: number): string {
  if (line === 0 && column === 0) return `parse error : ${message}`;
  return `parse error at line ${line}, col ${column}: ${message}`;
}

export function semanticError(message: string): QueryError {
  return new QueryError(parseErrorMessage(message, 0, 0));
}
