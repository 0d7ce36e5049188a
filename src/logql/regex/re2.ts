// RE2 syntax, run on V8's regex engines without ever going super-linear.
//
// Why this design: V8's backtracking engine (irregexp) is JIT-compiled and fast, but exponential on
// hostile patterns; its experimental linear-time engine is safe but ~100× slower. V8 can run a regex
// on the backtracking engine and switch to the linear engine once one match attempt exceeds a
// backtrack budget (`--enable-experimental-regexp-engine-on-excessive-backtracks`). That switch only
// exists for patterns the linear engine can run: no `i`/`u` flags, no backreferences or lookaround,
// and no large counted repetitions. So we translate RE2 into a flagless JS pattern (case folding
// expanded into classes, RE2's ASCII classes spelled out), check that the linear engine accepts it,
// and only then compile it for the fast path. Every other pattern (`\pL`, `(x{1,2}){10}`, …) runs on
// Google's RE2 compiled to WebAssembly (re2-wasm), which is linear by construction.

import v8 from 'node:v8';
import { RE2 } from 're2-wasm';

v8.setFlagsFromString('--enable-experimental-regexp-engine');
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

export class RegexSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegexSyntaxError';
  }
}

/** The subset of RegExp both engines offer. */
export interface RegexEngine {
  lastIndex: number;
  test(text: string): boolean;
  exec(text: string): RegExpExecArray | null;
}

export interface CompiledRegex {
  /** The original RE2 text. */
  source: string;
  /** Unanchored, as RE2 `MatchString`. */
  regexp: RegexEngine;
  /** A fresh global-flag instance for find-all loops (replace, count). */
  global(): RegexEngine;
  /** 'v8' for the translated fast path, 're2' for the WebAssembly fallback. */
  engine: 'v8' | 're2';
  /** Names of `(?P<name>…)` groups, in order of appearance. */
  groupNames: string[];
  /** Number of capturing groups (named and unnamed). */
  groupCount: number;
}

interface TranslateState {
  text: string;
  pos: number;
  caseInsensitive: boolean;
  dotAll: boolean;
  multiLine: boolean;
  groupNames: string[];
  groupCount: number;
  needsUnicode: boolean;
}

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const PERL_CLASSES: Record<string, string> = {
  d: '0-9',
  s: '\\t\\n\\f\\r ',
  w: '0-9A-Za-z_',
};

// Unicode simple case folding beyond what toLowerCase/toUpperCase pair up.
const EXTRA_FOLDS: Record<string, string> = {
  k: '\\u212A',
  K: '\\u212A',
  s: '\\u017F',
  S: '\\u017F',
  σ: 'ς',
  ς: 'σΣ',
  Σ: 'ς',
};

const SURROGATE_PAIR = '[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]';
const SURROGATES = '\\uD800-\\uDFFF';

const compileCache = new Map<string, CompiledRegex>();
const CACHE_LIMIT = 1000;

/** Compiles RE2 text. Throws RegexSyntaxError with RE2-like wording on bad syntax. */
export function compileRe2(source: string, options: { anchored?: boolean } = {}): CompiledRegex {
  const key = (options.anchored ? 'A' : 'U') + source;
  const cached = compileCache.get(key);
  if (cached) return cached;
  const state: TranslateState = {
    text: source,
    pos: 0,
    caseInsensitive: false,
    dotAll: false,
    multiLine: false,
    groupNames: [],
    groupCount: 0,
    needsUnicode: false,
  };
  let body = translateAlternation(state);
  if (state.pos < source.length) {
    throw new RegexSyntaxError(`error parsing regexp: unexpected ): \`${source}\``);
  }
  if (options.anchored) body = `^(?:${body})$`;
  const built = buildSafe(body, options.anchored ? `^(?:${source})$` : source, state.needsUnicode);
  const compiled: CompiledRegex = { source, ...built, groupNames: state.groupNames, groupCount: state.groupCount };
  if (compileCache.size >= CACHE_LIMIT) compileCache.clear();
  compileCache.set(key, compiled);
  return compiled;
}

