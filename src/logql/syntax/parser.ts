// Recursive-descent LogQL parser producing the plain-data AST in ast.ts: metric expressions, log
// ranges and the entry points. It accepts what Loki's yacc grammar accepts (including its quirks:
// `!=` right after a selector is always a line filter, `,` in label filters groups everything to
// its right) and reports errors in Loki's words and positions: `parse error at line 1, col 12:
// syntax error: unexpected …` for syntax, `parse error : …` for checks made after parsing.
// Selectors and pipelines are parsed in pipeline-parser.ts.

import { QueryError } from '../api.ts';
import type {
  BinaryOp,
  Expr,
  Grouping,
  LabelMatcher,
  LogExpr,
  LogRange,
  RangeAggregationOp,
  SampleExpr,
  Unwrap,
  VectorAggregationOp,
  VectorMatching,
} from './ast.ts';
import { foldLiteralBinary } from './constant-folding.ts';
import { semanticError } from './errors.ts';
import type { TokenType } from './lexer.ts';
import { formatFixed6, NumberSyntaxError, parseGoFloat } from './numbers.ts';
import { parseLiteralValue, parseOptionalUnwrap, parsePipeline, parseSelectorMatchers } from './pipeline-parser.ts';
import { checkRegex } from './regex-syntax.ts';
import { TokenCursor } from './token-cursor.ts';
import { validateRangeAggregation, validateSelector, validateSelectors, validateStages } from './validation.ts';

/** Loki rejects queries of this many bytes or more before parsing. */
export const MAX_QUERY_BYTES = 131072;

const RANGE_OPS: Partial<Record<TokenType, RangeAggregationOp>> = {
  COUNT_OVER_TIME: 'count_over_time',
  RATE: 'rate',
  RATE_COUNTER: 'rate_counter',
  BYTES_OVER_TIME: 'bytes_over_time',
  BYTES_RATE: 'bytes_rate',
  AVG_OVER_TIME: 'avg_over_time',
  SUM_OVER_TIME: 'sum_over_time',
  MIN_OVER_TIME: 'min_over_time',
  MAX_OVER_TIME: 'max_over_time',
  STDVAR_OVER_TIME: 'stdvar_over_time',
  STDDEV_OVER_TIME: 'stddev_over_time',
  QUANTILE_OVER_TIME: 'quantile_over_time',
  FIRST_OVER_TIME: 'first_over_time',
  LAST_OVER_TIME: 'last_over_time',
  ABSENT_OVER_TIME: 'absent_over_time',
};

const VECTOR_OPS: Partial<Record<TokenType, VectorAggregationOp>> = {
  SUM: 'sum',
  AVG: 'avg',
  COUNT: 'count',
  MAX: 'max',
  MIN: 'min',
  STDDEV: 'stddev',
  STDVAR: 'stdvar',
  BOTTOMK: 'bottomk',
  TOPK: 'topk',
  SORT: 'sort',
  SORT_DESC: 'sort_desc',
  APPROX_TOPK: 'approx_topk',
};

/** Binary operators with their precedence (higher binds tighter), as in Loki's grammar. */
const BINARY_OPS: Partial<Record<TokenType, { op: BinaryOp; precedence: number }>> = {
  OR: { op: 'or', precedence: 1 },
  AND: { op: 'and', precedence: 2 },
  UNLESS: { op: 'unless', precedence: 2 },
  CMP_EQ: { op: '==', precedence: 3 },
  NEQ: { op: '!=', precedence: 3 },
  GT: { op: '>', precedence: 3 },
  GTE: { op: '>=', precedence: 3 },
  LT: { op: '<', precedence: 3 },
  LTE: { op: '<=', precedence: 3 },
  ADD: { op: '+', precedence: 4 },
  SUB: { op: '-', precedence: 4 },
  MUL: { op: '*', precedence: 5 },
  DIV: { op: '/', precedence: 5 },
  MOD: { op: '%', precedence: 5 },
  POW: { op: '^', precedence: 6 },
};



/** An intermediate log range inside parentheses: the `[range]` may still follow. */
type PartialLogRange = { complete: LogRange } | { log: LogExpr; unwrap?: Unwrap };

function parseRoot(c: TokenCursor): Expr {
  const expr = parseExpression(c, 0);
  if (!c.at('EOF')) throw c.unexpected();
  return expr;
}

function parseExpression(c: TokenCursor, minPrecedence: number): Expr {
  return c.nested(() => parseExpressionUnguarded(c, minPrecedence));
}

