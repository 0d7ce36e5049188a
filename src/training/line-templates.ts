// What makes per-line work cheap at ingest: a training log repeats a few dozen line shapes millions
// of times (`step N | loss X | lr Y`), differing only in their numbers. One pass splits a line into
// its number tokens and a template (the text with the numbers masked). The first lines of a template
// run the full extractors (metric-extractors.ts) and the signature gate; when every extracted value
// is one of the line's own number tokens, the template keeps a plan (token index → series name) and
// later lines of it are read by parsing just those tokens. A plan is trusted only once a second line
// of the template gave the same answer both ways. Templates whose values are derived (ImageNet's
// fractional epoch) or whose lines hold `\r` redraws keep using the extractors.
//
// Finding a line's template: a loop prints the same few shapes in turn, so a line is first tried
// against the template(s) that followed the previous line's last time, by the template's compiled
// regular expression (native text comparison, no hashing); only the others are tokenized and
// hashed. On the server, lines still in bytes take the same prediction in line-bytes.ts and are
// decoded only when it fails.
//
// Measured with bench/training-bench.ts: the extractors alone cost ~6 µs a line on the generated run;
// the template path ~0.5 µs.

import { mayMatchSignature } from './failure-signatures.ts';
import { byteTokenEnds, byteTokenStarts, decimalValueBytes, matchTemplateBytes, type TemplateBytes } from './line-bytes.ts';
import { extractMetrics, type ExtractedMetrics } from './metric-extractors.ts';

/** Number tokens of the line being read; reused between lines (no allocation per line). */
const MAX_TOKENS = 128;
const tokenStarts = new Int32Array(MAX_TOKENS);
const tokenEnds = new Int32Array(MAX_TOKENS);

const PLACEHOLDER = '\u0001';

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

/** The template text of the line last tokenized (only built for a template not seen before). */
function templateText(line: string, from: number, count: number): string {
  let template = '';
  let last = from;
  for (let index = 0; index < count; index++) {
    template += line.slice(last, tokenStarts[index]) + PLACEHOLDER;
    last = tokenEnds[index]!;
  }
  return template + line.slice(last);
}

/**
 * Splits `line` into number tokens (tokenStarts/tokenEnds) and hashes its template (two 32-bit
 * FNV-style hashes folded into one exact 53-bit number), building no string. Returns the token count
 * and the key, or undefined past MAX_TOKENS.
 */
/** Results of the last tokenize(): a small-integer map key, a second hash to confirm it, the token count. */
let tokenKey = 0;
let tokenCheck = 0;
let tokenCount = 0;
/** Whether the last tokenize() masked a `nan`/`inf` word: the signature gate can match those, so such a line is gated itself. */
let tokenNonFinite = false;
/** Whether the last tokenize() saw a `\r` (tqdm redraws: the extractors read those), and a ` NCCL ` word. */
let tokenSawReturn = false;
let tokenSawNccl = false;

/** ASCII codes that may start a number token (digits, '.', '/') or a nan/inf word: one load instead of five comparisons per character. */
const MAY_START_TOKEN = new Uint8Array(128);
for (const code of [46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 110, 78, 105, 73]) MAY_START_TOKEN[code] = 1;
// Not token starts, but noted on the way (one pass over the line): `\r`.
MAY_START_TOKEN[13] = 1;

/** Set by readToken: where the token it found starts (a sign before it included). */
let readStart = 0;

/**
 * What begins at `i`, a character that may start a token (`previous` is the one before it, a space
 * at the start): a number or a nan/inf word (returns its end, and readStart its start, a sign before
 * it included), a run of digits inside a word (`mlx5_2`, `v100`: returns minus the run's end), or
 * neither (0). A pure function of the line around `i`: both tokenize() and matchTemplate() ask it,
 * so a line that matches a template's text is split exactly as tokenize() would split it.
 */
