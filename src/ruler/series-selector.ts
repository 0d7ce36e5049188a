// PromQL series selectors for reading recorded samples back: `metric`, `metric{a="b", c=~"d.*"}` or
// `{__name__="metric", …}`. Only selectors: the recorded-sample API is a lookup, not a PromQL engine.

import { compileRegex, matchesWhole, RegexSyntaxError } from '../regex/index.ts';
import type { LabelMatcher, MatchType } from '../store/types.ts';

export class SelectorError extends Error {
  readonly position: number;
  constructor(message: string, position: number) {
    super(message);
    this.name = 'SelectorError';
    this.position = position;
  }
}

const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;

function skipSpace(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}

function readString(text: string, i: number): { value: string; end: number } {
  const quote = text[i];
  if (quote === '`') {
    const end = text.indexOf('`', i + 1);
    if (end < 0) throw new SelectorError(`unterminated raw string at position ${i}`, i);
    return { value: text.slice(i + 1, end), end: end + 1 };
  }
  if (quote !== '"' && quote !== "'") throw new SelectorError(`expected a quoted label value at position ${i}`, i);
  let j = i + 1;
  let raw = '';
  while (j < text.length && text[j] !== quote) {
    if (text[j] === '\\') {
      raw += text.slice(j, j + 2);
      j += 2;
    } else raw += text[j++];
  }
  if (j >= text.length) throw new SelectorError(`unterminated string at position ${i}`, i);
  try {
    return { value: JSON.parse(`"${quote === "'" ? raw.replace(/\\'/g, "'").replace(/"/g, '\\"') : raw}"`) as string, end: j + 1 };
  } catch {
    throw new SelectorError(`invalid escape in string at position ${i}`, i);
  }
}

/** Parses a selector into matchers (the metric name becomes `__name__="…"`). */
export function parseSeriesSelector(text: string): LabelMatcher[] {
  const matchers: LabelMatcher[] = [];
  let i = skipSpace(text, 0);
  METRIC_NAME.lastIndex = i;
  const name = METRIC_NAME.exec(text);
  if (name !== null) {
    matchers.push({ name: '__name__', type: '=', value: name[0] });
    i = skipSpace(text, METRIC_NAME.lastIndex);
  }
  if (text[i] === '{') {
    i = skipSpace(text, i + 1);
    while (text[i] !== '}') {
      LABEL_NAME.lastIndex = i;
      const label = LABEL_NAME.exec(text);
      if (label === null) throw new SelectorError(`expected a label name at position ${i}`, i);
      i = skipSpace(text, LABEL_NAME.lastIndex);
      const op = (['=~', '!~', '!=', '='] as MatchType[]).find((candidate) => text.startsWith(candidate, i));
      if (op === undefined) throw new SelectorError(`expected one of = != =~ !~ at position ${i}`, i);
      i = skipSpace(text, i + op.length);
      const { value, end } = readString(text, i);
      if (op === '=~' || op === '!~') {
        try {
          compileRegex(value, 'matcher');
        } catch (error) {
          if (!(error instanceof RegexSyntaxError)) throw error;
          throw new SelectorError(`invalid regex ${JSON.stringify(value)}: ${error.message}`, i);
        }
      }
      matchers.push({ name: label[0], type: op, value });
      i = skipSpace(text, end);
      if (text[i] === ',') i = skipSpace(text, i + 1);
      else if (text[i] !== '}') throw new SelectorError(`expected ',' or '}' at position ${i}`, i);
    }
    i = skipSpace(text, i + 1);
  }
  if (i !== text.length) throw new SelectorError(`unexpected ${JSON.stringify(text.slice(i, i + 10))} at position ${i}: only series selectors are supported for recorded rules`, i);
  if (matchers.length === 0) throw new SelectorError('empty selector: give a metric name or label matchers', 0);
  if (!matchers.some((m) => (m.type === '=' && m.value !== '') || (m.type === '=~' && !matchesWhole(m.value, '')))) {
    throw new SelectorError('vector selector must contain at least one non-empty matcher', 0);
  }
  return matchers;
}

/**
 * Evaluates a constant arithmetic expression (`1+1`, `(2 * 3) / 4`), or returns undefined when the
 * text is not one. Grafana's Prometheus data source checks health with `1+1`; answering it lets a
 * data source pointed at the recorded samples pass "Save & test".
 */
export function evaluateConstant(text: string): number | undefined {
  if (!/^[\d\s.+\-*/()eE]+$/.test(text) || !/\d/.test(text)) return undefined;
  let i = 0;
  const skip = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const primary = (): number | undefined => {
    skip();
    if (text[i] === '(') {
      i++;
      const value = sum();
      skip();
      if (value === undefined || text[i] !== ')') return undefined;
      i++;
      return value;
    }
    if (text[i] === '-' || text[i] === '+') {
      const sign = text[i++] === '-' ? -1 : 1;
      const value = primary();
      return value === undefined ? undefined : sign * value;
    }
    const match = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/.exec(text.slice(i));
    if (match === null) return undefined;
    i += match[0].length;
    return Number(match[0]);
  };
  const product = (): number | undefined => {
    let value = primary();
    for (;;) {
      skip();
      const op = text[i];
      if (value === undefined || (op !== '*' && op !== '/')) return value;
      i++;
      const right = primary();
      if (right === undefined) return undefined;
      value = op === '*' ? value * right : value / right;
    }
  };
  const sum = (): number | undefined => {
    let value = product();
    for (;;) {
      skip();
      const op = text[i];
      if (value === undefined || (op !== '+' && op !== '-')) return value;
      i++;
      const right = product();
      if (right === undefined) return undefined;
      value = op === '+' ? value + right : value - right;
    }
  };
  const value = sum();
  skip();
  return i === text.length ? value : undefined;
}
