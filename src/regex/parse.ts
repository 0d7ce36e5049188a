// The one RE2 parser. It reads Go's/RE2's syntax (Perl flags, `(?P<name>…)`, POSIX and Perl
// classes, `\pL`, `\Q…\E`, counted repetition up to 1000) into the plain tree of ast.ts, and
// rejects what RE2 rejects with Go's error text (`error parsing regexp: invalid escape sequence:
// \`\1\``), since Loki and Prometheus show those messages, plus the offset where the fragment starts.

import { UNBOUNDED, type CharSet, type ParsedRegex, type RegexNode, type UnicodeProperty } from './ast.ts';
import { foldOrbit, foldRanges, negateRanges, normalizeRanges, PERL_CLASSES, POSIX_CLASSES, unicodePropertyName } from './char-set.ts';

/** RE2's limit on `{n,m}`, and on the product of nested counted repetitions. */
export const MAX_REPEAT = 1000;
/** Go's limit on nesting (`expression nests too deeply`). */
export const MAX_NESTING_DEPTH = 1000;
/**
 * Upper bound on the compiled program (instructions of the linear-time matcher). Go allows ~3M;
 * we allow far fewer because the matcher's time per character grows with the program: at 20k
 * instructions a 100k-character line costs at most ~2·10⁹ steps in the worst case, and every real
 * query we have seen stays under 1k. Past the bound the regex is refused with Go's wording.
 */
export const MAX_PROGRAM_SIZE = 20_000;

export class RegexSyntaxError extends Error {
  /** Go's error code text, e.g. `missing closing )`. */
  readonly code: string;
  /** The part of the regex the error is about. */
  readonly fragment: string;
  /** UTF-16 offset in the regex where the fragment starts. */
  readonly position: number;

  constructor(code: string, fragment: string, position: number) {
    super(`error parsing regexp: ${code}: \`${fragment}\``);
    this.name = 'RegexSyntaxError';
    this.code = code;
    this.fragment = fragment;
    this.position = position;
  }
}

interface Flags {
  foldCase: boolean;
  dotNewline: boolean;
  oneLine: boolean;
  nonGreedy: boolean;
}

const PERL_CLASS_LETTERS = 'dDsSwW';