function readToken(line: string, i: number, from: number, previous: number): number {
  const length = line.length;
  const code = line.charCodeAt(i);
  let end = i;
  if (isDigit(code) || (code === 46 && i + 1 < length && isDigit(line.charCodeAt(i + 1)) && !isDigit(previous))) {
    if (isLetter(previous) && previous !== 95 && !(previous === 101 || previous === 69)) {
      // A digit inside a word (`mlx5_2`, `v100`) is part of the text, not a number.
      while (end < length && (isDigit(line.charCodeAt(end)) || isLetter(line.charCodeAt(end)))) end++;
      return -end;
    }
    let start = i;
    if ((previous === 45 || previous === 43) && i > from && (i === from + 1 || (!isDigit(line.charCodeAt(i - 2)) && !isLetter(line.charCodeAt(i - 2))))) start = i - 1;
    readStart = start;
    return numberEnd(line, i);
  }
  if ((code === 110 || code === 78 || code === 105 || code === 73) && !isLetter(previous)) {
    // nan / inf as whole words, any case (`| 0x20` lower-cases exactly these ASCII letters and no other code).
    const c0 = code | 0x20;
    const c1 = i + 2 < length ? line.charCodeAt(i + 1) | 0x20 : 0;
    const c2 = i + 2 < length ? line.charCodeAt(i + 2) | 0x20 : 0;
    if (((c0 === 110 && c1 === 97 && c2 === 110) || (c0 === 105 && c1 === 110 && c2 === 102)) && !isLetter(i + 3 < length ? line.charCodeAt(i + 3) : 32)) {
      readStart = (previous === 45 || previous === 43) && i > from ? i - 1 : i;
      return i + 3;
    }
  }
  return 0;
}

/**
 * The end of the number that starts at `i` (a digit, or '.' before a digit): digits, `,ddd`
 * thousands, a fraction, an exponent, each taken whole (this greedy grammar is what TOKEN_PATTERNS
 * spell as regular expressions).
 */
function numberEnd(line: string, i: number): number {
  const length = line.length;
  let end = i;
  while (end < length && isDigit(line.charCodeAt(end))) end++;
  // Thousands: `7,034` (exactly three digits after the comma).
  while (end + 3 < length && line.charCodeAt(end) === 44 && isDigit(line.charCodeAt(end + 1)) && isDigit(line.charCodeAt(end + 2)) && isDigit(line.charCodeAt(end + 3)) && !isDigit(line.charCodeAt(end + 4))) end += 4;
  if (end < length && line.charCodeAt(end) === 46 && end + 1 < length && isDigit(line.charCodeAt(end + 1))) {
    end++;
    while (end < length && isDigit(line.charCodeAt(end))) end++;
  }
  const e = end < length ? line.charCodeAt(end) : 0;
  if ((e === 101 || e === 69) && end + 1 < length) {
    let k = end + 1;
    const sign = line.charCodeAt(k);
    if (sign === 43 || sign === 45) k++;
    if (k < length && isDigit(line.charCodeAt(k))) {
      k++;
      while (k < length && isDigit(line.charCodeAt(k))) k++;
      end = k;
    }
  }
  return end;
}

/** The class of a token's first character after its sign: 1 a digit, 2 '.', 3 a letter of nan/inf. */
function tokenClass(code: number): number {
  return isDigit(code) ? 1 : code === 46 ? 2 : code === 110 || code === 78 || code === 105 || code === 73 ? 3 : 0;
}

