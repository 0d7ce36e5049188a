// Rule expressions are checked at load time with the parser of their language: a syntax error is
// reported at its line and column inside the rule file. LogQL log queries (which return lines, not
// numbers) and PromQL range vectors or strings are refused, as Prometheus refuses them.

import { QueryError } from '../logql/api.ts';
import { parseExpr } from '../logql/syntax/parser.ts';
import { PromQLParseError, positionText } from '../promql/syntax/errors.ts';
import { parseExpr as parsePromqlExpr } from '../promql/syntax/parser.ts';
import { typeOf } from '../promql/syntax/types.ts';
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

export const validatePromqlRuleExpr: ExprValidator = (expr) => {
  try {
    const type = typeOf(parsePromqlExpr(expr));
    if (type !== 'vector' && type !== 'scalar') {
      return { message: `invalid expression type "${type === 'matrix' ? 'range vector' : 'string'}" for rule: it must be an instant vector or a scalar` };
    }
    return undefined;
  } catch (error) {
    if (!(error instanceof PromQLParseError)) throw error;
    const [line, column] = positionText(expr, error.positionRange.start).split(':').map(Number) as [number, number];
    return { message: error.detail, line, column };
  }
};