function parseExpressionUnguarded(c: TokenCursor, minPrecedence: number): Expr {
  let left = parsePrimary(c);
  for (;;) {
    const binary = BINARY_OPS[c.peek().type];
    if (binary === undefined || binary.precedence < minPrecedence) return left;
    c.advance();
    const modifiers = parseBinaryModifiers(c);
    // `^` is right-associative; everything else is left-associative.
    const right = parseExpression(c, binary.op === '^' ? binary.precedence : binary.precedence + 1);
    left = makeBinary(c, binary.op, modifiers, left, right);
  }
}

function parseBinaryModifiers(c: TokenCursor): { returnBool: boolean; matching?: VectorMatching } {
  const returnBool = c.at('BOOL');
  if (returnBool) c.advance();
  if (!c.at('ON') && !c.at('IGNORING')) return { returnBool };
  const on = c.advance().type === 'ON';
  const labels = parseLabelList(c);
  const matching: VectorMatching = { cardinality: 'one-to-one', on, labels, include: [] };
  if (c.at('GROUP_LEFT') || c.at('GROUP_RIGHT')) {
    matching.cardinality = c.advance().type === 'GROUP_LEFT' ? 'many-to-one' : 'one-to-many';
    if (c.at('OPEN_PARENTHESIS')) matching.include = parseLabelList(c);
  }
  return { returnBool, matching };
}

/** `( a, b )` or `()`. */
function parseLabelList(c: TokenCursor): string[] {
  c.expect('OPEN_PARENTHESIS');
  const labels: string[] = [];
  if (c.at('CLOSE_PARENTHESIS')) {
    c.advance();
    return labels;
  }
  for (;;) {
    labels.push(c.expect('IDENTIFIER', ['IDENTIFIER', 'CLOSE_PARENTHESIS']).value);
    if (c.at('COMMA')) {
      c.advance();
      continue;
    }
    c.expect('CLOSE_PARENTHESIS', ['COMMA', 'CLOSE_PARENTHESIS']);
    return labels;
  }
}

function makeBinary(c: TokenCursor, op: BinaryOp, modifiers: { returnBool: boolean; matching?: VectorMatching }, left: Expr, right: Expr): SampleExpr {
  if (left.kind === 'log') {
    c.deferredErrors.push(`unexpected type for left leg of binary operation (${op}): ${goTypeName(left)}`);
  }
  if (right.kind === 'log') {
    c.deferredErrors.push(`unexpected type for right leg of binary operation (${op}): ${goTypeName(right)}`);
  }
  const leftSample = left as SampleExpr;
  const rightSample = right as SampleExpr;
  if (op === 'or' || op === 'and' || op === 'unless') {
    if (left.kind === 'literal') {
      c.deferredErrors.push(`unexpected literal for left leg of logical/set binary operation (${op}): ${formatFixed6(left.value)}`);
    } else if (right.kind === 'literal') {
      c.deferredErrors.push(`unexpected literal for right leg of logical/set binary operation (${op}): ${formatFixed6(right.value)}`);
    }
  }
  if (leftSample.kind === 'literal' && rightSample.kind === 'literal') {
    // Loki folds literal-only arithmetic and comparisons while parsing (`1 > 1 > 1` is `0`).
    return { kind: 'literal', value: foldLiteralBinary(op, leftSample.value, rightSample.value) };
  }
  const expr: SampleExpr = { kind: 'binary', op, left: leftSample, right: rightSample, returnBool: modifiers.returnBool };
  if (modifiers.matching !== undefined) expr.matching = modifiers.matching;
  return c.combine(expr, leftSample, rightSample);
}

function parsePrimary(c: TokenCursor): Expr {
  const token = c.peek();
  switch (token.type) {
    case 'OPEN_BRACE':
      return parseLogExpr(c);
    case 'OPEN_PARENTHESIS': {
      c.advance();
      const inner = parseExpression(c, 0);
      // After an expression yacc could also take any binary operator: it names no expectation.
      c.expect('CLOSE_PARENTHESIS', []);
      return inner;
    }
    case 'NUMBER':
    case 'ADD':
    case 'SUB':
      return { kind: 'literal', value: parseLiteralValue(c, true) };
    case 'VECTOR':
      return parseVector(c);
    case 'LABEL_REPLACE':
      return parseLabelReplace(c);
    default:
      break;
  }
  const rangeOp = RANGE_OPS[token.type];
  if (rangeOp !== undefined) return parseRangeAggregation(c, rangeOp);
  const vectorOp = VECTOR_OPS[token.type];
  if (vectorOp !== undefined) return parseVectorAggregation(c, vectorOp);
  throw c.unexpected();
}