function tokenize(line: string, from: number): boolean {
  let count = 0;
  tokenNonFinite = false;
  tokenSawReturn = false;
  tokenSawNccl = false;
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const length = line.length;
  let previous = 32;
  for (let i = from; i < length; i++) {
    const code = line.charCodeAt(i);
    // Fast path: plain text (not a digit, '.', '/', 'n', 'N', 'i', 'I') is hashed and passed, two
    // ASCII characters per hash step when the next one is plain too: the hash chain per character
    // was most of the tokenizer's cost (bench/training-tracker-cpu.ts: 1.57 -> 1.27 µs a line). The
    // pairing follows the text alone, so lines of one template still hash alike, and a pair's value
    // (at least 0x10000) is never a single character's.
    if (code >= 128 || MAY_START_TOKEN[code] === 0) {
      const next = i + 1 < length ? line.charCodeAt(i + 1) : 128;
      if (code < 128 && next < 128 && MAY_START_TOKEN[next] === 0) {
        const both = 0x10000 | (code << 8) | next;
        h1 = Math.imul(h1 ^ both, 16777619);
        h2 = (Math.imul(h2, 31) + both) | 0;
        previous = next;
        i++;
        continue;
      }
      h1 = Math.imul(h1 ^ code, 16777619);
      h2 = (Math.imul(h2, 31) + code) | 0;
      previous = code;
      continue;
    }
    const end = readToken(line, i, from, previous);
    if (end < 0) {
      i = -end - 1;
      previous = line.charCodeAt(i);
      continue;
    }
    if (end === 0) {
      if (code === 13) tokenSawReturn = true;
      else if (code === 78 && previous === 32 && i > from && line.startsWith('NCCL ', i)) tokenSawNccl = true;
      h1 = Math.imul(h1 ^ code, 16777619);
      h2 = (Math.imul(h2, 31) + code) | 0;
      previous = code;
      continue;
    }
    if (count === MAX_TOKENS) return false;
    if (tokenClass(code) === 3) tokenNonFinite = true;
    h1 = Math.imul(h1 ^ 1, 16777619);
    h2 = (Math.imul(h2, 31) + 1) | 0;
    tokenStarts[count] = readStart;
    tokenEnds[count] = end;
    count++;
    i = end - 1;
    previous = line.charCodeAt(end - 1);
  }
  // A Smi key (31 bits) keeps the map free of heap-number keys; h2 confirms a hit.
  tokenKey = h1 >>> 1;
  tokenCheck = h2;
  tokenCount = count;
  return true;
}

/**
 * Each token kind's text as a regular expression: exactly what readToken()/numberEnd() take from
 * that first character on, greedy at every step (the negative lookaheads keep a backtracking match
 * from taking less): for a digit, digits then `,ddd` groups, a fraction, an exponent; for '.', a
 * fraction then an exponent; for a letter, nan/inf as a whole word.
 */
const EXPONENT = String.raw`(?:[eE][-+]?\d+(?!\d)|(?![eE][-+]?\d))`;
const TOKEN_PATTERNS: Record<number, string> = {
  1: String.raw`\d+(?!\d)(?:,\d{3}(?!\d))*(?!,\d{3}(?!\d))(?:\.\d+(?!\d)|(?!\.\d))` + EXPONENT,
  2: String.raw`\.\d+(?!\d)` + EXPONENT,
  3: String.raw`(?:[nN][aA][nN]|[iI][nN][fF])(?![A-Za-z_])`,
};
/**
 * The same for a token followed by a character that cannot continue a number (not a digit, ',',
 * '.', 'e' or 'E'; or the end of the line): there every match of these is whole (its parts are told
 * apart by their delimiters, and the next character ends it either way), so the lookaheads, most of
 * a template's matching time, are left out.
 */
const TOKEN_PATTERNS_BEFORE_STOP: Record<number, string> = {
  1: String.raw`\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?`,
  2: String.raw`\.\d+(?:[eE][-+]?\d+)?`,
  3: String.raw`(?:[nN][aA][nN]|[iI][nN][fF])`,
};

/**
 * A template as one sticky regular expression: its text between the tokens, literally, and each
 * token by its kind (sign, then TOKEN_PATTERNS). V8 compiles it to native code, which compares the
 * text many times faster than a loop over charCodeAt (bench/training-tracker-cpu.ts).
 *
 * A line it matches is split by tokenize() exactly where the template's first line was: every
 * decision tokenize() makes reads the character before (two for a sign) and those after, and
 * around every position these are the same text or a token of the same kind. So the line would
 * find this template by its hash too, and is read by the same plan.
 */