function buildSafe(body: string, re2Source: string, needsUnicode: boolean): Pick<CompiledRegex, 'regexp' | 'global' | 'engine'> {
  if (!needsUnicode) {
    let linearOk = false;
    try {
      new RegExp(body, 'l');
      linearOk = true;
    } catch {
      // The linear engine refused it (large counted repetitions); RE2 takes it below.
    }
    if (linearOk) return { regexp: new RegExp(body), global: () => new RegExp(body, 'g'), engine: 'v8' };
  }
  try {
    const regexp = new RE2(re2Source, 'u') as unknown as RegexEngine;
    return { regexp, global: () => new RE2(re2Source, 'gu') as unknown as RegexEngine, engine: 're2' };
  } catch (error) {
    throw new RegexSyntaxError(`error parsing regexp: ${(error as Error).message}`);
  }
}

function translateAlternation(state: TranslateState): string {
  const savedFlags = { i: state.caseInsensitive, s: state.dotAll, m: state.multiLine };
  let out = '';
  for (;;) {
    out += translateSequence(state);
    if (state.text[state.pos] === '|') {
      out += '|';
      state.pos++;
      continue;
    }
    break;
  }
  state.caseInsensitive = savedFlags.i;
  state.dotAll = savedFlags.s;
  state.multiLine = savedFlags.m;
  return out;
}

function translateSequence(state: TranslateState): string {
  let out = '';
  let lastAtomEmpty = true;
  const text = state.text;
  while (state.pos < text.length) {
    const ch = text[state.pos]!;
    if (ch === '|' || ch === ')') break;
    if (ch === '*' || ch === '+' || ch === '?' || (ch === '{' && isRepeat(text, state.pos))) {
      if (lastAtomEmpty) {
        const op = ch === '{' ? text.slice(state.pos, text.indexOf('}', state.pos) + 1) : ch;
        throw new RegexSyntaxError(`error parsing regexp: missing argument to repetition operator: \`${op}\``);
      }
      let op = ch;
      if (ch === '{') {
        const close = text.indexOf('}', state.pos);
        op = text.slice(state.pos, close + 1);
        const numbers = op.slice(1, -1).split(',');
        if (numbers.some((n) => n !== '' && Number(n) > 1000) || (numbers[1] && Number(numbers[1]) < Number(numbers[0]))) {
          throw new RegexSyntaxError(`error parsing regexp: invalid repeat count: \`${op}\``);
        }
        state.pos = close + 1;
      } else {
        state.pos++;
      }
      if (text[state.pos] === '?') {
        op += '?';
        state.pos++;
      }
      const next = text[state.pos];
      // RE2 rejects a repetition of a repetition (`a**`, `a+{2}`); `a*?` is the lazy form, handled above.
      if (next === '*' || next === '+' || (next === '{' && isRepeat(text, state.pos))) {
        throw new RegexSyntaxError(`error parsing regexp: invalid nested repetition operator: \`${op}${next}\``);
      }
      out += op;
      lastAtomEmpty = true;
      continue;
    }
    const atom = translateAtom(state);
    if (atom === null) continue; // a flag group like (?i) produces no text
    out += atom;
    lastAtomEmpty = atom === '^' || atom === '$' || atom === '(?:^)' || atom === '(?:$)';
  }
  return out;
}

function isRepeat(text: string, pos: number): boolean {
  return /^\{\d+(?:,\d*)?\}/.test(text.slice(pos, pos + 16));
}

function translateAtom(state: TranslateState): string | null {
  const text = state.text;
  const ch = text[state.pos]!;
  switch (ch) {
    case '(':
      return translateGroup(state);
    case '[':
      return translateClass(state);
    case '.':
      state.pos++;
      // RE2 matches code points; without the `u` flag V8 matches UTF-16 units, so a surrogate pair
      // (an emoji) must be consumed as one character and never split. Lines decoded from UTF-8
      // never hold lone surrogates, so excluding them from the single-unit branch loses nothing.
      return state.dotAll ? `(?:${SURROGATE_PAIR}|[^${SURROGATES}])` : `(?:${SURROGATE_PAIR}|[^\\n${SURROGATES}])`;
    case '^':
      state.pos++;
      return state.multiLine ? '(?:^|(?<=\\n))' : '^';
    case '$':
      state.pos++;
      return state.multiLine ? '(?:$|(?=\\n))' : '$';
    case '\\':
      return translateEscape(state, false);
    default: {
      const codePoint = text.codePointAt(state.pos)!;
      const literal = String.fromCodePoint(codePoint);
      state.pos += literal.length;
      return literalText(state, literal);
    }
  }
}

