// Recursive-descent LogQL parser producing the plain-data AST in ast.ts. It accepts what Loki's
// yacc grammar accepts (including its quirks: `!=` right after a selector is always a line filter,
// `,` in label filters groups everything to its right) and reports errors in Loki's words and
// positions: `parse error at line 1, col 12: syntax error: unexpected …` for syntax, and
// `parse error : …` for semantic checks made after parsing.

import { QueryError } from '../api.ts';
import type {
  BinaryOp,
  ComparisonOp,
  Expr,
  ExtractionParam,
  Grouping,
  LabelFilter,
  LabelFormatOp,
  LabelMatcher,
  LabelSelection,
  LineFilterOp,
  LineFilterStage,
  LineFilterValue,
  LogExpr,
  LogRange,
  MatchType,
  RangeAggregationOp,
  SampleExpr,
  Stage,
  Unwrap,
  UnwrapConversion,
  VectorAggregationOp,
  VectorMatching,
} from './ast.ts';
import { lex, positionOf, tokenDisplayName, type LexError, type Token, type TokenType } from './lexer.ts';
import { formatFixed6, NumberSyntaxError, parseGoFloat } from './numbers.ts';
import { patternParserError } from './pattern-syntax.ts';
import { checkRegex } from './regex-syntax.ts';
import { foldLiteralBinary } from './constant-folding.ts';
import { stageToString } from './printer.ts';
import { walkExpr } from './walk.ts';

/** Loki rejects queries of this many bytes or more before parsing. */
export const MAX_QUERY_BYTES = 131072;

/**
 * Parentheses and operators nest by recursion; a 128 KiB query of `(((…` would otherwise overflow
 * the stack. Go's RE2 uses the same bound for regex nesting.
 */
const MAX_NESTING_DEPTH = 1000;

const EMPTY_COMPATIBLE_MATCHERS_ERROR =
  'queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will';

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

const LINE_FILTER_OPS: Partial<Record<TokenType, LineFilterOp>> = {
  PIPE_EXACT: '|=',
  PIPE_MATCH: '|~',
  PIPE_PATTERN: '|>',
  NEQ: '!=',
  NRE: '!~',
  NPA: '!>',
};

const MATCH_OPS: Partial<Record<TokenType, MatchType>> = { EQ: '=', NEQ: '!=', RE: '=~', NRE: '!~' };

const COMPARISON_OPS: Partial<Record<TokenType, ComparisonOp>> = {
  GT: '>',
  GTE: '>=',
  LT: '<',
  LTE: '<=',
  NEQ: '!=',
  // Loki prints both `=` and `==` as `==` in number/duration/bytes filters.
  EQ: '==',
  CMP_EQ: '==',
};

const CONVERSIONS: Partial<Record<TokenType, UnwrapConversion>> = {
  BYTES_CONV: 'bytes',
  DURATION_CONV: 'duration',
  DURATION_SECONDS_CONV: 'duration_seconds',
};

const RANGE_OPS_WITH_GROUPING = new Set<RangeAggregationOp>([
  'avg_over_time', 'stddev_over_time', 'stdvar_over_time', 'quantile_over_time', 'max_over_time', 'min_over_time',
  'first_over_time', 'last_over_time',
]);
const RANGE_OPS_WITH_UNWRAP = new Set<RangeAggregationOp>([
  'avg_over_time', 'sum_over_time', 'max_over_time', 'min_over_time', 'stddev_over_time', 'stdvar_over_time',
  'quantile_over_time', 'rate', 'rate_counter', 'absent_over_time', 'first_over_time', 'last_over_time',
]);
const RANGE_OPS_WITHOUT_UNWRAP = new Set<RangeAggregationOp>(['bytes_over_time', 'bytes_rate', 'count_over_time', 'rate', 'absent_over_time']);

/** Builds Loki's error text; line/column 0 means "no position" as in Loki's ParseError. */
export function parseErrorMessage(message: string, line: number, column: number): string {
  if (line === 0 && column === 0) return `parse error : ${message}`;
  return `parse error at line ${line}, col ${column}: ${message}`;
}