function templatePattern(info: TemplateInfo): RegExp {
  let source = '';
  for (let k = 0; k <= info.tokens; k++) {
    let text = '';
    for (let at = k === 0 ? 0 : info.textEnds[k - 1]!; at < info.textEnds[k]!; at++) text += String.fromCharCode(info.text[at]!);
    source += text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
    if (k === info.tokens) break;
    const kind = info.kinds[k]!;
    if (kind >>> 8 !== 0) source += `\\${String.fromCharCode(kind >>> 8)}`;
    const nextEnd = info.textEnds[k + 1]!;
    const next = nextEnd > info.textEnds[k]! ? info.text[info.textEnds[k]!]! : k + 1 === info.tokens ? -1 : 48;
    const stops = next === -1 || !(isDigit(next) || next === 44 || next === 46 || next === 101 || next === 69);
    source += (stops ? TOKEN_PATTERNS_BEFORE_STOP : TOKEN_PATTERNS)[kind & 0xff];
  }
  return new RegExp(`${source}$`, 'y');
}

/** Whether `line` from `from` on is a line of `info`'s template (see templatePattern). */
function matchTemplate(line: string, from: number, info: TemplateInfo): boolean {
  const pattern = info.pattern;
  if (pattern === undefined) return false;
  pattern.lastIndex = from;
  return pattern.test(line);
}

/**
 * Where the tokens of a line that matched `info` (matchTemplate) are, up to token `last`, into
 * tokenStarts/tokenEnds: the text between them has the template's lengths, so only the numbers are read.
 */
function locateTokens(line: string, from: number, info: TemplateInfo, last: number): void {
  const textEnds = info.textEnds;
  const kinds = info.kinds;
  let pos = from + textEnds[0]!;
  for (let k = 0; k <= last; k++) {
    const kind = kinds[k]!;
    const at = kind >>> 8 === 0 ? pos : pos + 1;
    const end = (kind & 0xff) === 3 ? at + 3 : numberEnd(line, at);
    tokenStarts[k] = pos;
    tokenEnds[k] = end;
    pos = end + textEnds[k + 1]! - textEnds[k]!;
  }
}

function tokenValue(line: string, index: number): number {
  const start = tokenStarts[index]!;
  const sign = line.charCodeAt(start);
  const first = sign === 45 || sign === 43 ? line.charCodeAt(start + 1) : sign;
  if (first === 110 || first === 78) return Number.NaN;
  if (first === 105 || first === 73) return sign === 45 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  const end = tokenEnds[index]!;
  const fast = decimalValue(line, start, end);
  if (!Number.isNaN(fast)) return fast;
  const text = line.slice(start, end);
  return Number(text.indexOf(',') === -1 ? text : text.replace(/,/g, ''));
}

/** Exact powers of ten (every one up to 1e22 is a double exactly). */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/**
 * The value of a number token without building a string: digits (with `,` thousands), a fraction and
 * an exponent. When the digits form an integer below 2^53 and the power of ten is at most 22, one
 * multiplication or division of two exact doubles is correctly rounded, so this equals `Number(text)`
 * (Clinger's fast path); otherwise it answers NaN and the caller parses the text.
 */
export function decimalValue(line: string, start: number, end: number): number {
  let i = start;
  let negative = false;
  const sign = line.charCodeAt(i);
  if (sign === 45 || sign === 43) {
    negative = sign === 45;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let code = 0;
  for (; i < end; i++) {
    code = line.charCodeAt(i);
    if (code >= 48 && code <= 57) {
      mantissa = mantissa * 10 + (code - 48);
      digits++;
    } else if (code !== 44) break;
  }
  if (i < end && code === 46) {
    for (i++; i < end; i++) {
      code = line.charCodeAt(i);
      if (code < 48 || code > 57) break;
      mantissa = mantissa * 10 + (code - 48);
      digits++;
      scale--;
    }
  }
  if (i < end) {
    // Exponent: `e`/`E`, an optional sign, digits (the tokenizer guarantees the shape).
    i++;
    const expSign = line.charCodeAt(i);
    let exponentNegative = false;
    if (expSign === 45 || expSign === 43) {
      exponentNegative = expSign === 45;
      i++;
    }
    let exponent = 0;
    for (; i < end && exponent < 1000; i++) exponent = exponent * 10 + (line.charCodeAt(i) - 48);
    scale += exponentNegative ? -exponent : exponent;
  }
  if (digits === 0 || digits > 15 || scale > 22 || scale < -22) return Number.NaN;
  const magnitude = scale >= 0 ? mantissa * POWERS_OF_TEN[scale]! : mantissa / POWERS_OF_TEN[-scale]!;
  return negative ? -magnitude : magnitude;
}

function sameValue(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b)) || (Number.isFinite(a) && Math.abs(a - b) <= Math.abs(b) * 1e-12);
}

