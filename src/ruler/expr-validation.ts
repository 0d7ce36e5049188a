// Rule expressions are checked at load time with the LogQL parser: a syntax error is reported at its
// line and column inside the rule file, and log queries (which return lines, not numbers) are refused.

import { QueryError } from '../logql/api.ts';
import { parseExpr } from '../logql/syntax/parser.ts';
import type { ExprValidator } from './rule-file.ts';

export const validateRuleExpr: ExprValidator = (expr) => {
  try {
    const parsed = parseExpr(expr);
    if (parsed.kind === 'log') {
      return { message: 'rules need a metric query such as sum(count_over_time({…}[5m])); this is a log query, which returns lines' };
    }
    return undefined;
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    return { message: error.message, ...(error.line !== undefined ? { line: error.line } : {}), ...(error.column !== undefined ? { column: error.column } : {}) };
  }
};