function semanticError(message: string): QueryError {
  return new QueryError(parseErrorMessage(message, 0, 0));
}

/** An intermediate log range inside parentheses: the `[range]` may still follow. */
type PartialLogRange = { complete: LogRange } | { log: LogExpr; unwrap?: Unwrap };

class Parser {
  private readonly text: string;
  private readonly tokens: Token[];
  private readonly lexError: LexError | undefined;
  private index = 0;
  private depth = 0;
  /**
   * Height of binary and label-filter trees built by loops (`a + b + c …` is left-deep without
   * recursion while parsing), so printers and evaluators that recurse stay within the stack.
   */
  private readonly treeHeight = new WeakMap<object, number>();
  /** Errors Loki only reports after a successful parse (it stores them in the AST node). */
  readonly deferredErrors: string[] = [];

  constructor(text: string) {
    this.text = text;
    const result = lex(text);
    this.tokens = result.tokens;
    this.lexError = result.error;
  }

  // --- token access --------------------------------------------------------------------------

  private peek(ahead = 0): Token {
    const token = this.tokens[this.index + ahead];
    if (token !== undefined) return token;
    // Past the tokens the lexer produced: either the lexer failed here, or this is EOF.
    if (this.lexError !== undefined) throw this.errorAt(this.lexError.message, this.lexError.offset, this.lexError.lineKnown);
    return this.tokens[this.tokens.length - 1] as Token;
  }

  private at(type: TokenType, ahead = 0): boolean {
    return this.peek(ahead).type === type;
  }

  private advance(): Token {
    const token = this.peek();
    if (token.type !== 'EOF') this.index++;
    return token;
  }

  private expect(type: TokenType, expected: TokenType[] = [type]): Token {
    if (!this.at(type)) throw this.unexpected(expected);
    return this.advance();
  }

  private errorAt(message: string, offset: number, lineKnown: boolean): QueryError {
    const { line, column } = positionOf(this.text, offset);
    const reportedLine = lineKnown ? line : 0;
    return new QueryError(parseErrorMessage(message, reportedLine, column), reportedLine || undefined, column);
  }

  /** `syntax error: unexpected X[, expecting A or B]` at the current token. */
  private unexpected(expected: TokenType[] = []): QueryError {
    const token = this.peek();
    let message = `syntax error: unexpected ${tokenDisplayName(token.type)}`;
    if (expected.length > 0 && expected.length <= 4) {
      message += `, expecting ${expected.map((type) => tokenDisplayName(type)).join(' or ')}`;
    }
    return this.errorAt(message, token.offset, token.lineKnown);
  }

  // --- expressions ---------------------------------------------------------------------------

  parseRoot(): Expr {
    const expr = this.parseExpression(0);
    if (!this.at('EOF')) throw this.unexpected();
    return expr;
  }

  /** Runs a recursive step with the nesting guard. */
  private nested<T>(step: () => T): T {
    if (++this.depth > MAX_NESTING_DEPTH) {
      throw semanticError(`query nests too deeply (more than ${MAX_NESTING_DEPTH} levels)`);
    }
    try {
      return step();
    } finally {
      this.depth--;
    }
  }

  /** Records the height of a node built from two children; rejects trees deeper than the limit. */
  private combine<T extends object>(node: T, left: object, right: object): T {
    const height = 1 + Math.max(this.treeHeight.get(left) ?? 1, this.treeHeight.get(right) ?? 1);
    if (height > MAX_NESTING_DEPTH) throw semanticError(`query nests too deeply (more than ${MAX_NESTING_DEPTH} levels)`);
    this.treeHeight.set(node, height);
    return node;
  }

  private parseExpression(minPrecedence: number): Expr {
    return this.nested(() => this.parseExpressionUnguarded(minPrecedence));
  }