function isAlnum(ch: string): boolean {
  return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

function hexValue(ch: string | undefined): number {
  if (ch === undefined) return -1;
  if (ch >= '0' && ch <= '9') return ch.charCodeAt(0) - 0x30;
  if (ch >= 'a' && ch <= 'f') return ch.charCodeAt(0) - 0x57;
  if (ch >= 'A' && ch <= 'F') return ch.charCodeAt(0) - 0x37;
  return -1;
}

class Parser {
  private readonly src: string;
  private pos = 0;
  private flags: Flags = { foldCase: false, dotNewline: false, oneLine: true, nonGreedy: false };
  captureCount = 0;
  readonly captureNames: (string | undefined)[] = [undefined];

  constructor(source: string) {
    this.src = source;
  }

  parse(): RegexNode {
    const root = this.parseAlternation(0);
    if (this.pos < this.src.length) throw new RegexSyntaxError('unexpected )', this.src, this.pos);
    return root;
  }

  private parseAlternation(depth: number): RegexNode {
    if (depth > MAX_NESTING_DEPTH) throw new RegexSyntaxError('expression nests too deeply', this.src, this.pos - 1);
    const subs = [this.parseConcat(depth)];
    while (this.src[this.pos] === '|') {
      this.pos++;
      subs.push(this.parseConcat(depth));
    }
    return subs.length === 1 ? subs[0]! : { kind: 'alternate', subs };
  }

  private parseConcat(depth: number): RegexNode {
    const items: RegexNode[] = [];
    let lastRepeatStart = -1;
    for (;;) {
      const ch = this.src[this.pos];
      if (ch === undefined || ch === '|') break;
      if (ch === ')') {
        if (depth === 0) throw new RegexSyntaxError('unexpected )', this.src, this.pos);
        break;
      }
      const start = this.pos;
      if (ch === '*' || ch === '+' || ch === '?' || ch === '{') {
        const repeat = this.parseRepeatOperator();
        if (repeat !== undefined) {
          this.applyRepeat(items, repeat, start, lastRepeatStart);
          lastRepeatStart = start;
          continue;
        }
      }
      lastRepeatStart = -1;
      if (ch === '\\' && this.src[this.pos + 1] === 'Q') {
        // \Q…\E: each character is its own literal, so `\Qab\E*` repeats only the b (as RE2).
        const end = this.src.indexOf('\\E', this.pos + 2);
        const quoted = this.src.slice(this.pos + 2, end < 0 ? this.src.length : end);
        this.pos = end < 0 ? this.src.length : end + 2;
        for (const c of quoted) items.push(this.literal(c.codePointAt(0)!));
        continue;
      }
      const node = this.parseAtom(depth);
      if (node !== undefined) items.push(node);
    }
    if (items.length === 0) return { kind: 'empty' };
    return items.length === 1 ? items[0]! : { kind: 'concat', subs: items };
  }

  /** `*`, `+`, `?` or a well-formed `{n,m}` at the cursor (consumed), else undefined. */
  private parseRepeatOperator(): { min: number; max: number } | undefined {
    const ch = this.src[this.pos];
    if (ch === '*') return this.pos++, { min: 0, max: UNBOUNDED };
    if (ch === '+') return this.pos++, { min: 1, max: UNBOUNDED };
    if (ch === '?') return this.pos++, { min: 0, max: 1 };
    const counted = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.src.slice(this.pos, this.pos + 24));
    if (counted === null) return undefined;
    const [whole, minText = '', comma, maxText] = counted;
    // Go reads a number with a leading zero (`{01}`) as no repetition at all: a literal `{`.
    if ((minText.length > 1 && minText[0] === '0') || (maxText !== undefined && maxText.length > 1 && maxText[0] === '0')) return undefined;
    const min = minText.length > 8 ? -1 : Number(minText);
    const max = comma === undefined ? min : maxText === '' ? UNBOUNDED : maxText!.length > 8 ? MAX_REPEAT + 1 : Number(maxText);
    if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
      throw new RegexSyntaxError('invalid repeat count', whole, this.pos);
    }
    this.pos += whole.length;
    return { min, max };
  }

  private applyRepeat(items: RegexNode[], repeat: { min: number; max: number }, start: number, lastRepeatStart: number): void {
    let greedy = !this.flags.nonGreedy;
    if (this.src[this.pos] === '?') {
      this.pos++;
      greedy = !greedy;
    }
    if (lastRepeatStart >= 0) {
      throw new RegexSyntaxError('invalid nested repetition operator', this.src.slice(lastRepeatStart, this.pos), lastRepeatStart);
    }
    const sub = items.pop();
    if (sub === undefined) throw new RegexSyntaxError('missing argument to repetition operator', this.src.slice(start, this.pos), start);
    const node: RegexNode = { kind: 'repeat', min: repeat.min, max: repeat.max, greedy, sub };
    if ((repeat.min >= 2 || repeat.max >= 2) && !repeatIsValid(node, MAX_REPEAT)) {
      throw new RegexSyntaxError('invalid repeat count', this.src.slice(start, this.pos), start);
    }
    items.push(node);
  }

  /** One atom, or undefined for a flag group like `(?i)` that only changes the flags. */
  private parseAtom(depth: number): RegexNode | undefined {
    const ch = this.src[this.pos]!;
    switch (ch) {
      case '(':
        return this.parseGroup(depth);
      case '[':
        return { kind: 'class', set: this.parseClass() };
      case '.':
        this.pos++;
        return this.flags.dotNewline ? { kind: 'anyChar' } : { kind: 'anyCharNotNewline' };
      case '^':
        this.pos++;
        return { kind: 'assert', assertion: this.flags.oneLine ? 'beginText' : 'beginLine' };
      case '$':
        this.pos++;
        return { kind: 'assert', assertion: this.flags.oneLine ? 'endText' : 'endLine' };
      case '\\':
        return this.parseEscapeAtom();
      default: {
        const codePoint = this.src.codePointAt(this.pos)!;
        this.pos += codePoint > 0xffff ? 2 : 1;
        return this.literal(codePoint);
      }
    }
  }

  private literal(codePoint: number): RegexNode {
    return { kind: 'literal', codePoint, foldCase: this.flags.foldCase && foldOrbit(codePoint).length > 1 };
  }

  private parseGroup(depth: number): RegexNode | undefined {
    const start = this.pos;
    const src = this.src;
    if (src[start + 1] !== '?') {
      this.pos++;
      const index = ++this.captureCount;
      this.captureNames.push(undefined);
      return { kind: 'capture', index, name: undefined, sub: this.parseGroupBody(depth, start, this.flags) };
    }
    const startsWithP = src.length - start > 4 && src[start + 2] === 'P' && src[start + 3] === '<';
    const startsWithName = src.length - start > 3 && src[start + 2] === '<';
    if (startsWithP || startsWithName) {
      const end = src.indexOf('>', start);
      if (end < 0) throw new RegexSyntaxError('invalid named capture', src.slice(start), start);
      const name = src.slice(start + (startsWithP ? 4 : 3), end);
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw new RegexSyntaxError('invalid named capture', src.slice(start, end + 1), start);
      this.pos = end + 1;
      const index = ++this.captureCount;
      this.captureNames.push(name);
      return { kind: 'capture', index, name, sub: this.parseGroupBody(depth, start, this.flags) };
    }
    // Flags: (?i) (?-s) (?im-sU) and the group forms (?:re) (?i:re).
    const flags = { ...this.flags };
    let sign = 1;
    let sawFlag = false;
    let i = start + 2;
    while (i < src.length) {
      const codePoint = src.codePointAt(i)!;
      const c = String.fromCodePoint(codePoint);
      i += c.length;
      if (c === 'i') flags.foldCase = sign > 0;
      else if (c === 'm') flags.oneLine = sign < 0;
      else if (c === 's') flags.dotNewline = sign > 0;
      else if (c === 'U') flags.nonGreedy = sign > 0;
      else if (c === '-' && sign > 0) {
        sign = -1;
        sawFlag = false;
        continue;
      } else if ((c === ':' || c === ')') && (sign > 0 || sawFlag)) {
        this.pos = i;
        if (c === ')') {
          this.flags = flags;
          return undefined;
        }
        const outer = this.flags;
        this.flags = flags;
        return this.parseGroupBody(depth, start, outer);
      } else break;
      sawFlag = true;
    }
    throw new RegexSyntaxError('invalid or unsupported Perl syntax', src.slice(start, i), start);
  }

  /** The group's alternation and its `)`; the flags in force before the group come back after it. */
  private parseGroupBody(depth: number, start: number, outerFlags: Flags): RegexNode {
    const sub = this.parseAlternation(depth + 1);
    if (this.src[this.pos] !== ')') throw new RegexSyntaxError('missing closing )', this.src, start);
    this.pos++;
    this.flags = outerFlags;
    return sub;
  }

  private parseEscapeAtom(): RegexNode {
    const start = this.pos;
    const next = this.src[start + 1];
    switch (next) {
      case 'A':
        this.pos += 2;
        return { kind: 'assert', assertion: 'beginText' };
      case 'z':
        this.pos += 2;
        return { kind: 'assert', assertion: 'endText' };
      case 'b':
        this.pos += 2;
        return { kind: 'assert', assertion: 'wordBoundary' };
      case 'B':
        this.pos += 2;
        return { kind: 'assert', assertion: 'notWordBoundary' };
      case 'C':
        throw new RegexSyntaxError('invalid escape sequence', '\\C', start);
    }
    const set: CharSet = { ranges: [], properties: [], negated: false };
    if (next === 'p' || next === 'P') {
      this.parseUnicodeClass(set);
      return { kind: 'class', set };
    }
    if (next !== undefined && PERL_CLASS_LETTERS.includes(next)) {
      this.pos += 2;
      set.ranges = this.groupRanges(PERL_CLASSES[next.toLowerCase()]!, next !== next.toLowerCase());
      return { kind: 'class', set };
    }
    return this.literal(this.parseEscape());
  }

  /** A single-character escape (`\n`, `\x41`, `\x{10FFFF}`, `\012`, `\.`); returns its code point. */
  private parseEscape(): number {
    const src = this.src;
    const start = this.pos;
    if (start + 1 >= src.length) throw new RegexSyntaxError('trailing backslash at end of expression', '', start);
    const c = String.fromCodePoint(src.codePointAt(start + 1)!);
    this.pos = start + 1 + c.length;
    const invalid = (): never => {
      throw new RegexSyntaxError('invalid escape sequence', src.slice(start, this.pos), start);
    };
    if (c >= '1' && c <= '7' && !(src[this.pos]! >= '0' && src[this.pos]! <= '7')) invalid(); // a backreference
    if (c >= '0' && c <= '7') {
      let value = c.charCodeAt(0) - 0x30;
      for (let digits = 1; digits < 3 && src[this.pos]! >= '0' && src[this.pos]! <= '7'; digits++) {
        value = value * 8 + src.charCodeAt(this.pos) - 0x30;
        this.pos++;
      }
      return value;
    }
    switch (c) {
      case 'a':
        return 0x07;
      case 'f':
        return 0x0c;
      case 'n':
        return 0x0a;
      case 'r':
        return 0x0d;
      case 't':
        return 0x09;
      case 'v':
        return 0x0b;
      case 'x':
        return this.parseHexEscape(invalid);
    }
    if (c.codePointAt(0)! < 0x80 && !isAlnum(c)) return c.codePointAt(0)!;
    return invalid();
  }

  private parseHexEscape(invalid: () => never): number {
    const src = this.src;
    if (this.pos >= src.length) invalid();
    if (src[this.pos] === '{') {
      this.pos++;
      let value = 0;
      let digits = 0;
      for (;;) {
        if (this.pos >= src.length) invalid();
        const ch = src[this.pos++];
        if (ch === '}') break;
        const digit = hexValue(ch);
        if (digit < 0) invalid();
        value = value * 16 + digit;
        if (value > 0x10ffff) invalid();
        digits++;
      }
      if (digits === 0) invalid();
      return value;
    }
    const high = hexValue(src[this.pos]);
    this.pos = Math.min(src.length, this.pos + 1);
    const low = hexValue(src[this.pos]);
    this.pos = Math.min(src.length, this.pos + 1);
    if (high < 0 || low < 0) invalid();
    return high * 16 + low;
  }

  /** `\pL`, `\p{Greek}`, `\PN`, `\p{^Lu}` at the cursor, added to the set as a property. */
  private parseUnicodeClass(set: CharSet): void {
    const src = this.src;
    const start = this.pos;
    let negated = src[start + 1] === 'P';
    let name: string;
    let end: number;
    if (src[start + 2] === '{') {
      const close = src.indexOf('}', start);
      if (close < 0) throw new RegexSyntaxError('invalid character class range', src.slice(start), start);
      name = src.slice(start + 3, close);
      end = close + 1;
    } else {
      if (start + 2 >= src.length) throw new RegexSyntaxError('invalid character class range', src.slice(start), start);
      name = String.fromCodePoint(src.codePointAt(start + 2)!);
      end = start + 2 + name.length;
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    const jsName = unicodePropertyName(name);
    if (jsName === undefined) throw new RegexSyntaxError('invalid character class range', src.slice(start, end), start);
    this.pos = end;
    const property: UnicodeProperty = { jsName, negated, foldCase: this.flags.foldCase };
    set.properties.push(property);
  }

  /** A POSIX or Perl group's ranges, folded under `(?i)` and then negated if asked (RE2's appendGroup). */
  private groupRanges(ranges: readonly number[], negated: boolean): number[] {
    const folded = this.flags.foldCase ? foldRanges(ranges) : ranges.slice();
    return negated ? negateRanges(folded) : folded;
  }

  private parseClass(): CharSet {
    const src = this.src;
    const classStart = this.pos;
    this.pos++;
    const set: CharSet = { ranges: [], properties: [], negated: false };
    if (src[this.pos] === '^') {
      set.negated = true;
      this.pos++;
    }
    const ranges: number[] = [];
    let first = true;
    while (this.pos >= src.length || src[this.pos] !== ']' || first) {
      first = false;
      if (src.startsWith('[:', this.pos)) {
        const close = src.indexOf(':]', this.pos + 2);
        if (close >= 0) {
          const whole = src.slice(this.pos, close + 2);
          const negatedGroup = whole[2] === '^';
          const group = POSIX_CLASSES[whole.slice(negatedGroup ? 3 : 2, -2)];
          if (group === undefined) throw new RegexSyntaxError('invalid character class range', whole, this.pos);
          ranges.push(...this.groupRanges(group, negatedGroup));
          this.pos = close + 2;
          continue;
        }
      }
      if (src[this.pos] === '\\' && (src[this.pos + 1] === 'p' || src[this.pos + 1] === 'P')) {
        this.parseUnicodeClass(set);
        continue;
      }
      if (src[this.pos] === '\\' && src[this.pos + 1] !== undefined && PERL_CLASS_LETTERS.includes(src[this.pos + 1]!)) {
        const letter = src[this.pos + 1]!;
        ranges.push(...this.groupRanges(PERL_CLASSES[letter.toLowerCase()]!, letter !== letter.toLowerCase()));
        this.pos += 2;
        continue;
      }
      const rangeStart = this.pos;
      const low = this.parseClassChar(classStart);
      let high = low;
      if (src[this.pos] === '-' && this.pos + 1 < src.length && src[this.pos + 1] !== ']') {
        this.pos++;
        high = this.parseClassChar(classStart);
        if (high < low) throw new RegexSyntaxError('invalid character class range', src.slice(rangeStart, this.pos), rangeStart);
      }
      if (this.flags.foldCase) ranges.push(...foldRanges([low, high]));
      else ranges.push(low, high);
    }
    this.pos++;
    set.ranges = normalizeRanges(ranges);
    return set;
  }

  private parseClassChar(classStart: number): number {
    if (this.pos >= this.src.length) throw new RegexSyntaxError('missing closing ]', this.src.slice(classStart), classStart);
    if (this.src[this.pos] === '\\') return this.parseEscape();
    const codePoint = this.src.codePointAt(this.pos)!;
    this.pos += codePoint > 0xffff ? 2 : 1;
    return codePoint;
  }
}

