// The LogQL lexer. It follows Loki's lexer (Go's text/scanner underneath) closely, because token
// boundaries decide what parses: `rate` is a keyword only when a `(` follows, `5m` is a DURATION but
// `5` alone is a NUMBER, `-1s` is one token while `-1` is SUB NUMBER, and error positions follow the
// scanner's (line 0 for tokens the lexer assembled by hand, such as `[5m]` and `|=`).

import { DurationSyntaxError, parseLokiDuration, parseByteSize, parsePrometheusDuration } from './durations.ts';
import { QuoteSyntaxError, unquoteGoString } from './quoting.ts';
import { FUNCTION_TOKENS, KEYWORD_TOKENS, type Token, type TokenType } from './tokens.ts';

export { tokenDisplayName, type Token, type TokenType } from './tokens.ts';

/** A lexing failure: the message is Loki's, the offset is where Loki's scanner points. */
export interface LexError {
  message: string;
  offset: number;
  lineKnown: boolean;
}

export interface LexResult {
  tokens: Token[];
  /** Set when lexing stopped early; `tokens` then holds everything before the bad token. */
  error?: LexError;
}

const IDENT_START = /[\p{L}_]/u;
const IDENT_PART = /[\p{L}\p{Nd}_]/u;
const UNICODE_NUMBER = /\p{N}/u;
const UNICODE_SPACE = /\s/u;
const GO_WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const DURATION_RUNES = new Set(['n', 'u', 'µ', 'm', 's', 'h', 'd', 'w', 'y']);
const BYTE_SIZE_RUNES = new Set(['B', 'i', 'k', 'K', 'M', 'G', 'T', 'P']);
const PARSER_FLAGS = new Set(['--strict', '--keep-empty']);
const REPLACEMENT_CHAR = '\uFFFD';
/** Loki's isFunction lookahead: optional space, then `(`, or `by (` / `without (`. */
const FUNCTION_CALL_AHEAD = /\s*(\(|by\s*\(|without\s*\()/iuy;

function isDecimal(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

function isHex(ch: string | undefined): boolean {
  return ch !== undefined && /^[0-9a-fA-F]$/.test(ch);
}

class LexFailure extends Error {
  readonly offset: number;
  readonly lineKnown: boolean;
  constructor(message: string, offset: number, lineKnown = true) {
    super(message);
    this.offset = offset;
    this.lineKnown = lineKnown;
  }
}

/** Character at a UTF-16 index, whole code point (identifiers may use any letter). */
function charAt(text: string, index: number): string | undefined {
  if (index >= text.length) return undefined;
  const codePoint = text.codePointAt(index) as number;
  return String.fromCodePoint(codePoint);
}

class Lexer {
  private readonly text: string;
  private pos = 0;

  constructor(text: string) {
    this.text = text;
  }

  private peek(at = this.pos): string | undefined {
    return charAt(this.text, at);
  }

  /** Go scanner's Scan(): one raw token (identifier, number, string, single char) or EOF. */
  private scanRaw(): { kind: 'ident' | 'number' | 'string' | 'char' | 'other' | 'eof'; start: number } {
    for (;;) {
      while (GO_WHITESPACE.has(this.text[this.pos] ?? '')) this.pos++;
      const start = this.pos;
      const ch = this.peek();
      if (ch === undefined) return { kind: 'eof', start };
      if (ch === REPLACEMENT_CHAR) throw new LexFailure('invalid UTF-8 encoding', start);
      if (ch === '\0') throw new LexFailure('invalid character NUL', start);
      if (IDENT_START.test(ch)) {
        this.pos += ch.length;
        for (let next = this.peek(); next !== undefined && IDENT_PART.test(next); next = this.peek()) {
          this.pos += next.length;
        }
        return { kind: 'ident', start };
      }
      if (isDecimal(ch) || (ch === '.' && isDecimal(this.text[this.pos + 1]))) {
        this.scanNumber(start);
        return { kind: 'number', start };
      }
      if (ch === '"' || ch === "'") {
        this.scanQuoted(start, ch);
        return { kind: ch === '"' ? 'string' : 'char', start };
      }
      if (ch === '`') {
        const end = this.text.indexOf('`', start + 1);
        if (end < 0) throw new LexFailure('literal not terminated', start);
        if (this.text.slice(start, end).includes(REPLACEMENT_CHAR)) throw new LexFailure('invalid UTF-8 encoding', start);
        this.pos = end + 1;
        return { kind: 'string', start };
      }
      if (ch === '/' && (this.text[this.pos + 1] === '/' || this.text[this.pos + 1] === '*')) {
        // Go-style comments are skipped by Loki's scanner, like whitespace.
        if (this.text[this.pos + 1] === '/') {
          const newline = this.text.indexOf('\n', this.pos);
          this.pos = newline < 0 ? this.text.length : newline;
        } else {
          const end = this.text.indexOf('*/', this.pos + 2);
          if (end < 0) throw new LexFailure('comment not terminated', start);
          this.pos = end + 2;
        }
        continue;
      }
      this.pos += ch.length;
      return { kind: 'other', start };
    }
  }

  private scanQuoted(start: number, quote: string): void {
    let i = start + 1;
    let count = 0;
    for (;;) {
      const ch = this.text[i];
      if (ch === undefined || ch === '\n') throw new LexFailure('literal not terminated', start);
      if (ch === quote) break;
      if (ch === REPLACEMENT_CHAR) throw new LexFailure('invalid UTF-8 encoding', start);
      if (ch === '\\') i = this.scanEscape(i + 1, quote, start);
      else i += 1;
      count++;
    }
    this.pos = i + 1;
    if (quote === "'" && count !== 1) throw new LexFailure('invalid char literal', start);
  }

  /** Validates one escape (after the backslash) like Go's scanner; returns the index after it. */
  private scanEscape(index: number, quote: string, tokenStart: number): number {
    const ch = this.text[index];
    const digits = (from: number, base: number, count: number): number => {
      let i = from;
      for (let n = 0; n < count; n++, i++) {
        const d = this.text[i];
        const ok = base === 8 ? d !== undefined && d >= '0' && d <= '7' : isHex(d);
        if (!ok) throw new LexFailure('invalid char escape', tokenStart);
      }
      return i;
    };
    if (ch !== undefined && 'abfnrtv\\'.includes(ch)) return index + 1;
    if (ch === quote) return index + 1;
    if (ch !== undefined && ch >= '0' && ch <= '7') return digits(index, 8, 3);
    if (ch === 'x') return digits(index + 1, 16, 2);
    if (ch === 'u') return digits(index + 1, 16, 4);
    if (ch === 'U') return digits(index + 1, 16, 8);
    throw new LexFailure('invalid char escape', tokenStart);
  }

  /** Go scanner's number rules (hex, octal, binary, floats, exponents), with its error texts. */
  private scanNumber(start: number): void {
    const text = this.text;
    let i = start;
    let base = 10;
    let prefix = '';
    let sawDigit = false;
    let invalidDigit: string | undefined;
    let isFloat = false;
    const digits = (digitBase: number): void => {
      for (;;) {
        const d = text[i];
        if (digitBase <= 10 ? isDecimal(d) : isHex(d)) {
          sawDigit = true;
          if (digitBase < 10 && d !== undefined && d >= String(digitBase) && invalidDigit === undefined) invalidDigit = d;
          i++;
        } else if (d === '_') {
          i++;
        } else return;
      }
    };
    const litName = (): string =>
      prefix === 'x' ? 'hexadecimal literal' : prefix === 'o' || prefix === '0' ? 'octal literal' : prefix === 'b' ? 'binary literal' : 'decimal literal';
    if (text[i] === '.') {
      isFloat = true;
      i++;
      digits(base);
    } else {
      if (text[i] === '0') {
        i++;
        const next = (text[i] ?? '').toLowerCase();
        if (next === 'x') {
          i++;
          base = 16;
          prefix = 'x';
        } else if (next === 'o') {
          i++;
          base = 8;
          prefix = 'o';
        } else if (next === 'b' && (text[i + 1] === '0' || text[i + 1] === '1')) {
          i++;
          base = 2;
          prefix = 'b';
        } else {
          base = 8;
          prefix = '0';
          sawDigit = true;
        }
      }
      digits(base);
      if (text[i] === '.') {
        i++;
        isFloat = true;
        if (prefix === 'o' || prefix === 'b') throw new LexFailure(`invalid radix point in ${litName()}`, start);
        digits(base);
      }
    }
    if (!sawDigit) throw new LexFailure(`${litName()} has no digits`, start);
    const e = (text[i] ?? '').toLowerCase();
    if (e === 'e' || (e === 'p' && prefix === 'x')) {
      if (e === 'e' && prefix !== '' && prefix !== '0') {
        throw new LexFailure(`'${text[i]}' exponent requires decimal mantissa`, start);
      }
      i++;
      isFloat = true;
      if (text[i] === '+' || text[i] === '-') i++;
      const before = i;
      while (isDecimal(text[i]) || text[i] === '_') i++;
      if (i === before) throw new LexFailure('exponent has no digits', start);
    } else if (prefix === 'x' && isFloat) {
      throw new LexFailure("hexadecimal mantissa requires a 'p' exponent", start);
    }
    if (!isFloat && invalidDigit !== undefined) {
      throw new LexFailure(`invalid digit '${invalidDigit}' in ${litName()}`, start);
    }
    if (text.slice(start, i).includes('_') && !/^(0[xXoObB])?_?[0-9a-fA-F]+(_[0-9a-fA-F]+)*([.pPeE].*)?$/.test(text.slice(start, i))) {
      throw new LexFailure("'_' must separate successive digits", start);
    }
    this.pos = i;
  }

  /** Loki's tryScanDuration/tryScanBytes: extend a number with unit characters up to a space. */
  private tryUnitSuffix(prefixText: string, accepts: (ch: string) => boolean): { text: string; end: number } | undefined {
    let i = this.pos;
    for (let ch = this.peek(i); ch !== undefined && !UNICODE_SPACE.test(ch); ch = this.peek(i)) {
      if (!UNICODE_NUMBER.test(ch) && !accepts(ch) && ch !== '.') break;
      i += ch.length;
    }
    if (i === this.pos) return undefined;
    return { text: prefixText + this.text.slice(this.pos, i), end: i };
  }

  private tryDuration(prefixText: string): bigint | undefined {
    const suffix = this.tryUnitSuffix(prefixText, (ch) => DURATION_RUNES.has(ch));
    if (suffix === undefined) return undefined;
    try {
      const durationNs = parseLokiDuration(suffix.text);
      this.pos = suffix.end;
      return durationNs;
    } catch {
      return undefined;
    }
  }

  private tryBytes(prefixText: string): number | undefined {
    const suffix = this.tryUnitSuffix(prefixText, (ch) => BYTE_SIZE_RUNES.has(ch));
    if (suffix === undefined) return undefined;
    const bytes = parseByteSize(suffix.text);
    if (bytes !== undefined) this.pos = suffix.end;
    return bytes;
  }

  /** Loki's isFunction: the next non-space text is `(`, or `by (` / `without (`. */
  private isFunctionCall(): boolean {
    // A sticky regex looks only at the text after the word, so long queries stay linear.
    FUNCTION_CALL_AHEAD.lastIndex = this.pos;
    return FUNCTION_CALL_AHEAD.test(this.text);
  }

  private token(type: TokenType, start: number, value: string, lineKnown: boolean): Token {
    return { type, text: this.text.slice(start, this.pos), value, offset: start, lineKnown };
  }

  /** One LogQL token (Loki's Lex). */
  next(): Token {
    for (;;) {
      const raw = this.scanRaw();
      const start = raw.start;
      const rawText = this.text.slice(start, this.pos);
      switch (raw.kind) {
        case 'eof':
          return this.token('EOF', start, '', true);
        case 'number': {
          const durationNs = this.tryDuration(rawText);
          if (durationNs !== undefined) return { ...this.token('DURATION', start, rawText, false), durationNs };
          const bytes = this.tryBytes(rawText);
          if (bytes !== undefined) return { ...this.token('BYTES', start, rawText, false), bytes };
          return this.token('NUMBER', start, rawText, true);
        }
        case 'string': {
          let value: string;
          try {
            value = unquoteGoString(rawText);
          } catch (error) {
            if (error instanceof QuoteSyntaxError) throw new LexFailure(error.message, start);
            throw error;
          }
          return this.token('STRING', start, value, true);
        }
        case 'char':
          // Go's scanner accepts 'x' char literals; Loki's lexer then treats them as identifiers.
          return this.token('IDENTIFIER', start, rawText, true);
        default:
          break;
      }
      if (rawText === '#') {
        const newline = this.text.indexOf('\n', this.pos);
        this.pos = newline < 0 ? this.text.length : newline;
        continue;
      }
      if (rawText === '-') {
        if (this.text[this.pos] === '-') {
          const flag = /^-[\p{L}-]*/u.exec(this.text.slice(this.pos));
          const flagText = `-${flag?.[0] ?? ''}`;
          if (PARSER_FLAGS.has(flagText)) {
            this.pos = start + flagText.length;
            return this.token('FUNCTION_FLAG', start, flagText, false);
          }
        }
        const durationNs = this.tryDuration('-');
        if (durationNs !== undefined) return { ...this.token('DURATION', start, this.text.slice(start, this.pos), false), durationNs };
      }
      if (rawText === '[') {
        const close = this.text.indexOf(']', this.pos);
        if (close < 0) throw new LexFailure("missing closing ']' in duration", start, false);
        const inner = this.text.slice(this.pos, close);
        let durationNs: bigint;
        try {
          durationNs = parsePrometheusDuration(inner);
        } catch (error) {
          if (error instanceof DurationSyntaxError) throw new LexFailure(error.message, start, false);
          throw error;
        }
        this.pos = close + 1;
        return { ...this.token('RANGE', start, inner, false), durationNs };
      }
      const lower = rawText.toLowerCase();
      const functionType = FUNCTION_TOKENS[lower];
      if (functionType !== undefined && raw.kind === 'ident') {
        if (!this.isFunctionCall()) return this.token('IDENTIFIER', start, rawText, true);
        return this.token(functionType, start, rawText, true);
      }
      const nextChar = this.peek();
      if (nextChar !== undefined) {
        const pairType = KEYWORD_TOKENS[lower + nextChar.toLowerCase()];
        if (pairType !== undefined) {
          this.pos += nextChar.length;
          return this.token(pairType, start, this.text.slice(start, this.pos), false);
        }
      }
      const keywordType = KEYWORD_TOKENS[lower];
      if (keywordType !== undefined) return this.token(keywordType, start, rawText, true);
      return this.token('IDENTIFIER', start, rawText, true);
    }
  }
}

/** Lexes a whole query. Stops at the first error (as Loki's lexer does), keeping earlier tokens. */
export function lex(text: string): LexResult {
  const lexer = new Lexer(text);
  const tokens: Token[] = [];
  for (;;) {
    try {
      const token = lexer.next();
      tokens.push(token);
      if (token.type === 'EOF') return { tokens };
    } catch (error) {
      if (error instanceof LexFailure) {
        return { tokens, error: { message: error.message, offset: error.offset, lineKnown: error.lineKnown } };
      }
      throw error;
    }
  }
}

/** Token names of a query, Loki-style, without the final EOF; stops silently at a lexing error. */
export function tokenize(text: string): TokenType[] {
  return lex(text)
    .tokens.filter((token) => token.type !== 'EOF')
    .map((token) => token.type);
}

/** 1-based line and column (in code points) of a UTF-16 offset, as Go's scanner counts them. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lastNewline = before.lastIndexOf('\n');
  let line = 1;
  for (let i = 0; i < before.length; i++) if (before.charCodeAt(i) === 10) line++;
  const column = [...before.slice(lastNewline + 1)].length + 1;
  return { line, column };
}