  private parseExpressionUnguarded(minPrecedence: number): Expr {
    let left = this.parsePrimary();
    for (;;) {
      const binary = BINARY_OPS[this.peek().type];
      if (binary === undefined || binary.precedence < minPrecedence) return left;
      this.advance();
      const modifiers = this.parseBinaryModifiers();
      // `^` is right-associative; everything else is left-associative.
      const right = this.parseExpression(binary.op === '^' ? binary.precedence : binary.precedence + 1);
      left = this.makeBinary(binary.op, modifiers, left, right);
    }
  }

  private parseBinaryModifiers(): { returnBool: boolean; matching?: VectorMatching } {
    const returnBool = this.at('BOOL');
    if (returnBool) this.advance();
    if (!this.at('ON') && !this.at('IGNORING')) return { returnBool };
    const on = this.advance().type === 'ON';
    const labels = this.parseLabelList();
    const matching: VectorMatching = { cardinality: 'one-to-one', on, labels, include: [] };
    if (this.at('GROUP_LEFT') || this.at('GROUP_RIGHT')) {
      matching.cardinality = this.advance().type === 'GROUP_LEFT' ? 'many-to-one' : 'one-to-many';
      if (this.at('OPEN_PARENTHESIS')) matching.include = this.parseLabelList();
    }
    return { returnBool, matching };
  }

  /** `( a, b )` or `()`. */
  private parseLabelList(): string[] {
    this.expect('OPEN_PARENTHESIS');
    const labels: string[] = [];
    if (this.at('CLOSE_PARENTHESIS')) {
      this.advance();
      return labels;
    }
    for (;;) {
      labels.push(this.expect('IDENTIFIER', ['IDENTIFIER', 'CLOSE_PARENTHESIS']).value);
      if (this.at('COMMA')) {
        this.advance();
        continue;
      }
      this.expect('CLOSE_PARENTHESIS', ['COMMA', 'CLOSE_PARENTHESIS']);
      return labels;
    }
  }

  private makeBinary(op: BinaryOp, modifiers: { returnBool: boolean; matching?: VectorMatching }, left: Expr, right: Expr): SampleExpr {
    if (left.kind === 'log') {
      this.deferredErrors.push(`unexpected type for left leg of binary operation (${op}): ${goTypeName(left)}`);
    }
    if (right.kind === 'log') {
      this.deferredErrors.push(`unexpected type for right leg of binary operation (${op}): ${goTypeName(right)}`);
    }
    const leftSample = left as SampleExpr;
    const rightSample = right as SampleExpr;
    if (op === 'or' || op === 'and' || op === 'unless') {
      if (left.kind === 'literal') {
        this.deferredErrors.push(`unexpected literal for left leg of logical/set binary operation (${op}): ${formatFixed6(left.value)}`);
      } else if (right.kind === 'literal') {
        this.deferredErrors.push(`unexpected literal for right leg of logical/set binary operation (${op}): ${formatFixed6(right.value)}`);
      }
    }
    if (leftSample.kind === 'literal' && rightSample.kind === 'literal') {
      // Loki folds literal-only arithmetic and comparisons while parsing (`1 > 1 > 1` is `0`).
      return { kind: 'literal', value: foldLiteralBinary(op, leftSample.value, rightSample.value) };
    }
    const expr: SampleExpr = { kind: 'binary', op, left: leftSample, right: rightSample, returnBool: modifiers.returnBool };
    if (modifiers.matching !== undefined) expr.matching = modifiers.matching;
    return this.combine(expr, leftSample, rightSample);
  }

  private parsePrimary(): Expr {
    const token = this.peek();
    switch (token.type) {
      case 'OPEN_BRACE':
        return this.parseLogExpr();
      case 'OPEN_PARENTHESIS': {
        this.advance();
        const inner = this.parseExpression(0);
        // After an expression yacc could also take any binary operator: it names no expectation.
        this.expect('CLOSE_PARENTHESIS', []);
        return inner;
      }
      case 'NUMBER':
      case 'ADD':
      case 'SUB':
        return { kind: 'literal', value: this.parseLiteralValue(true) };
      case 'VECTOR':
        return this.parseVector();
      case 'LABEL_REPLACE':
        return this.parseLabelReplace();
      default:
        break;
    }
    const rangeOp = RANGE_OPS[token.type];
    if (rangeOp !== undefined) return this.parseRangeAggregation(rangeOp);
    const vectorOp = VECTOR_OPS[token.type];
    if (vectorOp !== undefined) return this.parseVectorAggregation(vectorOp);
    throw this.unexpected();
  }