function metricOperand(c: TokenCursor, expr: Expr): SampleExpr {
  // A bare log selector where a metric is required is a syntax error at the following token.
  if (expr.kind === 'log') throw c.unexpected();
  return expr;
}

function parseVector(c: TokenCursor): SampleExpr {
  c.advance();
  c.expect('OPEN_PARENTHESIS');
  const token = c.expect('NUMBER');
  let value = 0;
  try {
    value = parseGoFloat(token.value);
  } catch (error) {
    if (!(error instanceof NumberSyntaxError)) throw error;
    c.deferredErrors.push(`unable to parse vectorExpr as a float: ${error.message}`);
  }
  c.expect('CLOSE_PARENTHESIS');
  return { kind: 'vector', value };
}

function parseLabelReplace(c: TokenCursor): SampleExpr {
  c.advance();
  c.expect('OPEN_PARENTHESIS');
  const expr = metricOperand(c, parseExpression(c, 0));
  const args: string[] = [];
  for (let i = 0; i < 4; i++) {
    c.expect('COMMA', i === 0 ? [] : ['COMMA']);
    args.push(c.expect('STRING').value);
  }
  c.expect('CLOSE_PARENTHESIS');
  const [dst = '', replacement = '', src = '', regex = ''] = args;
  const check = checkRegex(`^(?:${regex})$`);
  if (check.error !== undefined) c.deferredErrors.push(`invalid regex in label_replace: ${check.error}`);
  return { kind: 'labelReplace', expr, dst, replacement, src, regex };
}

function parseGrouping(c: TokenCursor): Grouping | undefined {
  if (!c.at('BY') && !c.at('WITHOUT')) return undefined;
  const without = c.advance().type === 'WITHOUT';
  return { without, labels: parseLabelList(c) };
}

function parseVectorAggregation(c: TokenCursor, op: VectorAggregationOp): SampleExpr {
  c.advance();
  let grouping = parseGrouping(c);
  c.expect('OPEN_PARENTHESIS');
  let paramText: string | undefined;
  if (c.at('NUMBER') && c.at('COMMA', 1)) {
    paramText = c.advance().value;
    c.advance();
  }
  const expr = metricOperand(c, parseExpression(c, 0));
  c.expect('CLOSE_PARENTHESIS', []);
  const groupingBefore = grouping !== undefined;
  if (!groupingBefore) grouping = parseGrouping(c);
  const result: SampleExpr = { kind: 'vectorAggregation', op, expr };
  // `by ()` is what Loki assumes when no grouping is written; keep one form for one meaning.
  if (grouping !== undefined && (grouping.without || grouping.labels.length > 0)) result.grouping = grouping;

  if (op === 'topk' || op === 'bottomk' || op === 'approx_topk') {
    if (paramText === undefined) c.deferredErrors.push(`parameter required for operation ${op}`);
    else if (!/^[+-]?\d+$/.test(paramText)) c.deferredErrors.push(`invalid parameter ${op}(${paramText},`);
    else if (Number(paramText) <= 0) c.deferredErrors.push(`invalid parameter (must be greater than 0) ${op}(${paramText}`);
    else if (op === 'approx_topk' && grouping !== undefined) c.deferredErrors.push(`grouping not allowed for ${op} aggregation`);
    if (paramText !== undefined && /^[+-]?\d+$/.test(paramText)) result.param = Number(paramText);
  } else if (paramText !== undefined) {
    c.deferredErrors.push(`unsupported parameter for operation ${op}(${paramText},`);
  }
  if ((op === 'sort' || op === 'sort_desc') && grouping !== undefined && grouping.labels.length > 0) {
    c.deferredErrors.push("sort and sort_desc doesn't allow grouping by ");
  }
  return result;
}

function parseRangeAggregation(c: TokenCursor, op: RangeAggregationOp): SampleExpr {
  c.advance();
  c.expect('OPEN_PARENTHESIS');
  let paramText: string | undefined;
  if (c.at('NUMBER')) {
    paramText = c.advance().value;
    c.expect('COMMA');
  } else if (!c.at('OPEN_BRACE') && !c.at('OPEN_PARENTHESIS')) {
    throw c.unexpected(['NUMBER', 'OPEN_BRACE', 'OPEN_PARENTHESIS']);
  }
  const range = parseLogRange(c);
  c.expect('CLOSE_PARENTHESIS');
  const grouping = parseGrouping(c);
  const result: SampleExpr = { kind: 'rangeAggregation', op, range };
  if (grouping !== undefined) result.grouping = grouping;

  const error = validateRangeAggregation(op, paramText, grouping, range.unwrap !== undefined);
  if (error !== undefined) c.deferredErrors.push(error);
  else if (paramText !== undefined) result.param = parseGoFloat(paramText);
  return result;
}

