// Compiling an RE2 regex for execution, linear-time in every case, with a bounded cache.
//
// One parse (parse.ts) feeds both backends:
// - V8, when the flagless translation (v8-translation.ts) is accepted by V8's linear-time engine.
//   It then runs on V8's JIT-compiled backtracking engine, which V8 itself switches to the linear
//   engine once a run exceeds a backtrack budget (`--enable-experimental-regexp-engine-on-excessive-
//   backtracks`, 50,000 backtracks by default). Fast in the common case, linear in the worst.
// - Our lazy DFA (lazy-dfa.ts, for test()) and Pike VM (pike-vm.ts, for captures) for the rest:
//   `\pL`, `(?m)$`, counted repetitions past V8's limit of 16 copies (`[0-9a-f]{32}`), captures
//   whose RE2 value V8 would get wrong. Texts of 4096+ characters see the DFA first on both paths.
// Measured with bench/regex.ts (figures in bench/README.md, "Regex engines").

import v8 from 'node:v8';
import type { ParsedRegex, RegexNode } from './ast.ts';
import { parseRegex } from './parse.ts';
import { LazyDfa } from './lazy-dfa.ts';
import { compileProgram, type Program } from './program.ts';
import { pikeSearch } from './pike-vm.ts';
import { toV8Pattern } from './v8-translation.ts';

v8.setFlagsFromString('--enable-experimental-regexp-engine');
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/** The subset of RegExp both backends offer (`exec` results carry `.groups` for named captures). */
export interface RegexEngine {
  lastIndex: number;
  test(text: string): boolean;
  exec(text: string): RegExpExecArray | null;
}

/** Both backends: RegexEngine plus group values without a groups object. */
export interface CapturingRegexEngine extends RegexEngine {
  /**
   * exec without `.groups`: the match's values by group number (0 the whole match, undefined for a
   * group that did not take part). For callers that read a few groups by number: no object per match.
   */
  captures(text: string): ArrayLike<string | undefined> | null;
}

export interface CompiledRegex {
  /** The RE2 text as compiled (for anchored forms, the wrapped text). */
  source: string;
  parsed: ParsedRegex;
  /** Unanchored search, as RE2's `MatchString` / `FindStringSubmatch`. */
  regexp: CapturingRegexEngine;
  /** A fresh global instance for find-all loops (replace, count). */
  global(): CapturingRegexEngine;
  engine: 'v8' | 'pike';
  /** Names of `(?P<name>…)` groups, in order of appearance. */
  groupNames: string[];
  /** Number of capturing groups, named and unnamed. */
  groupCount: number;
  /** Frees what the regex holds beyond the garbage collector's reach (its DFA cache budget). */
  release?: () => void;
}

/** How the text is wrapped before compiling. */
export type RegexMode =
  /** As written: an unanchored search. */
  | 'search'
  /** `^(?:re)$`: Loki's label_replace. */
  | 'anchored'
  /** `^(?s:re)$`: a Prometheus label matcher (stream selectors, label filters, series selectors). */
  | 'matcher';

/** The text a mode compiles, so error messages quote what Go would quote. */
export function wrapForMode(source: string, mode: RegexMode): string {
  if (mode === 'anchored') return `^(?:${source})$`;
  if (mode === 'matcher') return `^(?s:${source})$`;
  return source;
}

/** The key used for a named group in `exec(...).groups` (names may start with a digit in RE2). */
export function jsGroupName(name: string): string {
  return name;
}

function groupsOf(parsed: ParsedRegex, match: ArrayLike<string | undefined>): Record<string, string | undefined> | undefined {
  let groups: Record<string, string | undefined> | undefined;
  for (let i = 1; i < parsed.captureNames.length; i++) {
    const name = parsed.captureNames[i];
    if (name === undefined) continue;
    groups ??= Object.create(null) as Record<string, string | undefined>;
    // Go's Expand and SubexpIndex take the first group of a name.
    if (groups[name] === undefined) groups[name] = match[i];
  }
  return groups;
}

/**
 * Texts at least this long are first checked by the lazy DFA. V8's backtracking engine falls back
 * to its linear engine only after 50,000 backtracks, and that engine runs at ~1 MB/s: a hostile
 * pattern costs 50-100 ms per 100k-character line there, ~1 ms in the DFA (bench/regex.ts). On
 * short lines V8's JIT is faster and the fallback cost small, so they go straight to V8.
 */
