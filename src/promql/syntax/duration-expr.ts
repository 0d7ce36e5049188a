// Duration expressions (`[26m+4m]`, `offset -step()`, `[min_of(step()+1, 1h)]`): arithmetic in seconds,
// constant ones folded by the parser, the rest resolved per query from its step and range.

import type { DurationExpr } from './ast.ts';

/** Seconds of a duration expression; undefined when it needs `step()`/`range()` and `query` is not given. */
export function evaluateDuration(expr: DurationExpr, query: { stepMs: number; rangeMs: number } | undefined): number | undefined {
  switch (expr.kind) {
    case 'literal':
      return expr.seconds;
    case 'step':
      return query === undefined ? undefined : query.stepMs / 1000;
    case 'range':
      return query === undefined ? undefined : query.rangeMs / 1000;
    case 'unary': {
      const value = evaluateDuration(expr.expr, query);
      return value === undefined ? undefined : expr.op === '-' ? -value : value;
    }
    case 'call': {
      const a = evaluateDuration(expr.args[0], query);
      const b = evaluateDuration(expr.args[1], query);
      if (a === undefined || b === undefined) return undefined;
      return expr.func === 'min_of' ? Math.min(a, b) : Math.max(a, b);
    }
    case 'binary': {
      const a = evaluateDuration(expr.lhs, query);
      const b = evaluateDuration(expr.rhs, query);
      if (a === undefined || b === undefined) return undefined;
      switch (expr.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return a / b;
        case '%':
          return a % b;
        case '^':
          return a ** b;
      }
    }
  }
}
