// RE2 syntax checking for regexes written in queries (stream matchers, label filters, regexp
// parser, label_replace). Loki compiles them with Go's regexp/syntax at parse time, so a bad regex
// is a parse error there; this reproduces that check and Go's messages
// (`error parsing regexp: invalid escape sequence: \`\q\``). It also answers whether a regex can
// match the empty string, which stream-selector validation needs. Compiling regexes for matching
// (with RE2's linear-time guarantee) is the evaluator's job, not this module's.

export interface RegexCheck {
  /** Go's error text, or undefined when the pattern is valid RE2. */
  error?: string;
  /** Group names from `(?P<name>…)` / `(?<name>…)`, in order. */
  captureNames: string[];
  /** Count of capturing groups (named and unnamed). */
  captureCount: number;
  /** Whether the pattern, fully anchored, matches "". */
  matchesEmpty: boolean;
}

const POSIX_CLASSES = new Set([
  'alnum', 'alpha', 'ascii', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'word', 'xdigit',
]);
const PERL_CLASS_LETTERS = new Set(['d', 'D', 's', 'S', 'w', 'W']);
const MAX_REPEAT = 1000;
/** Go's regexp/syntax limit; also keeps this recursive checker off the stack limit. */
const MAX_NESTING_DEPTH = 1000;

class RegexSyntaxError extends Error {
  constructor(code: string, fragment: string) {
    super(`error parsing regexp: ${code}: \`${fragment}\``);
  }
}

function isAlnum(ch: string): boolean {
  return /^[0-9A-Za-z]$/.test(ch);
}

/** Recursive-descent RE2 parser that only computes validity, captures and nullability. */
class RegexChecker {
  private readonly pattern: string;
  private pos = 0;
  readonly captureNames: string[] = [];
  captureCount = 0;

  constructor(pattern: string) {
    this.pattern = pattern;
  }

  private peek(offset = 0): string | undefined {
    return this.pattern[this.pos + offset];
  }

  /** Parses an alternation until `)` or end; returns whether it matches "". */
  parseAlternation(depth: number): boolean {
    if (depth > MAX_NESTING_DEPTH) throw new RegexSyntaxError('expression nests too deeply', this.pattern);
    let nullable = this.parseConcatenation(depth);
    while (this.peek() === '|') {
      this.pos++;
      nullable = this.parseConcatenation(depth) || nullable;
    }
    return nullable;
  }