export interface Plan {
  /** Token index of the step, or -1. */
  stepToken: number;
  tokens: number[];
  names: string[];
  /** Whether a line of the plan is progress (a value other than loss_scale/overflow). */
  progress: boolean;
  /** The caller's per-rank cache of the series the names go to (run-state.ts), so a line costs no map lookups. */
  seriesByRank: Map<number, unknown[]>;
}

interface TemplateInfo {
  /** undefined: the line has no metrics; 'slow': run the extractors; a plan: read the tokens. */
  plan: Plan | 'slow' | undefined;
  /** Whether lines of this template had their plan confirmed by a second line. */
  confirmed: boolean;
  /** Lines seen (to stop re-checking a template that has no metrics after a few). */
  seen: number;
  /** Lines whose values matched several tokens; past MAX_AMBIGUOUS the template stays on the extractors. */
  ambiguous: number;
  /** Whether the template's words can match a failure signature (numbers play no part in the gate; `nan`/`inf` words do, and are gated per line). */
  mayMatch: boolean;
  /** Number tokens of the template and its second hash (guards against a collision of the first). */
  tokens: number;
  check: number;
  /**
   * The template's text without its tokens as character codes, where each of its `tokens + 1`
   * pieces ends, and each token's kind (sign << 8 | tokenClass); its templatePattern() once a
   * second line was of the template (one-off lines never compile one).
   */
  text: Uint16Array;
  textEnds: Int32Array;
  kinds: Int32Array;
  pattern: RegExp | undefined;
  /** The highest token index the plan reads (locateTokens stops there), -1 for none; -2 until asked. */
  lastPlanToken: number;
  /** The template's text as UTF-8, for lines still in bytes (line-bytes.ts); made on first use, null when it has surrogates. */
  bytes: TemplateBytes | null | undefined;
  /** Whether lines of the template have a nan/inf token, and a ` NCCL ` word (what tokenize() notes on the way). */
  nonFinite: boolean;
  nccl: boolean;
  /** The templates whose lines followed a line of this one last (the most recent first): what the next line is tried against. */
  next: TemplateInfo | undefined;
  nextBefore: TemplateInfo | undefined;
}

/** A new template's info from the line tokenize() just split (its text pieces and token kinds). */
function newTemplate(line: string, from: number, count: number, mayMatch: boolean): TemplateInfo {
  const kinds = new Int32Array(count);
  const textEnds = new Int32Array(count + 1);
  let textLength = line.length - from;
  for (let index = 0; index < count; index++) textLength -= tokenEnds[index]! - tokenStarts[index]!;
  const text = new Uint16Array(textLength);
  let textAt = 0;
  let last = from;
  for (let index = 0; index <= count; index++) {
    const start = index === count ? line.length : tokenStarts[index]!;
    for (let i = last; i < start; i++) text[textAt++] = line.charCodeAt(i);
    textEnds[index] = textAt;
    if (index === count) break;
    const first = line.charCodeAt(start);
    kinds[index] = first === 45 || first === 43 ? (first << 8) | tokenClass(line.charCodeAt(start + 1)) : tokenClass(first);
    last = tokenEnds[index]!;
  }
  return { plan: undefined, confirmed: false, seen: 0, ambiguous: 0, mayMatch, tokens: count, check: tokenCheck, text, textEnds, kinds, nonFinite: tokenNonFinite, nccl: tokenSawNccl, next: undefined, nextBefore: undefined, pattern: undefined, lastPlanToken: -2, bytes: undefined };
}

