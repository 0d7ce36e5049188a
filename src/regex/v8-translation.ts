// Spells an RE2 tree as a flagless V8 pattern, for the regexes V8's linear-time engine accepts.
//
// Why flagless: V8's linear engine (`l` flag, and the fallback that switches a backtracking run to
// it after too many backtracks) refuses the `i` and `u` flags. So case folding is expanded into
// classes here, RE2's ASCII classes are spelled out, and code points above U+FFFF become surrogate
// pairs, so `.` never splits an emoji. Line-end anchors under `(?m)` need a lookahead the linear
// engine lacks, and `\pL` needs `u`: those return undefined and run on the Pike VM instead.

import { UNBOUNDED, type CharSet, type RegexNode } from './ast.ts';
import { foldOrbit, negateRanges, normalizeRanges } from './char-set.ts';

const SURROGATE_PAIR = '[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]';
const ANY_CHAR = `(?:${SURROGATE_PAIR}|[^\\uD800-\\uDFFF])`;
const ANY_CHAR_NOT_NEWLINE = `(?:${SURROGATE_PAIR}|[^\\n\\uD800-\\uDFFF])`;

class Untranslatable extends Error {}

/**
 * Inside a repetition (other than `?`), whether the node being translated may sit out an
 * iteration: it is under an alternation or an optional part of the loop's body.
 */
let mayMissIteration = false;
let insideLoop = false;

/** Whether a node can match the empty string. */
function canBeEmpty(node: RegexNode): boolean {
  switch (node.kind) {
    case 'empty':
    case 'assert':
      return true;
    case 'capture':
      return canBeEmpty(node.sub);
    case 'repeat':
      return node.min === 0 || canBeEmpty(node.sub);
    case 'concat':
      return node.subs.every(canBeEmpty);
    case 'alternate':
      return node.subs.some(canBeEmpty);
    default:
      return false;
  }
}

function hasCapture(node: RegexNode): boolean {
  switch (node.kind) {
    case 'capture':
      return true;
    case 'repeat':
      return hasCapture(node.sub);
    case 'concat':
    case 'alternate':
      return node.subs.some(hasCapture);
    default:
      return false;
  }
}

/** Translates a child under changed loop context, restoring it afterwards. */
function within(node: RegexNode, context: { insideLoop: boolean; mayMissIteration: boolean }): string {
  const saved = { insideLoop, mayMissIteration };
  insideLoop = context.insideLoop;
  mayMissIteration = context.mayMissIteration;
  try {
    return translate(node);
  } finally {
    insideLoop = saved.insideLoop;
    mayMissIteration = saved.mayMissIteration;
  }
}

function hex4(unit: number): string {
  return `\\u${unit.toString(16).toUpperCase().padStart(4, '0')}`;
}

function codePointText(codePoint: number): string {
  if (codePoint > 0xffff) {
    const offset = codePoint - 0x10000;
    return hex4(0xd800 + (offset >> 10)) + hex4(0xdc00 + (offset & 0x3ff));
  }
  if ((codePoint >= 0x30 && codePoint <= 0x39) || (codePoint >= 0x41 && codePoint <= 0x5a) || (codePoint >= 0x61 && codePoint <= 0x7a)) {
    return String.fromCharCode(codePoint);
  }
  return hex4(codePoint);
}

/** Astral ranges as alternatives of surrogate-pair sequences. */
function astralAlternatives(lo: number, hi: number): string[] {
  const out: string[] = [];
  const highOf = (cp: number): number => 0xd800 + ((cp - 0x10000) >> 10);
  const lowOf = (cp: number): number => 0xdc00 + ((cp - 0x10000) & 0x3ff);
  const [hLo, hHi] = [highOf(lo), highOf(hi)];
  if (hLo === hHi) return [`${hex4(hLo)}[${hex4(lowOf(lo))}-${hex4(lowOf(hi))}]`];
  out.push(`${hex4(hLo)}[${hex4(lowOf(lo))}-\\uDFFF]`);
  if (hHi - hLo > 1) out.push(`[${hex4(hLo + 1)}-${hex4(hHi - 1)}][\\uDC00-\\uDFFF]`);
  out.push(`${hex4(hHi)}[\\uDC00-${hex4(lowOf(hi))}]`);
  return out;
}

