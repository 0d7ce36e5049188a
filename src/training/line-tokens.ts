// The number tokens of a line: one pass splits a line into its numbers (digits with `,ddd`
// thousands, a fraction and an exponent, or a nan/inf word) and the text between them, hashing that
// text into a template key (tokenize); a template's text and token kinds compile to a regular
// expression that tells whether a later line has the same shape (templatePattern, matchTemplate);
// and number tokens parse to values without building strings (decimalValue). line-templates.ts keeps
// the templates and their plans on top of this.

/** A template as matchTemplate() and locateTokens() read it (line-templates.ts' TemplateInfo). */
export interface TokenTemplate {
  tokens: number;
  /** The text without its tokens as character codes, where each of its `tokens + 1` pieces ends, each token's kind (sign << 8 | tokenClass). */
  text: Uint16Array;
  textEnds: Int32Array;
  kinds: Int32Array;
  pattern: RegExp | undefined;
}

/** Number tokens of the line being read; reused between lines (no allocation per line). */
const MAX_TOKENS = 128;
export const tokenStarts = new Int32Array(MAX_TOKENS);
export const tokenEnds = new Int32Array(MAX_TOKENS);

const PLACEHOLDER = '\u0001';

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

/** The template text of the line last tokenized (only built for a template not seen before). */
export function templateText(line: string, from: number, count: number): string {
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
export let tokenKey = 0;
export let tokenCheck = 0;
export let tokenCount = 0;
/** Whether the last tokenize() masked a `nan`/`inf` word: the signature gate can match those, so such a line is gated itself. */
export let tokenNonFinite = false;
/** Whether the last tokenize() saw a `\r` (tqdm redraws: the extractors read those), and a ` NCCL ` word. */
export let tokenSawReturn = false;
export let tokenSawNccl = false;

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
      // A '.' after a word (`model.0.weight`) is text, and the number after it is read on its own
      // (taken as a word run of no length, it sent tokenize() back to the same '.' forever).
      if (code === 46) return 0;
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
export function tokenClass(code: number): number {
  return isDigit(code) ? 1 : code === 46 ? 2 : code === 110 || code === 78 || code === 105 || code === 73 ? 3 : 0;
}

export function tokenize(line: string, from: number): boolean {
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
export function templatePattern(info: TokenTemplate): RegExp {
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
export function matchTemplate(line: string, from: number, info: TokenTemplate): boolean {
  const pattern = info.pattern;
  if (pattern === undefined) return false;
  pattern.lastIndex = from;
  return pattern.test(line);
}

/**
 * Where the tokens of a line that matched `info` (matchTemplate) are, up to token `last`, into
 * tokenStarts/tokenEnds: the text between them has the template's lengths, so only the numbers are read.
 */
export function locateTokens(line: string, from: number, info: TokenTemplate, last: number): void {
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

export function tokenValue(line: string, index: number): number {
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