function parseLogRange(c: TokenCursor): LogRange {
  const part = parseLogRangePart(c);
  if ('complete' in part) return part.complete;
  throw c.unexpected();
}

/** Everything Loki's logRangeExpr rules allow, including `(selector | …)[5m]` forms. */
function parseLogRangePart(c: TokenCursor): PartialLogRange {
  if (c.at('OPEN_PARENTHESIS')) {
    c.advance();
    const inner = c.nested(() => parseLogRangePart(c));
    c.expect('CLOSE_PARENTHESIS');
    if ('complete' in inner) return inner;
    if (!c.at('RANGE')) return inner;
    return { complete: finishLogRange(c, inner.log, inner.unwrap) };
  }
  if (!c.at('OPEN_BRACE')) throw c.unexpected();
  const matchers = parseSelectorMatchers(c);
  if (c.at('RANGE')) {
    // `{…}[5m] offset 1h | json | unwrap x`: the range may come right after the selector.
    const rangeNs = c.advance().durationNs as bigint;
    const offsetNs = parseOptionalOffset(c);
    const pipeline = parsePipeline(c, true);
    const unwrap = parseOptionalUnwrap(c);
    return { complete: buildLogRange({ kind: 'log', matchers, pipeline }, rangeNs, offsetNs, unwrap) };
  }
  const pipeline = parsePipeline(c, true);
  const unwrap = parseOptionalUnwrap(c);
  const log: LogExpr = { kind: 'log', matchers, pipeline };
  if (c.at('RANGE')) return { complete: finishLogRange(c, log, unwrap) };
  return unwrap === undefined ? { log } : { log, unwrap };
}

function finishLogRange(c: TokenCursor, log: LogExpr, unwrap: Unwrap | undefined): LogRange {
  const rangeNs = c.expect('RANGE').durationNs as bigint;
  const offsetNs = parseOptionalOffset(c);
  return buildLogRange(log, rangeNs, offsetNs, unwrap);
}

function parseOptionalOffset(c: TokenCursor): bigint {
  if (!c.at('OFFSET')) return 0n;
  c.advance();
  return c.expect('DURATION').durationNs as bigint;
}

function parseLogExpr(c: TokenCursor): LogExpr {
  const matchers = parseSelectorMatchers(c);
  return { kind: 'log', matchers, pipeline: parsePipeline(c, false) };
}


function goTypeName(expr: LogExpr): string {
  return expr.pipeline.length === 0 ? '*syntax.MatchersExpr' : '*syntax.PipelineExpr';
}

function buildLogRange(log: LogExpr, rangeNs: bigint, offsetNs: bigint, unwrap: Unwrap | undefined): LogRange {
  const range: LogRange = { kind: 'logRange', log, rangeNs, offsetNs };
  if (unwrap !== undefined) range.unwrap = unwrap;
  return range;
}

function parseUnvalidated(text: string): { expr: Expr; deferredErrors: string[] } {
  const queryBytes = Buffer.byteLength(text, 'utf8');
  if (queryBytes >= MAX_QUERY_BYTES) throw semanticError(`input size too long (${queryBytes} > ${MAX_QUERY_BYTES})`);
  const cursor = new TokenCursor(text);
  const expr = parseRoot(cursor);
  return { expr, deferredErrors: cursor.deferredErrors };
}

/**
 * Parses a LogQL query into its AST, with Loki's parse-time validation. Throws QueryError with
 * Loki's message (`parse error at line L, col C: …` or `parse error : …`).
 */
export function parseExpr(text: string): Expr {
  const { expr, deferredErrors } = parseUnvalidated(text);
  if (deferredErrors.length > 0) throw semanticError(deferredErrors[0] as string);
  validateSelectors(expr);
  validateStages(expr);
  return expr;
}

/**
 * Parses a bare stream selector: a `/series` `match[]` or the `query` of label endpoints. `{}` is
 * accepted and means "every stream"; any other selector must select something, as in queries.
 * Pipelines and metric queries are rejected with Loki's `only label matchers are supported`.
 */
export function parseSelector(text: string): LabelMatcher[] {
  const { expr, deferredErrors } = parseUnvalidated(text);
  if (expr.kind !== 'log' || expr.pipeline.length > 0) throw new QueryError('only label matchers are supported');
  if (deferredErrors.length > 0) throw semanticError(deferredErrors[0] as string);
  if (expr.matchers.length > 0) validateSelector(expr.matchers);
  return expr.matchers;
}

