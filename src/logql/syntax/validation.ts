// Loki's parse-time checks that need the whole tree or a whole node: range aggregations (params,
// grouping, unwrap), stream selectors (at least one matcher must select something), regexp parser
// patterns and label_format targets. Messages are Loki's.

import type { Expr, Grouping, LabelFormatOp, LabelMatcher, RangeAggregationOp } from './ast.ts';
import { semanticError } from './errors.ts';
import { NumberSyntaxError, parseGoFloat } from './numbers.ts';
import { stageToString } from './printer.ts';
import { checkRegex } from './regex-syntax.ts';
import { walkExpr } from './walk.ts';

const EMPTY_COMPATIBLE_MATCHERS_ERROR =
  'queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will';

const RANGE_OPS_WITH_GROUPING = new Set<RangeAggregationOp>([
  'avg_over_time', 'stddev_over_time', 'stdvar_over_time', 'quantile_over_time', 'max_over_time', 'min_over_time',
  'first_over_time', 'last_over_time',
]);
const RANGE_OPS_WITH_UNWRAP = new Set<RangeAggregationOp>([
  'avg_over_time', 'sum_over_time', 'max_over_time', 'min_over_time', 'stddev_over_time', 'stdvar_over_time',
  'quantile_over_time', 'rate', 'rate_counter', 'absent_over_time', 'first_over_time', 'last_over_time',
]);
const RANGE_OPS_WITHOUT_UNWRAP = new Set<RangeAggregationOp>(['bytes_over_time', 'bytes_rate', 'count_over_time', 'rate', 'absent_over_time']);

export function regexpParserError(pattern: string): string | undefined {
  const check = checkRegex(pattern);
  if (check.error !== undefined) return check.error;
  if (check.captureCount === 0 || check.captureNames.length === 0) return 'at least one named capture must be supplied';
  const seen = new Set<string>();
  for (const name of check.captureNames) {
    if (seen.has(name)) return `duplicate extracted label name '${name}'`;
    seen.add(name);
  }
  return undefined;
}

/** Loki's newRangeAggregationExpr + validate checks, in its order; returns the first error. */
export function validateRangeAggregation(
  op: RangeAggregationOp,
  paramText: string | undefined,
  grouping: Grouping | undefined,
  hasUnwrap: boolean,
): string | undefined {
  if (paramText !== undefined) {
    if (op !== 'quantile_over_time') return `parameter ${paramText} not supported for operation ${op}`;
    try {
      parseGoFloat(paramText);
    } catch (error) {
      if (error instanceof NumberSyntaxError) return `invalid parameter for operation ${op}: ${error.message}`;
      throw error;
    }
  } else if (op === 'quantile_over_time') {
    return `parameter required for operation ${op}`;
  }
  if (grouping !== undefined && !RANGE_OPS_WITH_GROUPING.has(op)) return `grouping not allowed for ${op} aggregation`;
  if (hasUnwrap) return RANGE_OPS_WITH_UNWRAP.has(op) ? undefined : `invalid aggregation ${op} with unwrap`;
  return RANGE_OPS_WITHOUT_UNWRAP.has(op) ? undefined : `invalid aggregation ${op} without unwrap`;
}

/** A matcher "filters" rather than selects when it also matches the empty string. */
function matchesEmpty(matcher: LabelMatcher): boolean {
  switch (matcher.type) {
    case '=':
      return matcher.value === '';
    case '!=':
      return matcher.value !== '';
    case '=~':
      return checkRegex(matcher.value).matchesEmpty;
    case '!~':
      return !checkRegex(matcher.value).matchesEmpty;
  }
}

export function validateSelector(matchers: LabelMatcher[]): void {
  if (!matchers.some((matcher) => !matchesEmpty(matcher))) throw semanticError(EMPTY_COMPATIBLE_MATCHERS_ERROR);
}

/** Every stream selector in the expression must select something (Loki's validateMatchers). */
export function validateSelectors(expr: Expr): void {
  switch (expr.kind) {
    case 'log':
      validateSelector(expr.matchers);
      return;
    case 'rangeAggregation':
      validateSelector(expr.range.log.matchers);
      return;
    case 'vectorAggregation':
    case 'labelReplace':
      validateSelectors(expr.expr);
      return;
    case 'binary':
      validateSelectors(expr.left);
      validateSelectors(expr.right);
      return;
    case 'literal':
    case 'vector':
      return;
  }
}

/** Loki's label_format rule: each target once per stage, and never `__error__`. */
function labelFormatError(ops: LabelFormatOp[]): string | undefined {
  const targets = new Set<string>();
  for (const op of ops) {
    if (op.dst === '__error__') return '__error__ cannot be formatted';
    if (targets.has(op.dst)) return `multiple label name '${op.dst}' not allowed in a single format operation`;
    targets.add(op.dst);
  }
  return undefined;
}

/**
 * Checks Loki makes when it builds the pipeline (after selector validation), reported the way
 * Loki reports them: `stage '<stage as printed>' : <reason>`.
 */
export function validateStages(expr: Expr): void {
  walkExpr(expr, {
    stage: (stage) => {
      if (stage.kind !== 'labelFormat') return;
      const error = labelFormatError(stage.ops);
      if (error !== undefined) throw semanticError(`stage '${stageToString(stage)}' : ${error}`);
    },
  });
}