const LONG_TEXT_CHARS = 4096;

/** The DFA of a V8-run regex, built on the first long text. */
class LongTextGuard {
  private dfa: LazyDfa | undefined;
  private readonly parsed: ParsedRegex;

  constructor(parsed: ParsedRegex) {
    this.parsed = parsed;
  }

  /** false when the text surely has no match; undefined when V8 must answer. */
  matches(text: string): boolean | undefined {
    if (text.length < LONG_TEXT_CHARS) return undefined;
    this.dfa ??= new LazyDfa(compileProgram(this.parsed));
    return this.dfa.matches(text);
  }

  release(): void {
    this.dfa?.release();
    this.dfa = undefined;
  }
}

class V8Engine implements CapturingRegexEngine {
  private readonly regexp: RegExp;
  private readonly parsed: ParsedRegex;
  private readonly named: boolean;
  private readonly guard: LongTextGuard;

  constructor(regexp: RegExp, parsed: ParsedRegex, guard: LongTextGuard) {
    this.regexp = regexp;
    this.parsed = parsed;
    this.named = parsed.captureNames.some((name) => name !== undefined);
    this.guard = guard;
  }

  get lastIndex(): number {
    return this.regexp.lastIndex;
  }

  set lastIndex(value: number) {
    this.regexp.lastIndex = value;
  }

  test(text: string): boolean {
    if (!this.regexp.global) {
      const answer = this.guard.matches(text);
      if (answer !== undefined) return answer;
    }
    return this.regexp.test(text);
  }

  captures(text: string): RegExpExecArray | null {
    if ((!this.regexp.global || this.regexp.lastIndex === 0) && this.guard.matches(text) === false) {
      this.regexp.lastIndex = 0;
      return null;
    }
    return this.regexp.exec(text);
  }

  exec(text: string): RegExpExecArray | null {
    const match = this.captures(text);
    if (match !== null && this.named) match.groups = groupsOf(this.parsed, match) as Record<string, string>;
    return match;
  }
}

class PikeEngine implements CapturingRegexEngine {
  lastIndex = 0;
  private readonly program: Program;
  private readonly parsed: ParsedRegex;
  private readonly isGlobal: boolean;
  /** Answers test() and rejects non-matching texts before exec() pays for captures. */
  private readonly dfa: LazyDfa;

  constructor(program: Program, parsed: ParsedRegex, isGlobal: boolean, dfa: LazyDfa) {
    this.program = program;
    this.parsed = parsed;
    this.isGlobal = isGlobal;
    this.dfa = dfa;
  }

  private startOf(text: string): number {
    if (!this.isGlobal) return 0;
    if (this.lastIndex > text.length) {
      this.lastIndex = 0;
      return -1;
    }
    return this.lastIndex;
  }

  test(text: string): boolean {
    if (this.isGlobal) return this.exec(text) !== null;
    return this.dfa.matches(text) ?? pikeSearch(this.program, text, 0, false) !== null;
  }

  exec(text: string): RegExpExecArray | null {
    const match = this.captures(text);
    if (match !== null) match.groups = groupsOf(this.parsed, match) as Record<string, string>;
    return match;
  }

  captures(text: string): RegExpExecArray | null {
    const start = this.startOf(text);
    if (start < 0) return null;
    if (start === 0 && this.dfa.matches(text) === false) {
      if (this.isGlobal) this.lastIndex = 0;
      return null;
    }
    const slots = pikeSearch(this.program, text, start, true);
    if (slots === null) {
      if (this.isGlobal) this.lastIndex = 0;
      return null;
    }
    const values: (string | undefined)[] = [];
    for (let group = 0; group * 2 < slots.length; group++) {
      const from = slots[group * 2]!;
      const to = slots[group * 2 + 1]!;
      values.push(from >= 0 && to >= 0 ? text.slice(from, to) : undefined);
    }
    const match = values as unknown as RegExpExecArray;
    match.index = slots[0]!;
    match.input = text;
    if (this.isGlobal) this.lastIndex = slots[1]!;
    return match;
  }
}