function literalText(state: TranslateState, literal: string): string {
  if (state.caseInsensitive) {
    const variants = foldVariants(literal);
    if (variants.length > 1) return `[${variants.map(escapeClassChar).join('')}]`;
  }
  if (literal.length > 1) return `(?:${literal})`;
  return escapeLiteral(literal);
}

function foldVariants(ch: string): string[] {
  const set = new Set<string>([ch]);
  const lower = ch.toLowerCase();
  const upper = ch.toUpperCase();
  if (lower.length === ch.length) set.add(lower);
  if (upper.length === ch.length) set.add(upper);
  for (const c of [...set]) {
    const extra = EXTRA_FOLDS[c];
    if (extra) for (const e of extra.startsWith('\\u') ? [String.fromCharCode(parseInt(extra.slice(2), 16))] : [...extra]) set.add(e);
  }
  return [...set];
}

function escapeLiteral(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch === '\n' ? '\\n' : ch;
}

function escapeClassChar(ch: string): string {
  return /[\\\]^-]/.test(ch) ? `\\${ch}` : ch === '\n' ? '\\n' : ch;
}

function translateGroup(state: TranslateState): string | null {
  const text = state.text;
  const start = state.pos;
  state.pos++;
  if (text[state.pos] === '?') {
    // (?P<name>re), (?<name>re), (?flags), (?flags:re)
    if (text.startsWith('P<', state.pos + 1) || (text[state.pos + 1] === '<' && text[state.pos + 2] !== '=' && text[state.pos + 2] !== '!')) {
      const nameStart = text.indexOf('<', state.pos) + 1;
      const nameEnd = text.indexOf('>', nameStart);
      if (nameEnd < 0) throw new RegexSyntaxError(`error parsing regexp: invalid named capture: \`${text.slice(start)}\``);
      const name = text.slice(nameStart, nameEnd);
      if (!/^[A-Za-z0-9_]+$/.test(name)) {
        throw new RegexSyntaxError(`error parsing regexp: invalid named capture: \`${text.slice(start, nameEnd + 1)}\``);
      }
      if (state.groupNames.includes(name)) {
        throw new RegexSyntaxError(`error parsing regexp: duplicate capture group name: \`${text.slice(start, nameEnd + 1)}\``);
      }
      state.groupNames.push(name);
      state.groupCount++;
      const jsName = /^[A-Za-z_]/.test(name) ? name : `_${name}`;
      state.pos = nameEnd + 1;
      const inner = translateAlternation(state);
      expectClose(state, start);
      return `(?<${jsName}>${inner})`;
    }
    let i = state.pos + 1;
    let negate = false;
    const flags = { i: state.caseInsensitive, s: state.dotAll, m: state.multiLine };
    while (i < text.length && text[i] !== ')' && text[i] !== ':') {
      const f = text[i]!;
      if (f === '-') negate = true;
      else if (f === 'i') flags.i = !negate;
      else if (f === 's') flags.s = !negate;
      else if (f === 'm') flags.m = !negate;
      else if (f === 'U') {
        throw new RegexSyntaxError(`error parsing regexp: ungreedy flag (?U) is not supported: \`${text.slice(start, i + 1)}\``);
      } else throw new RegexSyntaxError(`error parsing regexp: invalid or unsupported Perl syntax: \`${text.slice(start, i + 1)}\``);
      i++;
    }
    if (i >= text.length) throw new RegexSyntaxError(`error parsing regexp: missing closing ): \`${text}\``);
    if (text[i] === ')') {
      state.pos = i + 1;
      state.caseInsensitive = flags.i;
      state.dotAll = flags.s;
      state.multiLine = flags.m;
      return null;
    }
    const saved = { i: state.caseInsensitive, s: state.dotAll, m: state.multiLine };
    state.caseInsensitive = flags.i;
    state.dotAll = flags.s;
    state.multiLine = flags.m;
    state.pos = i + 1;
    const inner = translateAlternation(state);
    expectClose(state, start);
    state.caseInsensitive = saved.i;
    state.dotAll = saved.s;
    state.multiLine = saved.m;
    return `(?:${inner})`;
  }
  state.groupCount++;
  const inner = translateAlternation(state);
  expectClose(state, start);
  return `(${inner})`;
}

