// The RE2 syntax tree: plain tagged data, produced once by parse.ts and walked by every later pass
// (validation, literal extraction, translation to V8, compilation to the linear-time matcher).
// Flags are already applied: `(?i)` shows as `foldCase` on literals and folded classes, `(?s)` as
// `anyChar`, `(?m)` as line anchors, `(?U)` as swapped greediness.

/** A set of code points: sorted, merged `[lo, hi]` pairs, plus Unicode properties tested per character. */
export interface CharSet {
  /** Flat `[lo0, hi0, lo1, hi1, …]`, sorted and non-overlapping, inclusive bounds. */
  ranges: number[];
  /** `\p{…}` terms; a character in any of them (or in `ranges`) is in the set. */
  properties: UnicodeProperty[];
  /** The set is the complement of ranges ∪ properties. */
  negated: boolean;
}

export interface UnicodeProperty {
  /** The JS spelling, e.g. `gc=Lu`, `sc=Greek`, `Any`. */
  jsName: string;
  /** `\P{…}` or `\p{^…}`. */
  negated: boolean;
  /** Under `(?i)`: the property is tested with case folding. */
  foldCase: boolean;
}

export type Assertion = 'beginText' | 'endText' | 'beginLine' | 'endLine' | 'wordBoundary' | 'notWordBoundary';

export type RegexNode =
  | { kind: 'empty' }
  | { kind: 'literal'; codePoint: number; foldCase: boolean }
  | { kind: 'class'; set: CharSet }
  | { kind: 'anyChar' }
  | { kind: 'anyCharNotNewline' }
  | { kind: 'assert'; assertion: Assertion }
  | { kind: 'capture'; index: number; name: string | undefined; sub: RegexNode }
  | { kind: 'repeat'; min: number; max: number; greedy: boolean; sub: RegexNode }
  | { kind: 'concat'; subs: RegexNode[] }
  | { kind: 'alternate'; subs: RegexNode[] };

/** A parsed regex: the tree and what callers ask about captures. */
export interface ParsedRegex {
  source: string;
  root: RegexNode;
  /** Number of capturing groups, named and unnamed; group i is the i-th `(` that captures. */
  captureCount: number;
  /** Name of each capturing group by index (index 0 unused), undefined for unnamed groups. */
  captureNames: (string | undefined)[];
}

/** `max` of a repetition without an upper bound (`*`, `+`, `{n,}`). */
export const UNBOUNDED = -1;
