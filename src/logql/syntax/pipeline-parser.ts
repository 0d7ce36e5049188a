// Parsing of stream selectors and log pipelines: line filters, parsers, label filters, formatters,
// drop/keep, and the `| unwrap` that ends a pipeline inside a range aggregation.

import type {
  ComparisonOp,
  ExtractionParam,
  LabelFilter,
  LabelFormatOp,
  LabelMatcher,
  LabelSelection,
  LineFilterOp,
  LineFilterStage,
  LineFilterValue,
  MatchType,
  Stage,
  Unwrap,
  UnwrapConversion,
} from './ast.ts';
import { semanticError } from './errors.ts';
import type { TokenType } from './lexer.ts';
import { NumberSyntaxError, parseGoFloat } from './numbers.ts';
import { patternParserError } from './pattern-syntax.ts';
import { checkRegex } from './regex-syntax.ts';
import type { TokenCursor } from './token-cursor.ts';
import { regexpParserError } from './validation.ts';

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

function makeMatcher(name: string, type: MatchType, value: string): LabelMatcher {
  if (type === '=~' || type === '!~') {
    // Prometheus compiles matchers as `^(?s:…)$`, so its messages quote that wrapped form.
    const check = checkRegex(`^(?s:${value})$`);
    if (check.error !== undefined) throw semanticError(check.error);
  }
  return { name, type, value };
}

/** NUMBER, `+NUMBER` or `-NUMBER`. Invalid floats are deferred (metric literal) or immediate. */
export function parseLiteralValue(c: TokenCursor, deferError: boolean): number {
  let negative = false;
  if (c.at('ADD') || c.at('SUB')) negative = c.advance().type === 'SUB';
  const token = c.expect('NUMBER');
  let value = 0;
  try {
    value = parseGoFloat(token.value);
  } catch (error) {
    if (!(error instanceof NumberSyntaxError)) throw error;
    const message = `unable to parse literal as a float: ${error.message}`;
    if (!deferError) throw semanticError(message);
    c.deferredErrors.push(message);
  }
  return negative ? -value : value;
}

export function parseOptionalUnwrap(c: TokenCursor): Unwrap | undefined {
  if (!(c.at('PIPE') && c.at('UNWRAP', 1))) return undefined;
  c.advance();
  c.advance();
  let conversion: UnwrapConversion = '';
  let label: string;
  const convert = CONVERSIONS[c.peek().type];
  if (convert !== undefined) {
    c.advance();
    conversion = convert;
    c.expect('OPEN_PARENTHESIS');
    label = c.expect('IDENTIFIER').value;
    c.expect('CLOSE_PARENTHESIS');
  } else {
    label = c.expect('IDENTIFIER').value;
  }
  const postFilters: LabelFilter[] = [];
  while (c.at('PIPE')) {
    c.advance();
    postFilters.push(parseLabelFilter(c));
  }
  return { label, conversion, postFilters };
}

/** `{a="b", c=~"d"}` or `{}`. */
export function parseSelectorMatchers(c: TokenCursor): LabelMatcher[] {
  c.expect('OPEN_BRACE');
  const matchers: LabelMatcher[] = [];
  if (c.at('CLOSE_BRACE')) {
    c.advance();
    return matchers;
  }
  if (!c.at('IDENTIFIER')) throw c.unexpected(['IDENTIFIER', 'CLOSE_BRACE']);
  for (;;) {
    matchers.push(parseMatcher(c));
    if (c.at('COMMA')) {
      c.advance();
      continue;
    }
    c.expect('CLOSE_BRACE', ['CLOSE_BRACE', 'COMMA']);
    return matchers;
  }
}

function parseMatcher(c: TokenCursor): LabelMatcher {
  const name = c.expect('IDENTIFIER').value;
  const type = MATCH_OPS[c.peek().type];
  if (type === undefined) throw c.unexpected(['EQ', 'RE', 'NRE', 'NEQ']);
  c.advance();
  const value = c.expect('STRING').value;
  return makeMatcher(name, type, value);
}