function expectClose(state: TranslateState, start: number): void {
  if (state.text[state.pos] !== ')') {
    throw new RegexSyntaxError(`error parsing regexp: missing closing ): \`${state.text.slice(start)}\``);
  }
  state.pos++;
}

function translateEscape(state: TranslateState, inClass: boolean): string {
  const text = state.text;
  const next = text[state.pos + 1];
  if (next === undefined) throw new RegexSyntaxError(`error parsing regexp: trailing backslash at end of expression: \`\``);
  state.pos += 2;
  if (next === 'd' || next === 's' || next === 'w') return inClass ? PERL_CLASSES[next]! : `[${PERL_CLASSES[next]}]`;
  if (next === 'D' || next === 'S' || next === 'W') {
    const cls = PERL_CLASSES[next.toLowerCase()]!;
    if (inClass) throw new RegexSyntaxError(`error parsing regexp: negated class \\${next} inside a class is not supported`);
    return `(?:${SURROGATE_PAIR}|[^${cls}${SURROGATES}])`;
  }
  if (!inClass) {
    if (next === 'A') return '^';
    if (next === 'z') return '$';
    if (next === 'b') return '\\b';
    if (next === 'B') return '\\B';
    if (next === 'Q') {
      const end = text.indexOf('\\E', state.pos);
      const quoted = text.slice(state.pos, end < 0 ? text.length : end);
      state.pos = end < 0 ? text.length : end + 2;
      return [...quoted].map((c) => literalText(state, c)).join('');
    }
  }
  if (next === 'p' || next === 'P') {
    let name: string;
    if (text[state.pos] === '{') {
      const close = text.indexOf('}', state.pos);
      name = text.slice(state.pos + 1, close);
      state.pos = close + 1;
    } else {
      name = text[state.pos]!;
      state.pos++;
    }
    state.needsUnicode = true;
    const prop = name === 'Any' ? '[\\s\\S]' : null;
    if (prop) return prop;
    const neg = (next === 'P') !== name.startsWith('^');
    return `\\${neg ? 'P' : 'p'}{${name.replace(/^\^/, '')}}`;
  }
  if (next === 'x') {
    let hex: string;
    if (text[state.pos] === '{') {
      const close = text.indexOf('}', state.pos);
      hex = text.slice(state.pos + 1, close);
      state.pos = close + 1;
    } else {
      hex = text.slice(state.pos, state.pos + 2);
      state.pos += 2;
    }
    const ch = String.fromCodePoint(parseInt(hex, 16));
    return inClass ? escapeClassChar(ch) : literalText(state, ch);
  }
  if (/[0-7]/.test(next)) {
    if (next === '0' || /[0-7]{2}/.test(text.slice(state.pos, state.pos + 2))) {
      let octal = next;
      while (octal.length < 3 && /[0-7]/.test(text[state.pos] ?? '')) octal += text[state.pos++];
      const ch = String.fromCharCode(parseInt(octal, 8));
      return inClass ? escapeClassChar(ch) : literalText(state, ch);
    }
    throw new RegexSyntaxError(`error parsing regexp: invalid escape sequence: \`\\${next}\``);
  }
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07' };
  if (simple[next] !== undefined) return inClass ? escapeClassChar(simple[next]) : escapeLiteral(simple[next]);
  if (/[A-Za-z0-9]/.test(next)) {
    throw new RegexSyntaxError(`error parsing regexp: invalid escape sequence: \`\\${next}\``);
  }
  return inClass ? escapeClassChar(next) : literalText(state, next);
}