export interface LineReading {
  metrics: ExtractedMetrics | undefined;
  /** False when no failure signature can match the line. */
  mayMatchSignature: boolean;
}

/** Templates kept per run: past this, lines take the extractor path (correct, slower). */
const MAX_TEMPLATES = 4096;
/** A template with no metrics is re-checked on this many lines before it is trusted to have none. */
const EMPTY_CHECKS = 2;
/** Lines of a template whose values stay ambiguous (two fields always equal) before it keeps using the extractors. */
const MAX_AMBIGUOUS = 8;

/**
 * Which token each extracted value came from. A value equal to several tokens (step 5 on the 5th of
 * the month) is ambiguous on this line: 'ambiguous' asks to try the next line of the template.
 */
function planFor(line: string, count: number, found: ExtractedMetrics): Plan | 'slow' | 'ambiguous' {
  const values = new Float64Array(count);
  for (let index = 0; index < count; index++) values[index] = tokenValue(line, index);
  const used = new Uint8Array(count);
  let ambiguous = false;
  const take = (value: number): number => {
    let found = -1;
    for (let index = 0; index < count; index++) {
      if (used[index] === 0 && sameValue(values[index]!, value)) {
        if (found !== -1) ambiguous = true;
        else found = index;
      }
    }
    if (found !== -1) used[found] = 1;
    return found;
  };
  const stepToken = found.step === undefined ? -1 : take(found.step);
  if (found.step !== undefined && stepToken === -1) return 'slow';
  const tokens: number[] = [];
  const names: string[] = [];
  for (const [name, value] of found.values) {
    const index = take(value);
    if (index === -1) return 'slow';
    tokens.push(index);
    names.push(name);
  }
  return ambiguous ? 'ambiguous' : { stepToken, tokens, names, progress: names.some((name) => name !== 'loss_scale' && name !== 'overflow'), seriesByRank: new Map() };
}

function samePlan(a: Plan, b: Plan): boolean {
  return a.stepToken === b.stepToken && a.tokens.join() === b.tokens.join() && a.names.join() === b.names.join();
}

/** The template's text as UTF-8 pieces (null when it holds a surrogate: bytes could not say the same). */
function templateBytes(info: TemplateInfo): TemplateBytes | null {
  const pieces: Buffer[] = [];
  const textEnds = new Int32Array(info.tokens + 1);
  let bytes = 0;
  for (let k = 0; k <= info.tokens; k++) {
    let text = '';
    for (let at = k === 0 ? 0 : info.textEnds[k - 1]!; at < info.textEnds[k]!; at++) {
      const code = info.text[at]!;
      if (code >= 0xd800 && code <= 0xdfff) return null;
      text += String.fromCharCode(code);
    }
    const piece = Buffer.from(text, 'utf8');
    pieces.push(piece);
    bytes += piece.length;
    textEnds[k] = bytes;
  }
  return { text: new Uint8Array(Buffer.concat(pieces)), textEnds, kinds: info.kinds, tokens: info.tokens };
}

function lastPlanToken(info: TemplateInfo, plan: Plan): number {
  if (info.lastPlanToken === -2) info.lastPlanToken = Math.max(plan.stepToken, ...plan.tokens);
  return info.lastPlanToken;
}

/** Per-run cache of line templates. */
export class LineTemplates {
  /** Template hash → info; the second hash and token count stored in the info make a collision negligible. */
  private readonly templates = new Map<number, TemplateInfo>();
  /**
   * Results of the last scan(), kept in fields so a line allocates nothing: either `plan` (the values
   * are `planValues[0 … plan.tokens.length)` and the step `planStep`, NaN when the plan has none) or
   * `metrics` (the extractors' answer), or neither (no metrics).
   */
  plan: Plan | undefined;
  planStep = Number.NaN;
  planValues = new Float64Array(16);
  metrics: ExtractedMetrics | undefined;
  /** False when the last scanned line has no ` NCCL ` (true: it may have one; ask the line). */
  mayHaveNccl = true;
  /** The template of the line scanned last (undefined after a line that had none). */
  private previous: TemplateInfo | undefined;