/** Pipeline stages until something that cannot continue it; stops before `| unwrap` if allowed. */
export function parsePipeline(c: TokenCursor, allowUnwrap: boolean): Stage[] {
  const stages: Stage[] = [];
  for (;;) {
    const filterOp = LINE_FILTER_OPS[c.peek().type];
    if (filterOp !== undefined) {
      const filter = parseLineFilter(c, filterOp);
      // A negative filter with `or` means "none of", which is exactly a chain of single filters;
      // storing it as such keeps one form per meaning (and is how Loki prints it).
      if (filter.op === '!=' || filter.op === '!~' || filter.op === '!>') {
        for (const value of filter.values) stages.push({ kind: 'lineFilter', op: filter.op, values: [value] });
      } else {
        stages.push(filter);
      }
      continue;
    }
    if (!c.at('PIPE')) return stages;
    if (allowUnwrap && c.at('UNWRAP', 1)) return stages;
    c.advance();
    stages.push(parsePipeStage(c));
  }
}

function parseLineFilterValue(c: TokenCursor): LineFilterValue {
  if (c.at('STRING')) return { kind: 'text', value: c.advance().value };
  if (c.at('IP')) {
    c.advance();
    c.expect('OPEN_PARENTHESIS');
    const pattern = c.expect('STRING').value;
    c.expect('CLOSE_PARENTHESIS');
    return { kind: 'ip', pattern };
  }
  throw c.unexpected(['STRING', 'IP']);
}

function parseLineFilter(c: TokenCursor, op: LineFilterOp): LineFilterStage {
  c.advance();
  const values = [parseLineFilterValue(c)];
  while (c.at('OR')) {
    c.advance();
    values.push(parseLineFilterValue(c));
  }
  return { kind: 'lineFilter', op, values };
}

function parsePipeStage(c: TokenCursor): Stage {
  const token = c.peek();
  switch (token.type) {
    case 'LOGFMT': {
      c.advance();
      let strict = false;
      let keepEmpty = false;
      while (c.at('FUNCTION_FLAG')) {
        const flag = c.advance().value;
        if (flag === '--strict') strict = true;
        else keepEmpty = true;
      }
      return { kind: 'logfmt', strict, keepEmpty, params: parseExtractionParams(c) };
    }
    case 'JSON':
      c.advance();
      return { kind: 'json', params: parseExtractionParams(c) };
    case 'UNPACK':
      c.advance();
      return { kind: 'unpack' };
    case 'REGEXP': {
      c.advance();
      const pattern = c.expect('STRING').value;
      const error = regexpParserError(pattern);
      if (error !== undefined) throw semanticError(`invalid regexp parser: ${error}`);
      return { kind: 'regexp', pattern };
    }
    case 'PATTERN': {
      c.advance();
      const pattern = c.expect('STRING').value;
      const error = patternParserError(pattern);
      if (error !== undefined) throw semanticError(`invalid pattern parser: ${error}`);
      return { kind: 'pattern', pattern };
    }
    case 'LINE_FMT':
      c.advance();
      return { kind: 'lineFormat', template: c.expect('STRING').value };
    case 'LABEL_FMT':
      c.advance();
      return { kind: 'labelFormat', ops: parseLabelFormatOps(c) };
    case 'DECOLORIZE':
      c.advance();
      return { kind: 'decolorize' };
    case 'DROP':
    case 'KEEP': {
      c.advance();
      const labels = parseLabelSelections(c);
      return token.type === 'DROP' ? { kind: 'drop', labels } : { kind: 'keep', labels };
    }
    default:
      return { kind: 'labelFilter', filter: parseLabelFilter(c) };
  }
}

function parseExtractionParams(c: TokenCursor): ExtractionParam[] {
  const params: ExtractionParam[] = [];
  if (!c.at('IDENTIFIER')) return params;
  for (;;) {
    const label = c.expect('IDENTIFIER').value;
    let expression = label;
    if (c.at('EQ')) {
      c.advance();
      expression = c.expect('STRING').value;
    }
    params.push({ label, expression });
    if (!c.at('COMMA')) return params;
    c.advance();
  }
}