/** Go's repeatIsValid: nested counted repetitions may not multiply past `limit` copies. */
function repeatIsValid(node: RegexNode, limit: number): boolean {
  if (node.kind === 'repeat') {
    let m = node.max;
    if (m === 0) return true;
    if (m < 0) m = node.min;
    if (m > limit) return false;
    if (m > 0) limit = Math.floor(limit / m);
  }
  switch (node.kind) {
    case 'repeat':
    case 'capture':
      return repeatIsValid(node.sub, limit);
    case 'concat':
    case 'alternate':
      return node.subs.every((sub) => repeatIsValid(sub, limit));
    default:
      return true;
  }
}

/**
 * Instructions the linear matcher needs for a node (the same expansion program.ts performs), so
 * a regex too large to run is refused at parse time, before either backend sees it.
 */
export function programSize(node: RegexNode): number {
  switch (node.kind) {
    case 'empty':
      return 0;
    case 'literal':
    case 'class':
    case 'anyChar':
    case 'anyCharNotNewline':
    case 'assert':
      return 1;
    case 'capture':
      return programSize(node.sub) + 2;
    case 'concat':
      return node.subs.reduce((sum, sub) => sum + programSize(sub), 0);
    case 'alternate':
      return node.subs.reduce((sum, sub) => sum + programSize(sub) + 2, 0);
    case 'repeat': {
      const sub = programSize(node.sub);
      if (node.max === UNBOUNDED) return Math.max(node.min, 1) * (sub + 2);
      return node.min * sub + (node.max - node.min) * (sub + 1);
    }
  }
}

/** Parses RE2 syntax. Throws RegexSyntaxError with Go's message and the offset of the fault. */
export function parseRegex(source: string): ParsedRegex {
  const parser = new Parser(source);
  const root = parser.parse();
  if (programSize(root) > MAX_PROGRAM_SIZE) throw new RegexSyntaxError('expression too large', source, 0);
  return { source, root, captureCount: parser.captureCount, captureNames: parser.captureNames };
}