  /** The metrics of a line (the same answer as `extractMetrics(line)`, mostly without running it) and the signature gate. */
  read(line: string): LineReading {
    const mayMatch = this.scan(line, 0);
    if (this.plan === undefined) return { metrics: this.metrics, mayMatchSignature: mayMatch };
    const values: Array<[string, number]> = [];
    for (let i = 0; i < this.plan.tokens.length; i++) values.push([this.plan.names[i]!, this.planValues[i]!]);
    return { metrics: { step: this.plan.stepToken === -1 ? undefined : this.planStep, values }, mayMatchSignature: mayMatch };
  }

  /**
   * Reads `rawLine` from `from` on (past a `[rankN]: ` prefix, with no substring built for it) into
   * `plan`/`planValues` or `metrics` (see there); returns whether a failure signature may match it.
   */
  scan(rawLine: string, from: number): boolean {
    this.plan = undefined;
    this.metrics = undefined;
    this.mayHaveNccl = true;
    const previous = this.previous;
    this.previous = undefined;
    if (rawLine.length - from > 2048) return this.extractAll(rawLine, from);
    // Most lines are of the template that followed the previous line's last time (a training loop
    // prints the same few lines in turn): checked by comparing text, with no hashing.
    let info: TemplateInfo | undefined;
    // Whether tokenStarts/tokenEnds hold this line's tokens (a matched line has them located on demand).
    let located = true;
    if (previous !== undefined) {
      const guess = previous.next;
      if (guess !== undefined && matchTemplate(rawLine, from, guess)) info = guess;
      else {
        const other = previous.nextBefore;
        if (other !== undefined && matchTemplate(rawLine, from, other)) {
          info = other;
          previous.nextBefore = guess;
          previous.next = other;
        }
      }
    }
    if (info === undefined) {
      if (!tokenize(rawLine, from)) return this.extractAll(rawLine, from);
      this.mayHaveNccl = tokenSawNccl;
      if (tokenSawReturn) return this.extractAll(rawLine, from);
      info = this.templates.get(tokenKey);
      if (info === undefined) {
        if (this.templates.size >= MAX_TEMPLATES) return this.extractAll(rawLine, from);
        const line = from === 0 ? rawLine : rawLine.slice(from);
        info = newTemplate(rawLine, from, tokenCount, mayMatchSignature(templateText(rawLine, from, tokenCount)) || mayMatchSignature(line));
        this.templates.set(tokenKey, info);
      }
      if (info.tokens !== tokenCount || info.check !== tokenCheck) return this.extractAll(rawLine, from);
      if (previous !== undefined && previous.next !== info) {
        previous.nextBefore = previous.next;
        previous.next = info;
      }
    } else {
      located = false;
      tokenNonFinite = info.nonFinite;
      this.mayHaveNccl = info.nccl;
    }
    this.previous = info;
    const count = info.tokens;
    if (++info.seen === 2 && info.pattern === undefined) info.pattern = templatePattern(info);
    const mayMatch = info.mayMatch || (tokenNonFinite && mayMatchSignature(from === 0 ? rawLine : rawLine.slice(from)));
    if (info.confirmed) {
      const plan = info.plan;
      if (plan === undefined) return mayMatch;
      if (plan === 'slow') {
        this.metrics = extractMetrics(from === 0 ? rawLine : rawLine.slice(from));
        return mayMatch;
      }
      const tokens = plan.tokens;
      if (!located) locateTokens(rawLine, from, info, lastPlanToken(info, plan));
      if (tokens.length > this.planValues.length) this.planValues = new Float64Array(tokens.length * 2);
      for (let i = 0; i < tokens.length; i++) this.planValues[i] = tokenValue(rawLine, tokens[i]!);
      this.planStep = plan.stepToken === -1 ? Number.NaN : tokenValue(rawLine, plan.stepToken);
      this.plan = plan;
      return mayMatch;
    }
    const found = extractMetrics(from === 0 ? rawLine : rawLine.slice(from));
    this.metrics = found;
    if (!located && found !== undefined) locateTokens(rawLine, from, info, count - 1);
    const plan = found === undefined ? undefined : planFor(rawLine, count, found);
    if (plan === 'ambiguous') {
      info.seen--;
      if (++info.ambiguous >= MAX_AMBIGUOUS) {
        info.plan = 'slow';
        info.confirmed = true;
      }
      return mayMatch;
    }
    if (info.seen === 1) info.plan = plan;
    else if (plan === undefined && info.plan === undefined) info.confirmed = info.seen >= EMPTY_CHECKS;
    else if (plan !== undefined && plan !== 'slow' && info.plan !== undefined && info.plan !== 'slow' && samePlan(plan, info.plan)) info.confirmed = true;
    else {
      // Lines of one template answered differently: keep extracting them one by one.
      info.plan = 'slow';
      info.confirmed = true;
    }
    return mayMatch;
  }