  private parseConcatenation(depth: number): boolean {
    let nullable = true;
    for (;;) {
      const ch = this.peek();
      if (ch === undefined || ch === '|') return nullable;
      if (ch === ')') {
        if (depth === 0) throw new RegexSyntaxError('unexpected )', this.pattern);
        return nullable;
      }
      const atomStart = this.pos;
      let atomNullable: boolean | undefined = this.parseAtom(depth);
      if (atomNullable === undefined) continue; // a flag group like (?i): no atom
      let repeatStart = -1;
      for (;;) {
        const op = this.peek();
        if (op === '*' || op === '+' || op === '?') {
          if (repeatStart >= 0) throw new RegexSyntaxError('invalid nested repetition operator', this.pattern.slice(repeatStart, this.pos + 1));
          repeatStart = this.pos;
          this.pos++;
          if (this.peek() === '?') this.pos++; // lazy
          if (op !== '+') atomNullable = true;
          continue;
        }
        if (op === '{') {
          const repeat = /^\{(\d+)(,(\d*))?\}/.exec(this.pattern.slice(this.pos));
          if (repeat === null) break;
          if (repeatStart >= 0) throw new RegexSyntaxError('invalid nested repetition operator', this.pattern.slice(repeatStart, this.pos + repeat[0].length));
          const min = Number(repeat[1]);
          const max = repeat[2] === undefined ? min : repeat[3] === '' ? -1 : Number(repeat[3]);
          if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) {
            throw new RegexSyntaxError('invalid repeat count', repeat[0]);
          }
          repeatStart = this.pos;
          this.pos += repeat[0].length;
          if (this.peek() === '?') this.pos++;
          if (min === 0) atomNullable = true;
          continue;
        }
        break;
      }
      if (this.pos === atomStart) throw new RegexSyntaxError('missing argument to repetition operator', this.pattern[this.pos] ?? '');
      nullable = nullable && atomNullable;
    }
  }

  /** One atom; returns its nullability, or undefined for a pure flag group. */
  private parseAtom(depth: number): boolean | undefined {
    const ch = this.peek() as string;
    switch (ch) {
      case '*':
      case '+':
      case '?':
        throw new RegexSyntaxError('missing argument to repetition operator', ch);
      case '(':
        return this.parseGroup(depth);
      case '[':
        this.parseClass();
        return false;
      case '\\':
        return this.parseEscape();
      case '^':
      case '$':
        this.pos++;
        return true;
      case '{': {
        const repeat = /^\{(\d+)(,(\d*))?\}/.exec(this.pattern.slice(this.pos));
        if (repeat !== null) throw new RegexSyntaxError('missing argument to repetition operator', repeat[0]);
        this.pos++;
        return false;
      }
      default:
        this.pos += (this.pattern.codePointAt(this.pos) as number) > 0xffff ? 2 : 1;
        return false;
    }
  }

  private parseGroup(depth: number): boolean | undefined {
    const start = this.pos;
    this.pos++;
    if (this.peek() === '?') {
      const rest = this.pattern.slice(this.pos);
      const named = /^\?P?<([^>]*)>/.exec(rest);
      if (rest.startsWith('?P<') || rest.startsWith('?<')) {
        if (named === null) throw new RegexSyntaxError('invalid named capture', this.pattern.slice(start));
        const name = named[1] ?? '';
        if (!/^[A-Za-z0-9_]+$/.test(name)) throw new RegexSyntaxError('invalid named capture', this.pattern.slice(start, this.pos + named[0].length));
        this.captureNames.push(name);
        this.captureCount++;
        this.pos += named[0].length;
      } else {
        const flags = /^\?(-?[imsU]+|[imsU]+-[imsU]*)?([:)])/.exec(rest);
        if (flags === null || flags[1] === undefined || flags[1].endsWith('-')) {
          if (flags?.[2] === ':' && flags[1] === undefined) {
            this.pos += 2; // (?:…) non-capturing group
          } else {
            throw new RegexSyntaxError('invalid or unsupported Perl syntax', this.pattern.slice(start, Math.min(this.pattern.length, start + 3)));
          }
        } else {
          this.pos += flags[0].length;
          if (flags[2] === ')') return undefined;
        }
      }
    } else {
      this.captureCount++;
    }
    const nullable = this.parseAlternation(depth + 1);
    if (this.peek() !== ')') throw new RegexSyntaxError('missing closing )', this.pattern);
    this.pos++;
    return nullable;
  }

  private parseEscape(): boolean {
    const start = this.pos;
    const ch = this.pattern[this.pos + 1];
    if (ch === undefined) throw new RegexSyntaxError('trailing backslash at end of expression', '');
    this.pos += 2;
    if (!isAlnum(ch)) {
      // Escaped punctuation is a literal; any other non-ASCII escape is invalid in RE2.
      if (ch.charCodeAt(0) >= 0x80) throw new RegexSyntaxError('invalid escape sequence', this.pattern.slice(start, this.pos));
      return false;
    }
    switch (ch) {
      case 'A':
      case 'z':
      case 'b':
      case 'B':
        return true;
      case 'Q': {
        const end = this.pattern.indexOf('\\E', this.pos);
        const literal = end < 0 ? this.pattern.slice(this.pos) : this.pattern.slice(this.pos, end);
        this.pos = end < 0 ? this.pattern.length : end + 2;
        return literal === '';
      }
      default:
        this.parseEscapeBody(ch, start);
        return false;
    }
  }

  /** Escapes valid both inside and outside classes (\d, \pL, \x41, \n, \012 …). */
  private parseEscapeBody(ch: string, start: number): void {
    const invalid = (): never => {
      throw new RegexSyntaxError('invalid escape sequence', this.pattern.slice(start, this.pos));
    };
    if (PERL_CLASS_LETTERS.has(ch) || 'afnrtv'.includes(ch)) return;
    if (ch === 'p' || ch === 'P') {
      if (this.peek() === '{') {
        const end = this.pattern.indexOf('}', this.pos);
        if (end < 0) {
          this.pos = this.pattern.length;
          throw new RegexSyntaxError('invalid character class range', this.pattern.slice(start));
        }
        this.pos = end + 1;
      } else if (this.peek() !== undefined) {
        this.pos++;
      } else invalid();
      return;
    }
    if (ch === 'x') {
      if (this.peek() === '{') {
        const hex = /^\{([0-9a-fA-F]+)\}/.exec(this.pattern.slice(this.pos));
        if (hex === null || Number.parseInt(hex[1] ?? '', 16) > 0x10ffff) {
          this.pos = Math.min(this.pattern.length, this.pos + (hex?.[0].length ?? 1));
          invalid();
        }
        this.pos += (hex as RegExpExecArray)[0].length;
        return;
      }
      const hex = this.pattern.slice(this.pos, this.pos + 2);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        this.pos = Math.min(this.pattern.length, this.pos + 2);
        invalid();
      }
      this.pos += 2;
      return;
    }
    if (ch >= '1' && ch <= '7') {
      // A lone non-zero digit would be a backreference, which RE2 does not support.
      if (!/^[0-7]/.test(this.pattern.slice(this.pos))) invalid();
    }
    if (ch >= '0' && ch <= '7') {
      let digits = 0;
      while (digits < 2 && /^[0-7]$/.test(this.peek() ?? '')) {
        this.pos++;
        digits++;
      }
      return;
    }
    invalid();
  }

  private parseClass(): void {
    const start = this.pos;
    this.pos++;
    if (this.peek() === '^') this.pos++;
    let first = true;
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new RegexSyntaxError('missing closing ]', this.pattern.slice(start));
      if (ch === ']' && !first) {
        this.pos++;
        return;
      }
      first = false;
      if (ch === '[' && this.peek(1) === ':') {
        const posix = /^\[:(\^?)([a-z]*):\]/.exec(this.pattern.slice(this.pos));
        if (posix !== null) {
          if (!POSIX_CLASSES.has(posix[2] ?? '')) throw new RegexSyntaxError('invalid character class range', posix[0]);
          this.pos += posix[0].length;
          continue;
        }
      }
      const rangeStart = this.pos;
      const low = this.parseClassChar();
      if (low === undefined) continue; // \d and friends cannot start a range
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        this.pos++;
        const high = this.parseClassChar();
        if (high === undefined || high < low) {
          throw new RegexSyntaxError('invalid character class range', this.pattern.slice(rangeStart, this.pos));
        }
      }
    }
  }

  /** One class member; returns its code point, or undefined for a class escape like \d. */
  private parseClassChar(): number | undefined {
    const ch = this.peek() as string;
    if (ch !== '\\') {
      const codePoint = this.pattern.codePointAt(this.pos) as number;
      this.pos += codePoint > 0xffff ? 2 : 1;
      return codePoint;
    }
    const start = this.pos;
    const escaped = this.pattern[this.pos + 1];
    if (escaped === undefined) throw new RegexSyntaxError('missing closing ]', this.pattern.slice(start));
    this.pos += 2;
    if (!isAlnum(escaped)) return escaped.codePointAt(0);
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (escaped in simple) return simple[escaped];
    this.parseEscapeBody(escaped, start);
    const body = this.pattern.slice(start + 2, this.pos);
    if (escaped === 'x') return Number.parseInt(body.replace(/[{}]/g, ''), 16);
    if (escaped >= '0' && escaped <= '7') return Number.parseInt(escaped + body, 8);
    return undefined;
  }
}

