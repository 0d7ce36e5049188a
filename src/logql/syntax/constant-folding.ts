// Loki evaluates binary operations between two number literals while parsing (`1 > 1 > 1` parses
// to the literal `0`), with Prometheus scalar semantics: comparisons give 0 or 1 whether or not
// `bool` was written, and division or modulo by zero gives NaN.

import type { BinaryOp } from './ast.ts';

export function foldLiteralBinary(op: BinaryOp, left: number, right: number): number {
  switch (op) {
    case '+':
      return left + right;
    case '-':
      return left - right;
    case '*':
      return left * right;
    case '/':
      return right === 0 ? Number.NaN : left / right;
    case '%':
      return right === 0 ? Number.NaN : left % right;
    case '^':
      return left ** right;
    case '==':
      return left === right ? 1 : 0;
    case '!=':
      return left !== right ? 1 : 0;
    case '>':
      return left > right ? 1 : 0;
    case '>=':
      return left >= right ? 1 : 0;
    case '<':
      return left < right ? 1 : 0;
    case '<=':
      return left <= right ? 1 : 0;
    case 'and':
    case 'or':
    case 'unless':
      // Set operators on literals are rejected before folding; keep the left value for safety.
      return left;
  }
}