  /** NUMBER, `+NUMBER` or `-NUMBER`. Invalid floats are deferred (metric literal) or immediate. */
  private parseLiteralValue(deferError: boolean): number {
    let negative = false;
    if (this.at('ADD') || this.at('SUB')) negative = this.advance().type === 'SUB';
    const token = this.expect('NUMBER');
    let value = 0;
    try {
      value = parseGoFloat(token.value);
    } catch (error) {
      if (!(error instanceof NumberSyntaxError)) throw error;
      const message = `unable to parse literal as a float: ${error.message}`;
      if (!deferError) throw semanticError(message);
      this.deferredErrors.push(message);
    }
    return negative ? -value : value;
  }

  private metricOperand(expr: Expr): SampleExpr {
    // A bare log selector where a metric is required is a syntax error at the following token.
    if (expr.kind === 'log') throw this.unexpected();
    return expr;
  }

  private parseVector(): SampleExpr {
    this.advance();
    this.expect('OPEN_PARENTHESIS');
    const token = this.expect('NUMBER');
    let value = 0;
    try {
      value = parseGoFloat(token.value);
    } catch (error) {
      if (!(error instanceof NumberSyntaxError)) throw error;
      this.deferredErrors.push(`unable to parse vectorExpr as a float: ${error.message}`);
    }
    this.expect('CLOSE_PARENTHESIS');
    return { kind: 'vector', value };
  }

  private parseLabelReplace(): SampleExpr {
    this.advance();
    this.expect('OPEN_PARENTHESIS');
    const expr = this.metricOperand(this.parseExpression(0));
    const args: string[] = [];
    for (let i = 0; i < 4; i++) {
      this.expect('COMMA', i === 0 ? [] : ['COMMA']);
      args.push(this.expect('STRING').value);
    }
    this.expect('CLOSE_PARENTHESIS');
    const [dst = '', replacement = '', src = '', regex = ''] = args;
    const check = checkRegex(`^(?:${regex})$`);
    if (check.error !== undefined) this.deferredErrors.push(`invalid regex in label_replace: ${check.error}`);
    return { kind: 'labelReplace', expr, dst, replacement, src, regex };
  }

  private parseGrouping(): Grouping | undefined {
    if (!this.at('BY') && !this.at('WITHOUT')) return undefined;
    const without = this.advance().type === 'WITHOUT';
    return { without, labels: this.parseLabelList() };
  }

  private parseVectorAggregation(op: VectorAggregationOp): SampleExpr {
    this.advance();
    let grouping = this.parseGrouping();
    this.expect('OPEN_PARENTHESIS');
    let paramText: string | undefined;
    if (this.at('NUMBER') && this.at('COMMA', 1)) {
      paramText = this.advance().value;
      this.advance();
    }
    const expr = this.metricOperand(this.parseExpression(0));
    this.expect('CLOSE_PARENTHESIS', []);
    const groupingBefore = grouping !== undefined;
    if (!groupingBefore) grouping = this.parseGrouping();
    const result: SampleExpr = { kind: 'vectorAggregation', op, expr };
    // `by ()` is what Loki assumes when no grouping is written; keep one form for one meaning.
    if (grouping !== undefined && (grouping.without || grouping.labels.length > 0)) result.grouping = grouping;

    if (op === 'topk' || op === 'bottomk' || op === 'approx_topk') {
      if (paramText === undefined) this.deferredErrors.push(`parameter required for operation ${op}`);
      else if (!/^[+-]?\d+$/.test(paramText)) this.deferredErrors.push(`invalid parameter ${op}(${paramText},`);
      else if (Number(paramText) <= 0) this.deferredErrors.push(`invalid parameter (must be greater than 0) ${op}(${paramText}`);
      else if (op === 'approx_topk' && grouping !== undefined) this.deferredErrors.push(`grouping not allowed for ${op} aggregation`);
      if (paramText !== undefined && /^[+-]?\d+$/.test(paramText)) result.param = Number(paramText);
    } else if (paramText !== undefined) {
      this.deferredErrors.push(`unsupported parameter for operation ${op}(${paramText},`);
    }
    if ((op === 'sort' || op === 'sort_desc') && grouping !== undefined && grouping.labels.length > 0) {
      this.deferredErrors.push("sort and sort_desc doesn't allow grouping by ");
    }
    return result;
  }

