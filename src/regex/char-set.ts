// Code-point sets for RE2 classes: `[a-z]`, `\d`, `[[:alpha:]]`, `\pL`, with RE2's case folding.
// Ranges are flat sorted arrays of inclusive pairs, so both backends read them directly: the V8
// translation spells them as a class, the linear matcher binary-searches them.

import type { CharSet, UnicodeProperty } from './ast.ts';

export const MAX_CODE_POINT = 0x10ffff;

/** RE2's ASCII POSIX classes (`[[:alpha:]]`), as ranges. */
export const POSIX_CLASSES: Readonly<Record<string, readonly number[]>> = {
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  digit: [0x30, 0x39],
  graph: [0x21, 0x7e],
  lower: [0x61, 0x7a],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [0x41, 0x5a],
  word: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

/** RE2's Perl classes: ASCII only, and `\s` is `[\t\n\f\r ]` (no `\v`). */
export const PERL_CLASSES: Readonly<Record<string, readonly number[]>> = {
  d: [0x30, 0x39],
  s: [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20],
  w: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
};

const GENERAL_CATEGORIES = new Set([
  'C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No',
  'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs',
]);

const propertyTests = new Map<string, RegExp>();

/** The JS property for an RE2 `\p{name}` (a general category, a script or `Any`), or undefined. */
export function unicodePropertyName(name: string): string | undefined {
  if (name === 'Any') return 'Any';
  if (GENERAL_CATEGORIES.has(name)) return `gc=${name}`;
  if (!/^[A-Z][A-Za-z_]*$/.test(name)) return undefined;
  const jsName = `sc=${name}`;
  try {
    propertyTest({ jsName, negated: false, foldCase: false });
    return jsName;
  } catch {
    return undefined;
  }
}

/** A single-character test for a property (the property itself, not its negation). */
export function propertyTest(property: UnicodeProperty): RegExp {
  const key = `${property.jsName}/${property.foldCase ? 'i' : ''}`;
  let test = propertyTests.get(key);
  if (test === undefined) {
    test = new RegExp(`^\\p{${property.jsName}}$`, property.foldCase ? 'iu' : 'u');
    propertyTests.set(key, test);
  }
  return test;
}

/** Sorts and merges flat range pairs. */
export function normalizeRanges(ranges: number[]): number[] {
  if (ranges.length <= 2) return ranges.slice();
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last]! + 1) {
      if (hi > out[last]!) out[last] = hi;
    } else out.push(lo, hi);
  }
  return out;
}

/** The complement of normalized ranges within [0, MAX_CODE_POINT]. */
export function negateRanges(ranges: readonly number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i]! > next) out.push(next, ranges[i]! - 1);
    next = ranges[i + 1]! + 1;
  }
  if (next <= MAX_CODE_POINT) out.push(next, MAX_CODE_POINT);
  return out;
}

// Unicode simple case folding orbits (k, K and the Kelvin sign; s, S and long s; σ, ς and Σ …),
// derived once from the engine's own case mappings. Building it costs ~60 ms, so it waits for the
// first `(?i)` that needs it.
let foldOrbits: Map<number, number[]> | undefined;
let foldableCodePoints: number[] | undefined;

/** Highest code point with a case mapping (Adlam, U+1E943), so the scan stops there. */
const LAST_CASED_CODE_POINT = 0x1e943;

function buildFoldTable(): void {
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let root = x;
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root)!;
    return root;
  };
  const union = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    if (!parent.has(ra)) parent.set(ra, ra);
    if (!parent.has(rb)) parent.set(rb, rb);
    if (ra !== rb) parent.set(ra, rb);
  };
  for (let cp = 0; cp <= LAST_CASED_CODE_POINT; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    for (const mapped of [ch.toLowerCase(), ch.toUpperCase()]) {
      if (mapped === ch) continue;
      const other = mapped.codePointAt(0)!;
      if (String.fromCodePoint(other) !== mapped) continue; // a mapping to several characters is not a simple fold
      union(cp, other);
    }
  }
  const orbits = new Map<number, number[]>();
  for (const cp of parent.keys()) {
    const root = find(cp);
    let orbit = orbits.get(root);
    if (orbit === undefined) orbits.set(root, (orbit = []));
    orbit.push(cp);
  }
  foldOrbits = new Map();
  for (const orbit of orbits.values()) {
    orbit.sort((a, b) => a - b);
    for (const cp of orbit) foldOrbits.set(cp, orbit);
  }
  foldableCodePoints = [...foldOrbits.keys()].sort((a, b) => a - b);
}

// ASCII letters fold among themselves plus two code points outside ASCII; knowing that here keeps
// `(?i)error` from paying for the full table.
const ASCII_EXTRA_FOLDS: Readonly<Record<number, number>> = { 0x4b: 0x212a, 0x6b: 0x212a, 0x53: 0x17f, 0x73: 0x17f };

function asciiOrbit(codePoint: number): number[] {
  const isUpper = codePoint >= 0x41 && codePoint <= 0x5a;
  const isLower = codePoint >= 0x61 && codePoint <= 0x7a;
  if (!isUpper && !isLower) return [codePoint];
  const upper = isUpper ? codePoint : codePoint - 0x20;
  const orbit = [upper, upper + 0x20];
  const extra = ASCII_EXTRA_FOLDS[codePoint];
  if (extra !== undefined) orbit.push(extra);
  return orbit;
}

/** Every code point equal to `codePoint` under simple case folding, itself included, ascending. */
export function foldOrbit(codePoint: number): readonly number[] {
  if (codePoint < 0x80) return asciiOrbit(codePoint);
  if (foldOrbits === undefined) buildFoldTable();
  return foldOrbits!.get(codePoint) ?? [codePoint];
}

/** Adds the case variants of every code point in the ranges (RE2's appendFoldedRange). */
export function foldRanges(ranges: readonly number[]): number[] {
  if (ranges.length === 0 || ranges[ranges.length - 1]! < 0x80) {
    const out = ranges.slice();
    for (let i = 0; i < ranges.length; i += 2) {
      for (let cp = Math.max(ranges[i]!, 0x41); cp <= Math.min(ranges[i + 1]!, 0x7a); cp++) {
        for (const variant of asciiOrbit(cp)) out.push(variant, variant);
      }
    }
    return normalizeRanges(out);
  }
  if (foldOrbits === undefined) buildFoldTable();
  const foldable = foldableCodePoints!;
  const out = ranges.slice();
  for (let i = 0; i < ranges.length; i += 2) {
    const lo = ranges[i]!;
    const hi = ranges[i + 1]!;
    let index = lowerBound(foldable, lo);
    for (; index < foldable.length && foldable[index]! <= hi; index++) {
      for (const variant of foldOrbits!.get(foldable[index]!)!) out.push(variant, variant);
    }
  }
  return normalizeRanges(out);
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether normalized ranges contain a code point (binary search). */
export function rangesContain(ranges: readonly number[], codePoint: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid * 2 + 1]! < codePoint) lo = mid + 1;
    else hi = mid;
  }
  return lo < ranges.length / 2 && ranges[lo * 2]! <= codePoint;
}

/** Membership in a class, the reference every backend agrees with. */
export function charSetContains(set: CharSet, codePoint: number): boolean {
  let inside = rangesContain(set.ranges, codePoint);
  if (!inside) {
    for (const property of set.properties) {
      if (propertyTest(property).test(String.fromCodePoint(codePoint)) !== property.negated) {
        inside = true;
        break;
      }
    }
  }
  return inside !== set.negated;
}