  /**
   * The fast path for a line still in UTF-8 bytes, `bytes[from, end)` past its `[rankN]:` prefix:
   * when it is a line of a template predicted from the previous line (see scan), confirmed, whose
   * lines no failure signature can match and that has no NCCL word or nan/inf, its values (if any)
   * are read into `plan`/`planValues`/`planStep` and it answers true. Otherwise it answers false
   * having changed nothing the caller sees, and the caller decodes the line and scans the string.
   */
  scanBytes(bytes: Uint8Array, from: number, end: number): boolean {
    const previous = this.previous;
    if (previous === undefined || end - from > 2048) return false;
    let info = previous.next;
    if (info === undefined || !this.matchBytes(info, bytes, from, end)) {
      const other = previous.nextBefore;
      if (other === undefined || !this.matchBytes(other, bytes, from, end)) return false;
      previous.nextBefore = info;
      previous.next = other;
      info = other;
    }
    const plan = info.plan;
    if (plan !== undefined && plan !== 'slow') {
      const tokens = plan.tokens;
      if (tokens.length > this.planValues.length) this.planValues = new Float64Array(tokens.length * 2);
      for (let i = 0; i < tokens.length; i++) {
        const value = decimalValueBytes(bytes, byteTokenStarts[tokens[i]!]!, byteTokenEnds[tokens[i]!]!);
        // Past the exact fast parse (or non-finite): the string path reads it.
        if (Number.isNaN(value)) return false;
        this.planValues[i] = value;
      }
      if (plan.stepToken !== -1) {
        this.planStep = decimalValueBytes(bytes, byteTokenStarts[plan.stepToken]!, byteTokenEnds[plan.stepToken]!);
        if (Number.isNaN(this.planStep)) return false;
      } else this.planStep = Number.NaN;
      this.plan = plan;
    } else this.plan = undefined;
    this.metrics = undefined;
    this.mayHaveNccl = false;
    this.previous = info;
    info.seen++;
    return true;
  }

  /** Whether a line in bytes is of `info`'s template and takes the fast path (see scanBytes); locates the tokens its plan reads. */
  private matchBytes(info: TemplateInfo, bytes: Uint8Array, from: number, end: number): boolean {
    if (!info.confirmed || info.plan === 'slow' || info.mayMatch || info.nccl || info.nonFinite) return false;
    if (info.bytes === undefined) info.bytes = templateBytes(info);
    if (info.bytes === null) return false;
    return matchTemplateBytes(bytes, from, end, info.bytes, info.plan === undefined ? -1 : lastPlanToken(info, info.plan));
  }

  /** The slow path: the extractors and the signature gate on the whole line. */
  private extractAll(rawLine: string, from: number): boolean {
    const line = from === 0 ? rawLine : rawLine.slice(from);
    this.metrics = extractMetrics(line);
    return mayMatchSignature(line);
  }
}