  private parseRangeAggregation(op: RangeAggregationOp): SampleExpr {
    this.advance();
    this.expect('OPEN_PARENTHESIS');
    let paramText: string | undefined;
    if (this.at('NUMBER')) {
      paramText = this.advance().value;
      this.expect('COMMA');
    } else if (!this.at('OPEN_BRACE') && !this.at('OPEN_PARENTHESIS')) {
      throw this.unexpected(['NUMBER', 'OPEN_BRACE', 'OPEN_PARENTHESIS']);
    }
    const range = this.parseLogRange();
    this.expect('CLOSE_PARENTHESIS');
    const grouping = this.parseGrouping();
    const result: SampleExpr = { kind: 'rangeAggregation', op, range };
    if (grouping !== undefined) result.grouping = grouping;

    const error = validateRangeAggregation(op, paramText, grouping, range.unwrap !== undefined);
    if (error !== undefined) this.deferredErrors.push(error);
    else if (paramText !== undefined) result.param = parseGoFloat(paramText);
    return result;
  }

  // --- log ranges ----------------------------------------------------------------------------

  private parseLogRange(): LogRange {
    const part = this.parseLogRangePart();
    if ('complete' in part) return part.complete;
    throw this.unexpected();
  }

  /** Everything Loki's logRangeExpr rules allow, including `(selector | …)[5m]` forms. */
  private parseLogRangePart(): PartialLogRange {
    if (this.at('OPEN_PARENTHESIS')) {
      this.advance();
      const inner = this.nested(() => this.parseLogRangePart());
      this.expect('CLOSE_PARENTHESIS');
      if ('complete' in inner) return inner;
      if (!this.at('RANGE')) return inner;
      return { complete: this.finishLogRange(inner.log, inner.unwrap) };
    }
    if (!this.at('OPEN_BRACE')) throw this.unexpected();
    const matchers = this.parseSelectorMatchers();
    if (this.at('RANGE')) {
      // `{…}[5m] offset 1h | json | unwrap x`: the range may come right after the selector.
      const rangeNs = this.advance().durationNs as bigint;
      const offsetNs = this.parseOptionalOffset();
      const pipeline = this.parsePipeline(true);
      const unwrap = this.parseOptionalUnwrap();
      return { complete: buildLogRange({ kind: 'log', matchers, pipeline }, rangeNs, offsetNs, unwrap) };
    }
    const pipeline = this.parsePipeline(true);
    const unwrap = this.parseOptionalUnwrap();
    const log: LogExpr = { kind: 'log', matchers, pipeline };
    if (this.at('RANGE')) return { complete: this.finishLogRange(log, unwrap) };
    return unwrap === undefined ? { log } : { log, unwrap };
  }

  private finishLogRange(log: LogExpr, unwrap: Unwrap | undefined): LogRange {
    const rangeNs = this.expect('RANGE').durationNs as bigint;
    const offsetNs = this.parseOptionalOffset();
    return buildLogRange(log, rangeNs, offsetNs, unwrap);
  }

  private parseOptionalOffset(): bigint {
    if (!this.at('OFFSET')) return 0n;
    this.advance();
    return this.expect('DURATION').durationNs as bigint;
  }

