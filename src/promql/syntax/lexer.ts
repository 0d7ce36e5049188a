// PromQL tokens. Like Prometheus' lexer, identifiers inside `{…}` are label names (keywords are not
// special there), `:` inside `[…]` separates range and step, and a number directly followed by a unit
// is a duration (`5m`, `1h30m`, `500ms`).

import type { PositionRange } from './ast.ts';

export type TokenKind =
  | 'identifier'
  | 'metric identifier'
  | 'number'
  | 'duration'
  | 'string'
  | 'operator'
  | 'punct'
  | 'eof'
  | 'error';

export interface Token {
  kind: TokenKind;
  /** Source text (for strings: the quoted literal; for errors: the message). */
  text: string;
  pos: PositionRange;
}

const OPERATORS = ['</', '>/', '==', '!=', '<=', '>=', '=~', '!~', '+', '-', '*', '/', '%', '^', '<', '>', '='];
const PUNCTUATION = new Set(['(', ')', '{', '}', '[', ']', ',', ':', '@']);
const DURATION_UNITS = /^([0-9]+(ms|[smhdwy]))+/;

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

function isAlpha(ch: string | undefined): boolean {
  return ch !== undefined && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_');
}

function isAlphaNumeric(ch: string | undefined): boolean {
  return isAlpha(ch) || isDigit(ch);
}

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let braceDepth = 0;
  let bracketDepth = 0;
  const push = (kind: TokenKind, start: number, end: number, text = query.slice(start, end)): void => {
    tokens.push({ kind, text, pos: { start, end } });
  };
  while (pos < query.length) {
    const ch = query[pos]!;
    if (isSpace(ch)) {
      pos++;
      continue;
    }
    if (ch === '#') {
      while (pos < query.length && query[pos] !== '\n') pos++;
      continue;
    }
    const start = pos;
    if (ch === '"' || ch === "'" || ch === '`') {
      pos++;
      let closed = false;
      while (pos < query.length) {
        const c = query[pos]!;
        if (c === '\\' && ch !== '`') {
          pos += 2;
          continue;
        }
        if (c === '\n' && ch !== '`') break;
        pos++;
        if (c === ch) {
          closed = true;
          break;
        }
      }
      if (!closed) {
        push('error', start, query.length, ch === '`' ? 'unterminated raw string' : 'unterminated quoted string');
        return tokens;
      }
      push('string', start, pos);
      continue;
    }
    if (isDigit(ch) || (ch === '.' && isDigit(query[pos + 1]))) {
      const end = scanNumberOrDuration(query, pos);
      const text = query.slice(start, end);
      if (isAlphaNumeric(query[end]) || query[end] === '.') {
        let badEnd = end;
        while (isAlphaNumeric(query[badEnd]) || query[badEnd] === '.') badEnd++;
        push('error', start, badEnd, `bad number or duration syntax: ${JSON.stringify(query.slice(start, badEnd))}`);
        return tokens;
      }
      push(DURATION_UNITS.exec(text)?.[0] === text ? 'duration' : 'number', start, end);
      pos = end;
      continue;
    }
    if (isAlpha(ch) || (ch === ':' && braceDepth === 0 && bracketDepth === 0)) {
      const allowColon = braceDepth === 0 && bracketDepth === 0;
      while (pos < query.length && (isAlphaNumeric(query[pos]) || (allowColon && query[pos] === ':'))) pos++;
      const text = query.slice(start, pos);
      push(text.includes(':') ? 'metric identifier' : 'identifier', start, pos);
      continue;
    }
    const two = query.slice(pos, pos + 2);
    const operator = OPERATORS.find((op) => op === two) ?? OPERATORS.find((op) => op === ch);
    if (operator !== undefined) {
      pos += operator.length;
      push('operator', start, pos);
      continue;
    }
    if (ch === '}' && braceDepth === 0) {
      push('error', start, start + 1, "unexpected character: '}'");
      return tokens;
    }
    if (PUNCTUATION.has(ch)) {
      if (ch === '{') braceDepth++;
      else if (ch === '}') braceDepth = Math.max(0, braceDepth - 1);
      else if (ch === '[') bracketDepth++;
      else if (ch === ']') bracketDepth = Math.max(0, bracketDepth - 1);
      pos++;
      push('punct', start, pos);
      continue;
    }
    const codePoint = query.codePointAt(pos)!;
    const width = codePoint > 0xffff ? 2 : 1;
    const shown = ch === '!' ? "'!'" : `'${String.fromCodePoint(codePoint)}'`;
    push('error', start, start + width, `${braceDepth > 0 ? 'unexpected character inside braces' : 'unexpected character'}: ${shown}`);
    return tokens;
  }
  push('eof', query.length, query.length, '');
  return tokens;
}

/** End offset of a number (decimal, hex, exponent) or a duration (`1h30m`) starting at `start`. */
function scanNumberOrDuration(query: string, start: number): number {
  const rest = query.slice(start);
  const duration = DURATION_UNITS.exec(rest);
  if (duration !== null && !isAlphaNumeric(rest[duration[0].length]) && rest[duration[0].length] !== '.') {
    return start + duration[0].length;
  }
  const hex = /^0[xX][0-9a-fA-F]+/.exec(rest);
  if (hex !== null) return start + hex[0].length;
  const decimal = /^([0-9]*\.?[0-9]*)([eE][+-]?[0-9]+)?/.exec(rest)!;
  return start + decimal[0].length;
}