function parseLabelFormatOps(c: TokenCursor): LabelFormatOp[] {
  const ops: LabelFormatOp[] = [];
  for (;;) {
    const dst = c.expect('IDENTIFIER').value;
    c.expect('EQ');
    if (c.at('IDENTIFIER')) ops.push({ kind: 'rename', dst, src: c.advance().value });
    else if (c.at('STRING')) ops.push({ kind: 'template', dst, template: c.advance().value });
    else throw c.unexpected(['IDENTIFIER', 'STRING']);
    if (!c.at('COMMA')) return ops;
    c.advance();
  }
}

function parseLabelSelections(c: TokenCursor): LabelSelection[] {
  const labels: LabelSelection[] = [];
  for (;;) {
    const name = c.expect('IDENTIFIER').value;
    const type = MATCH_OPS[c.peek().type];
    if (type !== undefined) {
      c.advance();
      labels.push({ name, matcher: makeMatcher(name, type, c.expect('STRING').value) });
    } else {
      labels.push({ name });
    }
    if (!c.at('COMMA')) return labels;
    c.advance();
  }
}

/**
 * Label filter expressions. `and` binds tighter than `or`; `,` and juxtaposition (`a b`) also
 * mean "and", but Loki's grammar gives them no precedence, so their right side extends over the
 * rest of the filter: `a, b or c` is `a and (b or c)`.
 */
export function parseLabelFilter(c: TokenCursor, minPrecedence = 0): LabelFilter {
  return c.nested(() => parseLabelFilterUnguarded(c, minPrecedence));
}

function parseLabelFilterUnguarded(c: TokenCursor, minPrecedence: number): LabelFilter {
  let left = parseLabelFilterPrimary(c);
  for (;;) {
    if (c.at('COMMA') || c.at('IDENTIFIER') || c.at('OPEN_PARENTHESIS')) {
      if (c.at('COMMA')) c.advance();
      const right = parseLabelFilter(c, 0);
      left = c.combine<LabelFilter>({ kind: 'and', left, right }, left, right);
      continue;
    }
    if (c.at('AND') && minPrecedence <= 2) {
      c.advance();
      const right = parseLabelFilter(c, 3);
      left = c.combine<LabelFilter>({ kind: 'and', left, right }, left, right);
      continue;
    }
    if (c.at('OR') && minPrecedence <= 1) {
      c.advance();
      const right = parseLabelFilter(c, 2);
      left = c.combine<LabelFilter>({ kind: 'or', left, right }, left, right);
      continue;
    }
    return left;
  }
}

function parseLabelFilterPrimary(c: TokenCursor): LabelFilter {
  if (c.at('OPEN_PARENTHESIS')) {
    c.advance();
    const inner = parseLabelFilter(c, 0);
    c.expect('CLOSE_PARENTHESIS', []);
    return inner;
  }
  const name = c.expect('IDENTIFIER').value;
  const opToken = c.peek();
  const matchType = MATCH_OPS[opToken.type];
  const comparison = COMPARISON_OPS[opToken.type];
  if (matchType === undefined && comparison === undefined) throw c.unexpected();
  c.advance();
  const value = c.peek();
  if (value.type === 'STRING' && matchType !== undefined) {
    c.advance();
    return { kind: 'string', matcher: makeMatcher(name, matchType, value.value) };
  }
  if (value.type === 'IP' && (opToken.type === 'EQ' || opToken.type === 'NEQ')) {
    c.advance();
    c.expect('OPEN_PARENTHESIS');
    const pattern = c.expect('STRING').value;
    c.expect('CLOSE_PARENTHESIS');
    return { kind: 'ip', name, op: opToken.type === 'EQ' ? '=' : '!=', pattern };
  }
  if (comparison === undefined) throw c.unexpected();
  if (value.type === 'DURATION') {
    c.advance();
    return { kind: 'duration', name, op: comparison, valueNs: value.durationNs as bigint };
  }
  if (value.type === 'BYTES') {
    c.advance();
    return { kind: 'bytes', name, op: comparison, valueBytes: value.bytes as number };
  }
  if (value.type === 'NUMBER' || value.type === 'ADD' || value.type === 'SUB') {
    return { kind: 'number', name, op: comparison, value: parseLiteralValue(c, false) };
  }
  throw c.unexpected();
}