  private parseOptionalUnwrap(): Unwrap | undefined {
    if (!(this.at('PIPE') && this.at('UNWRAP', 1))) return undefined;
    this.advance();
    this.advance();
    let conversion: UnwrapConversion = '';
    let label: string;
    const convert = CONVERSIONS[this.peek().type];
    if (convert !== undefined) {
      this.advance();
      conversion = convert;
      this.expect('OPEN_PARENTHESIS');
      label = this.expect('IDENTIFIER').value;
      this.expect('CLOSE_PARENTHESIS');
    } else {
      label = this.expect('IDENTIFIER').value;
    }
    const postFilters: LabelFilter[] = [];
    while (this.at('PIPE')) {
      this.advance();
      postFilters.push(this.parseLabelFilter());
    }
    return { label, conversion, postFilters };
  }

  // --- log expressions -----------------------------------------------------------------------

  private parseLogExpr(): LogExpr {
    const matchers = this.parseSelectorMatchers();
    return { kind: 'log', matchers, pipeline: this.parsePipeline(false) };
  }

  /** `{a="b", c=~"d"}` or `{}`. */
  parseSelectorMatchers(): LabelMatcher[] {
    this.expect('OPEN_BRACE');
    const matchers: LabelMatcher[] = [];
    if (this.at('CLOSE_BRACE')) {
      this.advance();
      return matchers;
    }
    if (!this.at('IDENTIFIER')) throw this.unexpected(['IDENTIFIER', 'CLOSE_BRACE']);
    for (;;) {
      matchers.push(this.parseMatcher());
      if (this.at('COMMA')) {
        this.advance();
        continue;
      }
      this.expect('CLOSE_BRACE', ['CLOSE_BRACE', 'COMMA']);
      return matchers;
    }
  }

  private parseMatcher(): LabelMatcher {
    const name = this.expect('IDENTIFIER').value;
    const type = MATCH_OPS[this.peek().type];
    if (type === undefined) throw this.unexpected(['EQ', 'RE', 'NRE', 'NEQ']);
    this.advance();
    const value = this.expect('STRING').value;
    return makeMatcher(name, type, value);
  }

  /** Pipeline stages until something that cannot continue it; stops before `| unwrap` if allowed. */
  private parsePipeline(allowUnwrap: boolean): Stage[] {
    const stages: Stage[] = [];
    for (;;) {
      const filterOp = LINE_FILTER_OPS[this.peek().type];
      if (filterOp !== undefined) {
        const filter = this.parseLineFilter(filterOp);
        // A negative filter with `or` means "none of", which is exactly a chain of single filters;
        // storing it as such keeps one form per meaning (and is how Loki prints it).
        if (filter.op === '!=' || filter.op === '!~' || filter.op === '!>') {
          for (const value of filter.values) stages.push({ kind: 'lineFilter', op: filter.op, values: [value] });
        } else {
          stages.push(filter);
        }
        continue;
      }
      if (!this.at('PIPE')) return stages;
      if (allowUnwrap && this.at('UNWRAP', 1)) return stages;
      this.advance();
      stages.push(this.parsePipeStage());
    }
  }

  private parseLineFilterValue(): LineFilterValue {
    if (this.at('STRING')) return { kind: 'text', value: this.advance().value };
    if (this.at('IP')) {
      this.advance();
      this.expect('OPEN_PARENTHESIS');
      const pattern = this.expect('STRING').value;
      this.expect('CLOSE_PARENTHESIS');
      return { kind: 'ip', pattern };
    }
    throw this.unexpected(['STRING', 'IP']);
  }

  private parseLineFilter(op: LineFilterOp): LineFilterStage {
    this.advance();
    const values = [this.parseLineFilterValue()];
    while (this.at('OR')) {
      this.advance();
      values.push(this.parseLineFilterValue());
    }
    return { kind: 'lineFilter', op, values };
  }