function build(source: string, parsed: ParsedRegex): CompiledRegex {
  const base = {
    source,
    parsed,
    groupNames: parsed.captureNames.filter((name): name is string => name !== undefined),
    groupCount: parsed.captureCount,
  };
  const pattern = toV8Pattern(parsed.root);
  if (pattern !== undefined && linearEngineAccepts(pattern)) {
    const guard = new LongTextGuard(parsed);
    return {
      ...base,
      engine: 'v8',
      regexp: new V8Engine(new RegExp(pattern), parsed, guard),
      global: () => new V8Engine(new RegExp(pattern, 'g'), parsed, guard),
      release: () => guard.release(),
    };
  }
  const program = compileProgram(parsed);
  const dfa = new LazyDfa(program);
  return {
    ...base,
    engine: 'pike',
    regexp: new PikeEngine(program, parsed, false, dfa),
    global: () => new PikeEngine(program, parsed, true, dfa),
    release: () => dfa.release(),
  };
}

function linearEngineAccepts(pattern: string): boolean {
  try {
    new RegExp(pattern, 'l');
    return true;
  } catch {
    // Too many counted copies for the linear engine (it allows 16): the Pike VM runs it.
    return false;
  }
}

/**
 * Bound on cached compiled regexes. Each costs a parse tree and either a V8 regex or a program of
 * at most MAX_PROGRAM_SIZE instructions; a query names a handful, so 1,000 covers every live query
 * while a client sending endless distinct patterns only cycles the cache. Evicted entries hold no
 * native memory (no WebAssembly heap), so the garbage collector frees them.
 */
export const MAX_CACHED_REGEXES = 1000;

const cache = new Map<string, CompiledRegex>();

/** Compiles RE2 text (cached, least recently used evicted). Throws RegexSyntaxError on bad syntax. */
export function compileRegex(source: string, mode: RegexMode = 'search'): CompiledRegex {
  const text = wrapForMode(source, mode);
  // Plain keys start with a NUL, keys of capture subsets with `[`: they never collide.
  return cached(`\u0000${text}`, () => build(text, parseRegex(text)));
}

/**
 * The unanchored search of `source`, with only the first group of each of `names` capturing: the
 * others compile as plain groups, so a match slices no string for them, and a capture that kept the
 * regex off V8 (one in a loop that may skip it) no longer does. Which text matches is unchanged,
 * and so is each kept group's value. Groups are renumbered in order of appearance: a name's number
 * is `parsed.captureNames.indexOf(name)` (-1 when the source has no such group). Cached as
 * compileRegex is; throws RegexSyntaxError on bad syntax.
 */
export function compileCaptureSubset(source: string, names: readonly string[]): CompiledRegex {
  return cached(`${JSON.stringify(names)}\u0000${source}`, () => build(source, keepCaptures(parseRegex(source), names)));
}

/** The tree with every capture but the first of each name turned into a plain group. */
function keepCaptures(parsed: ParsedRegex, names: readonly string[]): ParsedRegex {
  const kept = new Set<number>();
  for (const name of names) {
    const index = parsed.captureNames.indexOf(name);
    if (index > 0) kept.add(index);
  }
  const captureNames: (string | undefined)[] = [undefined];
  const strip = (node: RegexNode): RegexNode => {
    switch (node.kind) {
      case 'capture': {
        if (!kept.has(node.index)) return strip(node.sub);
        // Numbered before its body: an outer group's `(` comes first.
        const index = captureNames.push(node.name) - 1;
        return { kind: 'capture', index, name: node.name, sub: strip(node.sub) };
      }
      case 'repeat':
        return { ...node, sub: strip(node.sub) };
      case 'concat':
      case 'alternate':
        return { ...node, subs: node.subs.map(strip) };
      default:
        return node;
    }
  };
  const root = strip(parsed.root);
  return { source: parsed.source, root, captureCount: captureNames.length - 1, captureNames };
}

function cached(key: string, compile: () => CompiledRegex): CompiledRegex {
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const compiled = compile();
  if (cache.size >= MAX_CACHED_REGEXES) {
    const [oldestKey, oldest] = cache.entries().next().value!;
    cache.delete(oldestKey);
    oldest.release?.();
  }
  cache.set(key, compiled);
  return compiled;
}

/** Cache occupancy, for tests and metrics. */
export function cachedRegexCount(): number {
  return cache.size;
}

/** A matcher's regex (`^(?s:re)$`) tested against a whole value. */
export function matchesWhole(source: string, value: string): boolean {
  return compileRegex(source, 'matcher').regexp.test(value);
}
