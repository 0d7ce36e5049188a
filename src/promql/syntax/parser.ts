// PromQL parser: recursive descent with precedence climbing for binary operators, then the type checks
// Prometheus runs after parsing (argument types, set operators, `bool`, vector matching). Errors use
// Prometheus' wording and the position of the offending token.

import type { MetricLabelMatcher, MetricMatchType } from '../../tsdb/types.ts';
import { parsePrometheusDuration } from '../../logql/syntax/durations.ts';
import { unquoteGoString } from '../../logql/syntax/quoting.ts';
import { compileAnchoredRegex } from '../regex.ts';
import type {
  AggregateOp,
  AtModifier,
  BinaryOp,
  DurationExpr,
  Expr,
  ValueType,
  VectorMatching,
  VectorSelector,
} from './ast.ts';
import { PromQLParseError } from './errors.ts';
import { documentedType, FUNCTIONS } from './functions.ts';
import type { Token } from './lexer.ts';
import { AGGREGATORS, lower, TokenCursor, WORD_OPERATORS } from './token-cursor.ts';
import { evaluateDuration } from './duration-expr.ts';
import { matchesEmpty } from './matchers.ts';
import { typeOf } from './types.ts';

const PARAMETRIC = new Set<AggregateOp>(['topk', 'bottomk', 'count_values', 'quantile', 'limitk', 'limit_ratio']);
/** Keywords that can never start a metric name (the others, like `fill` or `start`, are contextual). */
const RESERVED = new Set(['and', 'or', 'unless', 'atan2', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset']);
const PRECEDENCE: Record<BinaryOp, number> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '<=': 3,
  '<': 3,
  '>=': 3,
  '>': 3,
  '</': 3,
  '>/': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  atan2: 5,
  '^': 6,
};
const COMPARISONS = new Set<BinaryOp>(['==', '!=', '<=', '<', '>=', '>']);
const SET_OPERATORS = new Set<BinaryOp>(['and', 'or', 'unless']);
const MAX_DEPTH = 500;

export interface ParseOptions {
  /** Prometheus gates some functions behind a flag; all are on unless this is false. */
  experimentalFunctions?: boolean;
}

export function parseExpr(query: string, _options: ParseOptions = {}): Expr {
  const parser = new Parser(query);
  const expr = parser.parseTop();
  return expr;
}

/** Parses a series selector as the HTTP API's `match[]` takes it (`up{job="x"}`). */
export function parseMetricSelector(query: string): MetricLabelMatcher[] {
  const expr = parseExpr(query);
  if (expr.type !== 'VectorSelector') {
    throw new PromQLParseError(`unexpected ${expr.type === 'MatrixSelector' ? 'range vector selector' : 'expression'}, expected a series selector`, expr.pos, query);
  }
  return expr.matchers;
}


class Parser extends TokenCursor {
  private depth = 0;
  private allowEmptySelector = false;

  constructor(query: string) {
    super(query);
  }

  parseTop(): Expr {
    if (this.peek().kind === 'eof') throw this.error('no expression found in input', this.peek().pos);
    const expr = this.parseBinary(0);
    const next = this.peek();
    if (next.kind !== 'eof') {
      if (next.text === ')') throw this.error("unexpected right parenthesis ')'", next.pos);
      throw this.unexpected(next);
    }
    return expr;
  }

  // ---- expressions ----

  private parseBinary(minPrecedence: number): Expr {
    if (++this.depth > MAX_DEPTH) throw this.error('expression nested too deeply', this.peek().pos);
    let lhs = this.parseUnary();
    for (;;) {
      const op = this.binaryOperator();
      if (op === undefined || PRECEDENCE[op] < minPrecedence) break;
      const opToken = this.next();
      const modifiers = this.parseBinaryModifiers(op);
      const nextMin = op === '^' ? PRECEDENCE[op] : PRECEDENCE[op] + 1;
      if (this.peek().kind === 'eof') throw this.unexpected(this.peek());
      const rhs = this.parseBinary(nextMin);
      lhs = this.buildBinary(op, lhs, rhs, modifiers, opToken);
    }
    this.depth--;
    return lhs;
  }

  private binaryOperator(): BinaryOp | undefined {
    const token = this.peek();
    if (token.kind === 'operator' && token.text !== '=' && token.text !== '=~' && token.text !== '!~') return token.text as BinaryOp;
    const word = lower(token);
    if (WORD_OPERATORS.has(word)) return word as BinaryOp;
    return undefined;
  }

  private parseBinaryModifiers(op: BinaryOp): { returnBool: boolean; matching: VectorMatching | undefined; boolToken?: Token } {
    let returnBool = false;
    let boolToken: Token | undefined;
    if (this.isKeyword('bool')) {
      boolToken = this.next();
      returnBool = true;
    }
    let matching: VectorMatching | undefined;
    const ensure = (): VectorMatching => {
      matching ??= { card: 'one-to-one', matchingLabels: [], on: false, include: [], explicit: false, fillLeft: undefined, fillRight: undefined };
      return matching;
    };
    if (this.isKeyword('on') || this.isKeyword('ignoring')) {
      const m = ensure();
      m.on = lower(this.next()) === 'on';
      m.explicit = true;
      m.matchingLabels = this.parseLabelList('grouping opts');
      if (this.isKeyword('group_left') || this.isKeyword('group_right')) {
        m.card = lower(this.next()) === 'group_left' ? 'many-to-one' : 'one-to-many';
        if (this.isPunct('(')) m.include = this.parseLabelList('grouping opts');
      }
    } else if (this.isKeyword('group_left') || this.isKeyword('group_right')) {
      throw this.unexpected(this.peek());
    }
    while ((this.isKeyword('fill') || this.isKeyword('fill_left') || this.isKeyword('fill_right')) && this.isPunct('(', 1)) {
      const which = lower(this.next());
      this.expectPunct('(', 'fill modifier');
      const value = this.parseSignedNumber('fill modifier');
      this.expectPunct(')', 'fill modifier');
      const m = ensure();
      if (which !== 'fill_right') m.fillLeft = value;
      if (which !== 'fill_left') m.fillRight = value;
    }
    if (SET_OPERATORS.has(op) && matching !== undefined && matching.card === 'one-to-one') matching.card = 'many-to-many';
    return { returnBool, matching, boolToken };
  }

  private parseSignedNumber(context: string): number {
    let sign = 1;
    while (this.peek().kind === 'operator' && (this.peek().text === '-' || this.peek().text === '+')) {
      if (this.next().text === '-') sign = -sign;
    }
    const token = this.peek();
    const value = this.numberValue(token);
    if (value === undefined) throw this.unexpected(token, context, 'number');
    this.next();
    return sign * value;
  }

  private buildBinary(op: BinaryOp, lhs: Expr, rhs: Expr, modifiers: { returnBool: boolean; matching: VectorMatching | undefined; boolToken?: Token }, opToken: Token): Expr {
    const pos = { start: lhs.pos.start, end: rhs.pos.end };
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    const isComparison = COMPARISONS.has(op);
    if (modifiers.returnBool && !isComparison) throw this.error('bool modifier can only be used on comparison operators', pos);
    if ((lt !== 'scalar' && lt !== 'vector') || (rt !== 'scalar' && rt !== 'vector')) {
      throw this.error('binary expression must contain only scalar and instant vector types', pos);
    }
    if (isComparison && !modifiers.returnBool && lt === 'scalar' && rt === 'scalar') {
      throw this.error('comparisons between scalars must use BOOL modifier', pos);
    }
    const bothVectors = lt === 'vector' && rt === 'vector';
    let matching = modifiers.matching;
    if (matching !== undefined && !bothVectors && (matching.explicit || matching.card !== 'one-to-one')) {
      throw this.error('vector matching only allowed between instant vectors', pos);
    }
    if (SET_OPERATORS.has(op)) {
      if (lt === 'scalar' || rt === 'scalar') throw this.error(`set operator "${op}" not allowed in binary scalar expression`, pos);
      if (matching !== undefined && (matching.card === 'many-to-one' || matching.card === 'one-to-many')) {
        throw this.error(`no grouping allowed for "${op}" operation`, pos);
      }
    }
    if (bothVectors) {
      matching ??= {
        card: SET_OPERATORS.has(op) ? 'many-to-many' : 'one-to-one',
        matchingLabels: [],
        on: false,
        include: [],
        explicit: false,
        fillLeft: undefined,
        fillRight: undefined,
      };
      if (matching.on) {
        for (const name of matching.include) {
          if (matching.matchingLabels.includes(name)) throw this.error(`label "${name}" must not occur in ON and GROUP clause at once`, pos);
        }
      }
    } else matching = undefined;
    void opToken;
    return { type: 'BinaryExpr', op, lhs, rhs, returnBool: modifiers.returnBool, matching, pos };
  }

  private parseUnary(): Expr {
    const token = this.peek();
    if (token.kind === 'operator' && (token.text === '-' || token.text === '+')) {
      this.next();
      const operand = this.parseBinary(PRECEDENCE['^']);
      const type = typeOf(operand);
      if (type !== 'scalar' && type !== 'vector') {
        throw this.error(`unary expression only allowed on expressions of type scalar or instant vector, got "${documentedType(type)}"`, { start: token.pos.start, end: operand.pos.end });
      }
      const pos = { start: token.pos.start, end: operand.pos.end };
      if (operand.type === 'NumberLiteral') {
        return { type: 'NumberLiteral', value: token.text === '-' ? -operand.value : operand.value, pos };
      }
      return { type: 'UnaryExpr', op: token.text as '-' | '+', expr: operand, pos };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private numberValue(token: Token): number | undefined {
    if (token.kind === 'number') return parseNumber(token.text);
    if (token.kind === 'duration') return this.durationSeconds(token);
    if (token.kind === 'identifier') {
      const word = token.text.toLowerCase();
      if (word === 'inf') return Infinity;
      if (word === 'nan') return NaN;
    }
    return undefined;
  }

  private durationSeconds(token: Token): number {
    try {
      return Number(parsePrometheusDuration(token.text) / 1_000_000n) / 1000;
    } catch (error) {
      throw this.error((error as Error).message, token.pos);
    }
  }

  private parsePrimary(): Expr {
    const token = this.peek();
    const number = this.numberValue(token);
    if (number !== undefined) {
      this.next();
      return { type: 'NumberLiteral', value: number, pos: token.pos };
    }
    if (token.kind === 'string') {
      this.next();
      return { type: 'StringLiteral', value: this.unquote(token), pos: token.pos };
    }
    if (token.kind === 'punct' && token.text === '(') {
      this.next();
      if (this.peek().kind === 'eof') throw this.error('unclosed left parenthesis', this.peek().pos);
      const inner = this.parseBinary(0);
      const close = this.expectPunct(')', 'paren expression', '")"');
      return { type: 'ParenExpr', expr: inner, pos: { start: token.pos.start, end: close.pos.end } };
    }
    if (token.kind === 'punct' && token.text === '{') return this.parseVectorSelector(undefined, token);
    if (token.kind === 'identifier' || token.kind === 'metric identifier') {
      const word = token.text.toLowerCase();
      if (token.kind === 'identifier' && AGGREGATORS.has(word as AggregateOp) && (this.isPunct('(', 1) || this.isKeyword('by', 1) || this.isKeyword('without', 1))) {
        return this.parseAggregate(word as AggregateOp);
      }
      if (token.kind === 'identifier' && RESERVED.has(word)) throw this.unexpected(token);
      if (token.kind === 'identifier' && this.isPunct('(', 1)) return this.parseCall();
      if (token.kind === 'identifier' && (RESERVED.has(word) || AGGREGATORS.has(word as AggregateOp))) throw this.unexpected(token);
      this.next();
      return this.parseVectorSelector(token.text, token);
    }
    if (token.kind === 'punct' && token.text === ')') throw this.error("unexpected right parenthesis ')'", token.pos);
    throw this.unexpected(token);
  }

  private unquote(token: Token): string {
    try {
      return unquoteGoString(token.text);
    } catch {
      throw this.error(`invalid syntax in string ${token.text}`, token.pos);
    }
  }

  private parseCall(): Expr {
    const nameToken = this.next();
    const signature = FUNCTIONS.get(nameToken.text);
    if (signature === undefined) throw this.error(`unknown function with name ${JSON.stringify(nameToken.text)}`, nameToken.pos);
    this.next(); // (
    const args: Expr[] = [];
    if (!this.isPunct(')')) {
      for (;;) {
        if (this.peek().kind === 'eof') throw this.error('unclosed left parenthesis', this.peek().pos);
        // info()'s second argument selects info series and may consist of matchers that match empty.
        this.allowEmptySelector = signature.name === 'info' && args.length === 1;
        args.push(this.parseBinary(0));
        this.allowEmptySelector = false;
        if (this.isPunct(',')) {
          this.next();
          if (this.isPunct(')')) throw this.unexpected(this.peek(), 'function call arguments', 'expression');
          continue;
        }
        break;
      }
    }
    const close = this.expectPunct(')', 'function call arguments', '")"');
    const pos = { start: nameToken.pos.start, end: close.pos.end };
    const expected = signature.argTypes.length;
    if (signature.variadic === 0) {
      if (expected !== args.length) {
        throw this.error(`expected ${expected} argument(s) in call to "${signature.name}", got ${args.length}`, pos);
      }
    } else {
      const minimum = expected - 1;
      if (minimum > args.length) {
        throw this.error(`expected at least ${minimum} argument(s) in call to "${signature.name}", got ${args.length}`, pos);
      }
      const maximum = minimum + signature.variadic;
      if (signature.variadic > 0 && maximum < args.length) {
        throw this.error(`expected at most ${maximum} argument(s) in call to "${signature.name}", got ${args.length}`, pos);
      }
    }
    args.forEach((arg, i) => {
      const argType = signature.argTypes[Math.min(i, expected - 1)]!;
      this.expectType(arg, argType, `call to function "${signature.name}"`);
    });
    return { type: 'Call', func: signature.name, args, pos };
  }

  private expectType(expr: Expr, want: ValueType, context: string): void {
    const got = typeOf(expr);
    if (got !== want) {
      throw this.error(`expected type ${documentedType(want)} in ${context}, got ${documentedType(got)}`, expr.pos);
    }
  }

  private parseAggregate(op: AggregateOp): Expr {
    const opToken = this.next();
    let grouping: string[] = [];
    let without = false;
    let hasGrouping = false;
    const takeGrouping = (): void => {
      without = lower(this.next()) === 'without';
      grouping = this.parseLabelList('grouping opts');
      hasGrouping = true;
    };
    if (this.isKeyword('by') || this.isKeyword('without')) takeGrouping();
    const open = this.peek();
    if (!this.isPunct('(')) throw this.unexpected(open, 'aggregation', '"("');
    this.next();
    const args: Expr[] = [];
    if (!this.isPunct(')')) {
      for (;;) {
        if (this.peek().kind === 'eof') throw this.error('unclosed left parenthesis', this.peek().pos);
        args.push(this.parseBinary(0));
        if (this.isPunct(',')) {
          this.next();
          continue;
        }
        break;
      }
    }
    const close = this.expectPunct(')', 'aggregation', '")"');
    let end = close.pos.end;
    if (this.isKeyword('by') || this.isKeyword('without')) {
      if (hasGrouping) throw this.unexpected(this.peek());
      takeGrouping();
      end = this.tokens[this.index - 1]!.pos.end;
    }
    const pos = { start: opToken.pos.start, end };
    const wanted = PARAMETRIC.has(op) ? 2 : 1;
    if (args.length !== wanted) {
      throw this.error(`wrong number of arguments for aggregate expression provided, expected ${wanted}, got ${args.length}`, pos);
    }
    const param = wanted === 2 ? args[0] : undefined;
    const expr = args[wanted - 1]!;
    if (param !== undefined) this.expectType(param, op === 'count_values' ? 'string' : 'scalar', 'aggregation parameter');
    this.expectType(expr, 'vector', 'aggregation expression');
    return { type: 'AggregateExpr', op, expr, param, grouping, without, hasGrouping, pos };
  }

  /** `(a, b, "c.d")` after by/without/on/ignoring/group_left. */
  private parseLabelList(context: string): string[] {
    this.expectPunct('(', context);
    const labels: string[] = [];
    while (!this.isPunct(')')) {
      const token = this.peek();
      if (token.kind === 'identifier') labels.push(token.text);
      else if (token.kind === 'string') labels.push(this.unquote(token));
      else if (token.kind === 'eof') throw this.error('unclosed left parenthesis', token.pos);
      else throw this.unexpected(token, context, 'label');
      this.next();
      if (this.isPunct(',')) this.next();
      else if (!this.isPunct(')')) throw this.unexpected(this.peek(), context, '"," or ")"');
    }
    this.next();
    return labels;
  }

  private parseVectorSelector(name: string | undefined, first: Token): Expr {
    const matchers: MetricLabelMatcher[] = [];
    let end = first.pos.end;
    let braceName: string | undefined;
    if (this.isPunct('{')) {
      this.next();
      for (;;) {
        const token = this.peek();
        if (token.kind === 'punct' && token.text === '}') {
          end = this.next().pos.end;
          break;
        }
        if (token.kind === 'eof') throw this.error('unexpected end of input inside braces', token.pos);
        let labelName: string;
        if (token.kind === 'identifier') labelName = token.text;
        else if (token.kind === 'string') labelName = this.unquote(token);
        else throw this.unexpected(token, 'label matching', 'label matching operator');
        this.next();
        const opToken = this.peek();
        const isOp = opToken.kind === 'operator' && ['=', '!=', '=~', '!~'].includes(opToken.text);
        if (!isOp && token.kind === 'string' && (this.isPunct(',') || this.isPunct('}'))) {
          if (name !== undefined || braceName !== undefined) {
            throw this.error(`metric name must not be set twice: ${JSON.stringify(name ?? braceName)} or ${JSON.stringify(labelName)}`, token.pos);
          }
          braceName = labelName;
          matchers.push({ name: '__name__', type: '=', value: labelName });
        } else {
          if (!isOp) throw this.unexpected(opToken, 'label matching', 'label matching operator');
          this.next();
          const valueToken = this.peek();
          if (valueToken.kind !== 'string') throw this.unexpected(valueToken, 'label matching', 'string');
          this.next();
          const value = this.unquote(valueToken);
          const type = opToken.text as MetricMatchType;
          if (type === '=~' || type === '!~') {
            try {
              compileAnchoredRegex(value);
            } catch (error) {
              throw this.error((error as Error).message, valueToken.pos);
            }
          }
          matchers.push({ name: labelName, type, value });
        }
        if (this.isPunct(',')) this.next();
        else if (!this.isPunct('}')) {
          throw this.unexpected(this.peek(), 'label matching', '"," or "}"');
        }
      }
    }
    if (name !== undefined) {
      const clash = matchers.find((m) => m.name === '__name__' && m.type === '=');
      if (clash !== undefined && braceName === undefined) {
        throw this.error(`metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(clash.value)}`, { start: first.pos.start, end });
      }
      matchers.unshift({ name: '__name__', type: '=', value: name });
    }
    const pos = { start: first.pos.start, end };
    if (!this.allowEmptySelector && !matchers.some((m) => !matchesEmpty(m))) throw this.error('vector selector must contain at least one non-empty matcher', pos);
    const selector: VectorSelector = { type: 'VectorSelector', name: name ?? braceName, matchers, offsetMs: 0, at: undefined, pos };
    return selector;
  }

  // ---- postfix: [range], [range:step], offset, @ ----

  private parsePostfix(expr: Expr): Expr {
    for (;;) {
      if (this.isPunct('[')) expr = this.parseRangeOrSubquery(expr);
      else if (this.isKeyword('offset')) expr = this.parseOffset(expr);
      else if (this.peek().kind === 'punct' && this.peek().text === '@') expr = this.parseAt(expr);
      else if ((this.isKeyword('anchored') || this.isKeyword('smoothed')) && (expr.type === 'MatrixSelector' || expr.type === 'VectorSelector')) {
        const word = lower(this.next()) as 'anchored' | 'smoothed';
        const pos = { start: expr.pos.start, end: this.tokens[this.index - 1]!.pos.end };
        if (expr.type === 'MatrixSelector') expr = { ...expr, modifier: word, pos };
        else expr = { ...expr, smoothed: word === 'smoothed', pos };
      } else return expr;
    }
  }

  private parseRangeOrSubquery(expr: Expr): Expr {
    const open = this.next();
    const range = this.parseDurationExpr('range');
    if (this.isPunct(':')) {
      this.next();
      let step: DurationExpr | undefined;
      if (!this.isPunct(']')) step = this.parseDurationExpr('subquery step');
      const close = this.expectPunct(']', 'subquery selector', '"]"');
      const type = typeOf(expr);
      const pos = { start: expr.pos.start, end: close.pos.end };
      if (type !== 'vector') throw this.error(`subquery is only allowed on instant vector, got ${type}`, pos);
      const rangeMs = this.constantMs(range);
      const stepMs = step === undefined ? 0 : this.constantMs(step);
      if (rangeMs !== undefined && rangeMs <= 0) throw this.error('subquery range must be greater than 0', pos);
      if (stepMs !== undefined && step !== undefined && stepMs <= 0) throw this.error('subquery step must be greater than 0', pos);
      return {
        type: 'SubqueryExpr',
        expr,
        rangeMs: rangeMs ?? 0,
        stepMs: stepMs ?? 0,
        offsetMs: 0,
        at: undefined,
        pos,
        ...(rangeMs === undefined ? { rangeExpr: range } : {}),
        ...(stepMs === undefined && step !== undefined ? { stepExpr: step } : {}),
      };
    }
    const close = this.expectPunct(']', 'range selector', '"]"');
    const pos = { start: expr.pos.start, end: close.pos.end };
    if (expr.type !== 'VectorSelector') {
      void open;
      throw this.error('ranges only allowed for vector selectors', pos);
    }
    if (expr.offsetMs !== 0 || expr.offsetExpr !== undefined) throw this.error('no offset modifiers allowed before range', pos);
    if (expr.at !== undefined) throw this.error('no @ modifiers allowed before range', pos);
    const rangeMs = this.constantMs(range);
    if (rangeMs !== undefined && rangeMs <= 0) throw this.error(`range selector must be positive, got ${rangeMs}ms`, pos);
    return {
      type: 'MatrixSelector',
      vector: expr,
      rangeMs: rangeMs ?? 0,
      modifier: undefined,
      pos,
      ...(rangeMs === undefined ? { rangeExpr: range } : {}),
    };
  }

  private constantMs(expr: DurationExpr): number | undefined {
    const seconds = evaluateDuration(expr, undefined);
    return seconds === undefined ? undefined : Math.trunc(Math.round(seconds * 1e6) / 1e3);
  }

  /** The selector or subquery an offset/@ applies to (through a matrix selector to its vector). */
  private modifierTarget(expr: Expr, what: string): void {
    if (expr.type !== 'VectorSelector' && expr.type !== 'MatrixSelector' && expr.type !== 'SubqueryExpr') {
      throw this.error(`${what} modifier must be preceded by an instant vector selector or range vector selector or a subquery`, expr.pos);
    }
  }

  private parseOffset(expr: Expr): Expr {
    const offsetToken = this.next();
    this.modifierTarget(expr, 'offset');
    const duration = this.parseOffsetDuration();
    const constant = this.constantMs(duration);
    const end = this.tokens[this.index - 1]!.pos.end;
    const extra = constant === undefined ? { offsetExpr: duration } : {};
    const offsetMs = constant ?? 0;
    const already = (node: { offsetMs: number; offsetExpr?: DurationExpr }): boolean => node.offsetMs !== 0 || node.offsetExpr !== undefined;
    void offsetToken;
    if (expr.type === 'MatrixSelector') {
      if (already(expr.vector)) throw this.error('offset may not be set multiple times', { start: expr.pos.start, end });
      return { ...expr, vector: { ...expr.vector, offsetMs, ...extra }, pos: { start: expr.pos.start, end } };
    }
    const node = expr as VectorSelector | Extract<Expr, { type: 'SubqueryExpr' }>;
    if (already(node)) throw this.error('offset may not be set multiple times', { start: expr.pos.start, end });
    return { ...node, offsetMs, ...extra, pos: { start: expr.pos.start, end } } as Expr;
  }

  /** `offset` takes one term: a number or duration, `step()`, `min_of(…)`, or a parenthesized expression. */
  private parseOffsetDuration(): DurationExpr {
    const token = this.peek();
    if (token.kind === 'operator' && (token.text === '-' || token.text === '+')) {
      this.next();
      return { kind: 'unary', op: token.text as '-' | '+', expr: this.parseDurationAtom('offset') };
    }
    return this.parseDurationAtom('offset');
  }

  private parseAt(expr: Expr): Expr {
    const atToken = this.next();
    this.modifierTarget(expr, '@');
    let at: AtModifier;
    const token = this.peek();
    if ((this.isKeyword('start') || this.isKeyword('end')) && this.isPunct('(', 1)) {
      this.next();
      this.next();
      this.expectPunct(')', '@ modifier', '")"');
      at = { kind: lower(token) as 'start' | 'end' };
    } else {
      let sign = 1;
      while (this.peek().kind === 'operator' && (this.peek().text === '-' || this.peek().text === '+')) {
        if (this.next().text === '-') sign = -sign;
      }
      const valueToken = this.peek();
      const value = this.numberValue(valueToken);
      if (value === undefined) throw this.unexpected(valueToken, '@', 'timestamp');
      this.next();
      const seconds = sign * value;
      if (!Number.isFinite(seconds) || Math.abs(seconds * 1000) > 9.2e15) {
        throw this.error(`timestamp out of bounds for @ modifier: ${seconds}`, { start: atToken.pos.start, end: valueToken.pos.end });
      }
      at = { kind: 'timestamp', timestampMs: Math.round(seconds * 1000) };
    }
    const end = this.tokens[this.index - 1]!.pos.end;
    const target = expr.type === 'MatrixSelector' ? expr.vector : (expr as VectorSelector);
    if (target.at !== undefined) throw this.error('@ <timestamp> may not be set multiple times', { start: expr.pos.start, end });
    if (expr.type === 'MatrixSelector') return { ...expr, vector: { ...expr.vector, at }, pos: { start: expr.pos.start, end } };
    return { ...expr, at, pos: { start: expr.pos.start, end } } as Expr;
  }

  // ---- duration expressions ----

  private parseDurationExpr(context: string, minPrecedence = 0): DurationExpr {
    let lhs = this.parseDurationUnary(context);
    for (;;) {
      const token = this.peek();
      if (token.kind !== 'operator' || !['+', '-', '*', '/', '%', '^'].includes(token.text)) break;
      const op = token.text as '+' | '-' | '*' | '/' | '%' | '^';
      const precedence = PRECEDENCE[op];
      if (precedence < minPrecedence) break;
      this.next();
      const rhs = this.parseDurationExpr(context, op === '^' ? precedence : precedence + 1);
      lhs = { kind: 'binary', op, lhs, rhs };
    }
    return lhs;
  }

  private parseDurationUnary(context: string): DurationExpr {
    const token = this.peek();
    if (token.kind === 'operator' && (token.text === '-' || token.text === '+')) {
      this.next();
      return { kind: 'unary', op: token.text as '-' | '+', expr: this.parseDurationExpr(context, PRECEDENCE['^']) };
    }
    return this.parseDurationAtom(context);
  }

  private parseDurationAtom(context: string): DurationExpr {
    const token = this.peek();
    if (token.kind === 'duration') {
      this.next();
      return { kind: 'literal', seconds: this.durationSeconds(token) };
    }
    if (token.kind === 'number') {
      this.next();
      return { kind: 'literal', seconds: parseNumber(token.text) };
    }
    if (token.kind === 'punct' && token.text === '(') {
      this.next();
      const inner = this.parseDurationExpr(context);
      this.expectPunct(')', context, '")"');
      return inner;
    }
    const word = lower(token);
    if ((word === 'step' || word === 'range') && this.isPunct('(', 1) && this.isPunct(')', 2)) {
      this.next();
      this.next();
      this.next();
      return { kind: word };
    }
    if ((word === 'min_of' || word === 'max_of') && this.isPunct('(', 1)) {
      this.next();
      this.next();
      const a = this.parseDurationExpr(context);
      this.expectPunct(',', context, '","');
      const b = this.parseDurationExpr(context);
      this.expectPunct(')', context, '")"');
      return { kind: 'call', func: word, args: [a, b] };
    }
    if (token.kind === 'eof' && context === 'range') throw this.error('unexpected end of input in duration expression', token.pos);
    throw this.unexpected(token, context === 'range' ? 'duration expression' : context, 'duration');
  }
}

/** Prometheus reads numbers with Go's ParseInt(base 0) first (hex, octal), then ParseFloat. */
function parseNumber(text: string): number {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return Number.parseInt(text.slice(2), 16);
  if (/^0[0-7]+$/.test(text)) return Number.parseInt(text.slice(1), 8);
  return Number(text);
}