  private parsePipeStage(): Stage {
    const token = this.peek();
    switch (token.type) {
      case 'LOGFMT': {
        this.advance();
        let strict = false;
        let keepEmpty = false;
        while (this.at('FUNCTION_FLAG')) {
          const flag = this.advance().value;
          if (flag === '--strict') strict = true;
          else keepEmpty = true;
        }
        return { kind: 'logfmt', strict, keepEmpty, params: this.parseExtractionParams() };
      }
      case 'JSON':
        this.advance();
        return { kind: 'json', params: this.parseExtractionParams() };
      case 'UNPACK':
        this.advance();
        return { kind: 'unpack' };
      case 'REGEXP': {
        this.advance();
        const pattern = this.expect('STRING').value;
        const error = regexpParserError(pattern);
        if (error !== undefined) throw semanticError(`invalid regexp parser: ${error}`);
        return { kind: 'regexp', pattern };
      }
      case 'PATTERN': {
        this.advance();
        const pattern = this.expect('STRING').value;
        const error = patternParserError(pattern);
        if (error !== undefined) throw semanticError(`invalid pattern parser: ${error}`);
        return { kind: 'pattern', pattern };
      }
      case 'LINE_FMT':
        this.advance();
        return { kind: 'lineFormat', template: this.expect('STRING').value };
      case 'LABEL_FMT':
        this.advance();
        return { kind: 'labelFormat', ops: this.parseLabelFormatOps() };
      case 'DECOLORIZE':
        this.advance();
        return { kind: 'decolorize' };
      case 'DROP':
      case 'KEEP': {
        this.advance();
        const labels = this.parseLabelSelections();
        return token.type === 'DROP' ? { kind: 'drop', labels } : { kind: 'keep', labels };
      }
      default:
        return { kind: 'labelFilter', filter: this.parseLabelFilter() };
    }
  }

  private parseExtractionParams(): ExtractionParam[] {
    const params: ExtractionParam[] = [];
    if (!this.at('IDENTIFIER')) return params;
    for (;;) {
      const label = this.expect('IDENTIFIER').value;
      let expression = label;
      if (this.at('EQ')) {
        this.advance();
        expression = this.expect('STRING').value;
      }
      params.push({ label, expression });
      if (!this.at('COMMA')) return params;
      this.advance();
    }
  }

  private parseLabelFormatOps(): LabelFormatOp[] {
    const ops: LabelFormatOp[] = [];
    for (;;) {
      const dst = this.expect('IDENTIFIER').value;
      this.expect('EQ');
      if (this.at('IDENTIFIER')) ops.push({ kind: 'rename', dst, src: this.advance().value });
      else if (this.at('STRING')) ops.push({ kind: 'template', dst, template: this.advance().value });
      else throw this.unexpected(['IDENTIFIER', 'STRING']);
      if (!this.at('COMMA')) return ops;
      this.advance();
    }
  }

  private parseLabelSelections(): LabelSelection[] {
    const labels: LabelSelection[] = [];
    for (;;) {
      const name = this.expect('IDENTIFIER').value;
      const type = MATCH_OPS[this.peek().type];
      if (type !== undefined) {
        this.advance();
        labels.push({ name, matcher: makeMatcher(name, type, this.expect('STRING').value) });
      } else {
        labels.push({ name });
      }
      if (!this.at('COMMA')) return labels;
      this.advance();
    }
  }

  // --- label filters -------------------------------------------------------------------------

  /**
   * Label filter expressions. `and` binds tighter than `or`; `,` and juxtaposition (`a b`) also
   * mean "and", but Loki's grammar gives them no precedence, so their right side extends over the
   * rest of the filter: `a, b or c` is `a and (b or c)`.
   */
  private parseLabelFilter(minPrecedence = 0): LabelFilter {
    return this.nested(() => this.parseLabelFilterUnguarded(minPrecedence));
  }

  private parseLabelFilterUnguarded(minPrecedence: number): LabelFilter {
    let left = this.parseLabelFilterPrimary();
    for (;;) {
      if (this.at('COMMA') || this.at('IDENTIFIER') || this.at('OPEN_PARENTHESIS')) {
        if (this.at('COMMA')) this.advance();
        const right = this.parseLabelFilter(0);
        left = this.combine<LabelFilter>({ kind: 'and', left, right }, left, right);
        continue;
      }
      if (this.at('AND') && minPrecedence <= 2) {
        this.advance();
        const right = this.parseLabelFilter(3);
        left = this.combine<LabelFilter>({ kind: 'and', left, right }, left, right);
        continue;
      }
      if (this.at('OR') && minPrecedence <= 1) {
        this.advance();
        const right = this.parseLabelFilter(2);
        left = this.combine<LabelFilter>({ kind: 'or', left, right }, left, right);
        continue;
      }
      return left;
    }
  }