/** Checks a regex with RE2's (Go's) rules. Never throws. */
export function checkRegex(pattern: string): RegexCheck {
  const checker = new RegexChecker(pattern);
  try {
    const matchesEmpty = checker.parseAlternation(0);
    return { captureNames: checker.captureNames, captureCount: checker.captureCount, matchesEmpty };
  } catch (error) {
    if (error instanceof RegexSyntaxError) {
      return { error: error.message, captureNames: checker.captureNames, captureCount: checker.captureCount, matchesEmpty: false };
    }
    throw error;
  }
}

const REGEX_SPECIAL = new Set(['.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$', '\\']);

/** Splits on top-level `|` (outside groups, classes and escapes). */
function splitAlternation(pattern: string): string[] {
  const legs: string[] = [];
  let depth = 0;
  let inClass = false;
  let legStart = 0;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      legs.push(pattern.slice(legStart, i));
      legStart = i + 1;
    }
  }
  legs.push(pattern.slice(legStart));
  return legs;
}

/** Index of the `)` closing the group opened at `open`, or -1. */
function closingParen(pattern: string, open: number): number {
  let depth = 0;
  let inClass = false;
  for (let i = open; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  return -1;
}

/**
 * Whether Loki's regex simplifier turns this label-filter regex into plain string comparisons
 * (literals, alternations of literals, `.*` around one literal, `.*`, `.+`). Loki prints such
 * filters with Go quoting and all others between backticks, so the printer needs to know.
 */
export function isSimplifiableLabelRegex(pattern: string): boolean {
  let body = pattern.startsWith('(?i)') ? pattern.slice(4) : pattern;
  if (checkRegex(pattern).error !== undefined) return false;
  for (;;) {
    if (body.startsWith('(') && closingParen(body, 0) === body.length - 1) {
      body = body.startsWith('(?:') ? body.slice(3, -1) : body.startsWith('(?') ? body : body.slice(1, -1);
      if (body.startsWith('(?')) break;
    } else break;
  }
  if (body === '' || body === '.*' || body === '.+') return true;
  const legs = splitAlternation(body);
  if (legs.length > 1) return legs.every((leg) => isSimplifiableLabelRegex(leg));
  let literalRuns = 0;
  let items = 0;
  let inLiteral = false;
  let sawAlternateGroup = false;
  for (let i = 0; i < body.length; ) {
    if (body.startsWith('.*', i)) {
      items++;
      inLiteral = false;
      i += 2;
      continue;
    }
    const ch = body[i] as string;
    if (ch === '(') {
      const close = closingParen(body, i);
      if (close < 0 || literalRuns === 0 || sawAlternateGroup) return false;
      const inner = body.slice(i, close + 1);
      const group = inner.startsWith('(?:') ? inner.slice(3, -1) : inner.startsWith('(?') ? undefined : inner.slice(1, -1);
      if (group === undefined || !splitAlternation(group).every((leg) => leg === '' || leg === '.*' || isPlainLiteral(leg))) return false;
      sawAlternateGroup = true;
      items++;
      inLiteral = false;
      i = close + 1;
      continue;
    }
    if (ch === '\\') {
      const next = body[i + 1];
      if (next === undefined || /[0-9A-Za-z]/.test(next)) return false;
      i += 2;
    } else if (REGEX_SPECIAL.has(ch)) {
      return false;
    } else {
      i += 1;
    }
    if (!inLiteral) {
      literalRuns++;
      items++;
      inLiteral = true;
    }
  }
  return literalRuns <= 1 && items <= 3;
}

function isPlainLiteral(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\') {
      const next = text[i + 1];
      if (next === undefined || /[0-9A-Za-z]/.test(next)) return false;
      i++;
    } else if (REGEX_SPECIAL.has(ch)) return false;
  }
  return true;
}