function translateClass(state: TranslateState): string {
  const text = state.text;
  const start = state.pos;
  state.pos++;
  let negated = false;
  if (text[state.pos] === '^') {
    negated = true;
    state.pos++;
  }
  let out = '';
  let first = true;
  while (state.pos < text.length && (text[state.pos] !== ']' || first)) {
    first = false;
    if (text.startsWith('[:', state.pos)) {
      const close = text.indexOf(':]', state.pos);
      if (close > 0) {
        let name = text.slice(state.pos + 2, close);
        const neg = name.startsWith('^');
        if (neg) name = name.slice(1);
        const cls = POSIX_CLASSES[name];
        if (!cls) throw new RegexSyntaxError(`error parsing regexp: invalid character class range: \`${text.slice(state.pos, close + 2)}\``);
        if (neg) throw new RegexSyntaxError(`error parsing regexp: negated POSIX class inside a class is not supported`);
        out += state.caseInsensitive && (name === 'lower' || name === 'upper') ? 'A-Za-z' : cls;
        state.pos = close + 2;
        continue;
      }
    }
    let low: string;
    if (text[state.pos] === '\\') {
      const escaped = translateEscape(state, true);
      if (escaped.length > 1 && !escaped.startsWith('\\')) {
        out += escaped;
        continue;
      }
      if (escaped.startsWith('\\p') || escaped.startsWith('\\P')) {
        out += escaped;
        continue;
      }
      low = escaped.startsWith('\\') ? escaped.slice(1) : escaped;
    } else {
      const cp = text.codePointAt(state.pos)!;
      low = String.fromCodePoint(cp);
      state.pos += low.length;
      if (low.length > 1) state.needsUnicode = true;
    }
    if (text[state.pos] === '-' && text[state.pos + 1] !== ']' && state.pos + 1 < text.length) {
      state.pos++;
      let high: string;
      if (text[state.pos] === '\\') {
        const escaped = translateEscape(state, true);
        high = escaped.startsWith('\\') ? escaped.slice(1) : escaped;
      } else {
        const cp = text.codePointAt(state.pos)!;
        high = String.fromCodePoint(cp);
        state.pos += high.length;
      }
      if (high.codePointAt(0)! < low.codePointAt(0)!) {
        throw new RegexSyntaxError(`error parsing regexp: invalid character class range: \`${low}-${high}\``);
      }
      out += `${escapeClassChar(low)}-${escapeClassChar(high)}`;
      if (state.caseInsensitive) out += foldRange(low, high);
      continue;
    }
    out += state.caseInsensitive ? foldVariants(low).map(escapeClassChar).join('') : escapeClassChar(low);
  }
  if (text[state.pos] !== ']') throw new RegexSyntaxError(`error parsing regexp: missing closing ]: \`${text.slice(start)}\``);
  state.pos++;
  return negated ? `(?:${SURROGATE_PAIR}|[^${out}${SURROGATES}])` : `[${out}]`;
}

function foldRange(low: string, high: string): string {
  const lo = low.codePointAt(0)!;
  const hi = high.codePointAt(0)!;
  let extra = '';
  // ASCII letter ranges are the common case; wider ranges would blow up the class for little gain.
  const a = Math.max(lo, 0x41);
  const b = Math.min(hi, 0x7a);
  for (let c = a; c <= b; c++) {
    const ch = String.fromCharCode(c);
    for (const v of foldVariants(ch)) if (v !== ch) extra += escapeClassChar(v);
  }
  return extra;
}

/** RE2's `MatchString`: does the regex match anywhere in the text. */
export function re2Test(compiled: CompiledRegex, text: string): boolean {
  compiled.regexp.lastIndex = 0;
  return compiled.regexp.test(text);
}

/** Capture groups by index (1-based array, index 0 is the whole match), or null. */
export function re2Exec(compiled: CompiledRegex, text: string): RegExpExecArray | null {
  compiled.regexp.lastIndex = 0;
  return compiled.regexp.exec(text);
}

/** Does a fully-anchored matcher regex (Prometheus label matcher) match the whole value. */
export function re2FullMatch(source: string, value: string): boolean {
  return compileRe2(source, { anchored: true }).regexp.test(value);
}

/** Named-group names mapped to their JS group key (names starting with a digit get a `_` prefix). */
export function jsGroupName(name: string): string {
  return /^[A-Za-z_]/.test(name) ? name : `_${name}`;
}