  private parseLabelFilterPrimary(): LabelFilter {
    if (this.at('OPEN_PARENTHESIS')) {
      this.advance();
      const inner = this.parseLabelFilter(0);
      this.expect('CLOSE_PARENTHESIS', []);
      return inner;
    }
    const name = this.expect('IDENTIFIER').value;
    const opToken = this.peek();
    const matchType = MATCH_OPS[opToken.type];
    const comparison = COMPARISON_OPS[opToken.type];
    if (matchType === undefined && comparison === undefined) throw this.unexpected();
    this.advance();
    const value = this.peek();
    if (value.type === 'STRING' && matchType !== undefined) {
      this.advance();
      return { kind: 'string', matcher: makeMatcher(name, matchType, value.value) };
    }
    if (value.type === 'IP' && (opToken.type === 'EQ' || opToken.type === 'NEQ')) {
      this.advance();
      this.expect('OPEN_PARENTHESIS');
      const pattern = this.expect('STRING').value;
      this.expect('CLOSE_PARENTHESIS');
      return { kind: 'ip', name, op: opToken.type === 'EQ' ? '=' : '!=', pattern };
    }
    if (comparison === undefined) throw this.unexpected();
    if (value.type === 'DURATION') {
      this.advance();
      return { kind: 'duration', name, op: comparison, valueNs: value.durationNs as bigint };
    }
    if (value.type === 'BYTES') {
      this.advance();
      return { kind: 'bytes', name, op: comparison, valueBytes: value.bytes as number };
    }
    if (value.type === 'NUMBER' || value.type === 'ADD' || value.type === 'SUB') {
      return { kind: 'number', name, op: comparison, value: this.parseLiteralValue(false) };
    }
    throw this.unexpected();
  }
}

function goTypeName(expr: LogExpr): string {
  return expr.pipeline.length === 0 ? '*syntax.MatchersExpr' : '*syntax.PipelineExpr';
}

function makeMatcher(name: string, type: MatchType, value: string): LabelMatcher {
  if (type === '=~' || type === '!~') {
    // Prometheus compiles matchers as `^(?s:…)$`, so its messages quote that wrapped form.
    const check = checkRegex(`^(?s:${value})$`);
    if (check.error !== undefined) throw semanticError(check.error);
  }
  return { name, type, value };
}

function buildLogRange(log: LogExpr, rangeNs: bigint, offsetNs: bigint, unwrap: Unwrap | undefined): LogRange {
  const range: LogRange = { kind: 'logRange', log, rangeNs, offsetNs };
  if (unwrap !== undefined) range.unwrap = unwrap;
  return range;
}

function regexpParserError(pattern: string): string | undefined {
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
function validateRangeAggregation(
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

function validateSelector(matchers: LabelMatcher[]): void {
  if (!matchers.some((matcher) => !matchesEmpty(matcher))) throw semanticError(EMPTY_COMPATIBLE_MATCHERS_ERROR);
}

/** Every stream selector in the expression must select something (Loki's validateMatchers). */
function validateSelectors(expr: Expr): void {
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
function validateStages(expr: Expr): void {
  walkExpr(expr, {
    stage: (stage) => {
      if (stage.kind !== 'labelFormat') return;
      const error = labelFormatError(stage.ops);
      if (error !== undefined) throw semanticError(`stage '${stageToString(stage)}' : ${error}`);
    },
  });
}

function parseUnvalidated(text: string): { expr: Expr; deferredErrors: string[] } {
  const queryBytes = Buffer.byteLength(text, 'utf8');
  if (queryBytes >= MAX_QUERY_BYTES) throw semanticError(`input size too long (${queryBytes} > ${MAX_QUERY_BYTES})`);
  const parser = new Parser(text);
  const expr = parser.parseRoot();
  return { expr, deferredErrors: parser.deferredErrors };
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