function rangesText(ranges: readonly number[]): string {
  let bmp = '';
  const astral: string[] = [];
  for (let i = 0; i < ranges.length; i += 2) {
    let lo = ranges[i]!;
    const hi = ranges[i + 1]!;
    // Surrogate code points never stand alone in text decoded from UTF-8; leave them out.
    if (lo <= 0xffff) {
      const bmpHi = Math.min(hi, 0xffff);
      for (const [a, b] of [[lo, Math.min(bmpHi, 0xd7ff)], [Math.max(lo, 0xe000), bmpHi]] as const) {
        if (a <= b) bmp += a === b ? hex4(a) : `${hex4(a)}-${hex4(b)}`;
      }
      lo = 0x10000;
    }
    if (hi >= lo) astral.push(...astralAlternatives(lo, hi));
  }
  const parts = bmp === '' ? astral : [`[${bmp}]`, ...astral];
  if (parts.length === 0) return '[^\\s\\S]';
  return parts.length === 1 ? parts[0]! : `(?:${parts.join('|')})`;
}

function classText(set: CharSet): string {
  if (set.properties.length > 0) throw new Untranslatable();
  return rangesText(set.negated ? negateRanges(set.ranges) : set.ranges);
}

function isAnyChar(node: RegexNode): boolean {
  return node.kind === 'anyChar' || node.kind === 'anyCharNotNewline';
}

function translate(node: RegexNode): string {
  switch (node.kind) {
    case 'empty':
      return '(?:)';
    case 'literal': {
      if (!node.foldCase) return node.codePoint > 0xffff ? `(?:${codePointText(node.codePoint)})` : codePointText(node.codePoint);
      const orbit = foldOrbit(node.codePoint);
      return rangesText(normalizeRanges(orbit.flatMap((cp) => [cp, cp])));
    }
    case 'class':
      return classText(node.set);
    case 'anyChar':
      return ANY_CHAR;
    case 'anyCharNotNewline':
      return ANY_CHAR_NOT_NEWLINE;
    case 'assert':
      switch (node.assertion) {
        case 'beginText':
          return '^';
        case 'endText':
          return '$';
        case 'beginLine':
          return '(?:^|(?<=\\n))';
        case 'wordBoundary':
          return '\\b';
        case 'notWordBoundary':
          return '\\B';
        case 'endLine':
          throw new Untranslatable();
      }
      break;
    case 'capture':
      // RE2 keeps a group's last capture across later iterations that skip it ((?:(a)|b)+ on "ab"
      // captures "a"); V8 resets it each iteration. Only the Pike VM gives RE2's answer there.
      if (insideLoop && mayMissIteration) throw new Untranslatable();
      return `(${translate(node.sub)})`;
    case 'concat':
      return node.subs.map(translate).join('');
    case 'alternate':
      return `(?:${node.subs.map((sub) => within(sub, { insideLoop, mayMissIteration: true })).join('|')})`;
    case 'repeat': {
      const { min, max, greedy } = node;
      const quantifier =
        max === UNBOUNDED ? (min === 0 ? '*' : min === 1 ? '+' : `{${min},}`) : min === 0 && max === 1 ? '?' : min === max ? `{${min}}` : `{${min},${max}}`;
      // A greedy unbounded run of `.` takes whole lines either way; one class is much faster than the
      // surrogate-pair alternation, and the atoms after it are pair-aware, so backtracking realigns.
      if (greedy && max === UNBOUNDED && isAnyChar(node.sub)) {
        return `${node.sub.kind === 'anyChar' ? '[\\s\\S]' : '[^\\n]'}${quantifier}`;
      }
      // V8 also stops a loop at an empty iteration where RE2 records it: captures in such loops
      // go to the Pike VM too.
      if (max !== 1 && hasCapture(node.sub) && canBeEmpty(node.sub)) throw new Untranslatable();
      const context = max === 1 ? { insideLoop, mayMissIteration: mayMissIteration || min === 0 } : { insideLoop: true, mayMissIteration: insideLoop ? mayMissIteration || min === 0 : false };
      const body = within(node.sub, context);
      const atom = node.sub.kind === 'capture' ? body : `(?:${body})`;
      return atom + quantifier + (greedy ? '' : '?');
    }
  }
  throw new Untranslatable();
}

/** The V8 pattern for a tree (captures numbered as RE2 numbers them), or undefined if V8 can't say it. */
export function toV8Pattern(root: RegexNode): string | undefined {
  insideLoop = false;
  mayMissIteration = false;
  try {
    return translate(root);
  } catch (error) {
    if (error instanceof Untranslatable) return undefined;
    throw error;
  }
}
