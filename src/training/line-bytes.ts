// Reading a line that is still UTF-8 bytes in the push body (the server's RawLineEntry): the byte
// twins of line-templates.ts' template match, number grammar and number parse, and of
// run-identity.ts' `[rankN]:` prefix. On the server most lines never become strings on the way in
// (the WAL and head copy their bytes); decoding every one for the tracker was a string of ~150
// bytes a line, most of what tracking added to the server's young-generation collections
// (bench/training-bench.ts). A line that is not the common case here is decoded and read as a
// string by the caller, so these only have to agree with the string code where they answer.
//
// Each function mirrors its string twin decision for decision: on ASCII a byte is the character's
// code, and every byte of a multi-byte UTF-8 character is >= 0x80, which, like any code >= 128, is
// no digit, letter, sign or '.' to either.

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

/** Byte-offset results of the last matchTemplateBytes(): where each token of the line starts and ends. */
export const byteTokenStarts = new Int32Array(128);
export const byteTokenEnds = new Int32Array(128);

/** globalPrefixLength() on `bytes[start, end)`: the length of a leading `[rankN]:` / `[rankN]: `, else 0. */
export function globalPrefixLengthBytes(bytes: Uint8Array, start: number, end: number): number {
  if (end - start < 8 || bytes[start] !== 91 || bytes[start + 1] !== 114 || bytes[start + 2] !== 97 || bytes[start + 3] !== 110 || bytes[start + 4] !== 107) return 0;
  let i = start + 5;
  while (i < end && i < start + 12 && isDigit(bytes[i]!)) i++;
  if (i > start + 5 && i + 1 < end && bytes[i] === 93 && bytes[i + 1] === 58) return (i + 2 < end && bytes[i + 2] === 32 ? i + 3 : i + 2) - start;
  return 0;
}

/** The rank of a prefix globalPrefixLengthBytes() measured. */
export function globalPrefixRankBytes(bytes: Uint8Array, start: number, length: number): number {
  let rank = 0;
  for (let i = start + 5; i < start + length && isDigit(bytes[i]!); i++) rank = rank * 10 + bytes[i]! - 48;
  return rank;
}

/** numberEnd() on bytes: the end of the number starting at `i` (a digit, or '.' before a digit). */
function numberEndBytes(bytes: Uint8Array, i: number, length: number): number {
  let end = i;
  while (end < length && isDigit(bytes[end]!)) end++;
  while (end + 3 < length && bytes[end] === 44 && isDigit(bytes[end + 1]!) && isDigit(bytes[end + 2]!) && isDigit(bytes[end + 3]!) && !(end + 4 < length && isDigit(bytes[end + 4]!))) end += 4;
  if (end + 1 < length && bytes[end] === 46 && isDigit(bytes[end + 1]!)) {
    end++;
    while (end < length && isDigit(bytes[end]!)) end++;
  }
  const e = end < length ? bytes[end]! : 0;
  if ((e === 101 || e === 69) && end + 1 < length) {
    let k = end + 1;
    const sign = bytes[k]!;
    if (sign === 43 || sign === 45) k++;
    if (k < length && isDigit(bytes[k]!)) {
      k++;
      while (k < length && isDigit(bytes[k]!)) k++;
      end = k;
    }
  }
  return end;
}

/** Set by readTokenBytes: where its token starts. */
let readStart = 0;

/** readToken() on bytes (`length` is the line's end, `from` where its text starts). */
function readTokenBytes(bytes: Uint8Array, i: number, from: number, length: number, previous: number): number {
  const code = bytes[i]!;
  if (isDigit(code) || (code === 46 && i + 1 < length && isDigit(bytes[i + 1]!) && !isDigit(previous))) {
    if (isLetter(previous) && previous !== 95 && !(previous === 101 || previous === 69)) return 0;
    let start = i;
    if ((previous === 45 || previous === 43) && i > from && (i === from + 1 || (!isDigit(bytes[i - 2]!) && !isLetter(bytes[i - 2]!)))) start = i - 1;
    readStart = start;
    return numberEndBytes(bytes, i, length);
  }
  if ((code === 110 || code === 78 || code === 105 || code === 73) && !isLetter(previous) && i + 2 < length) {
    const c0 = code | 0x20;
    const c1 = bytes[i + 1]! | 0x20;
    const c2 = bytes[i + 2]! | 0x20;
    if (((c0 === 110 && c1 === 97 && c2 === 110) || (c0 === 105 && c1 === 110 && c2 === 102)) && !isLetter(i + 3 < length ? bytes[i + 3]! : 32)) {
      readStart = (previous === 45 || previous === 43) && i > from ? i - 1 : i;
      return i + 3;
    }
  }
  return 0;
}

/** tokenClass() on a byte. */
function tokenClass(code: number): number {
  return isDigit(code) ? 1 : code === 46 ? 2 : code === 110 || code === 78 || code === 105 || code === 73 ? 3 : 0;
}

/** A template as bytes: the UTF-8 of its text between tokens, where each piece ends, each token's kind (sign << 8 | class). */
export interface TemplateBytes {
  text: Uint8Array;
  textEnds: Int32Array;
  kinds: Int32Array;
  tokens: number;
  /**
   * Per token, 1 when it is a plain number (a digit first, no sign) at the line's start or after a
   * non-empty text piece: then every check readTokenBytes() makes before the number is decided as
   * it was on the template's first line, and only the number's end is left to read
   * (matchTemplateBytes' fast path). The byte before is the template's own text (or a space at the
   * start); a letter there can only be `_`, `e` or `E` (after another a digit starts a word run);
   * and a `-`/`+` there was not taken as the number's sign, which hangs on the byte before it: the
   * template's text again, or the end of the token before, a digit or a letter either way.
   */
  plainNumber: Uint8Array;
  /**
   * Word runs in the text (tokenize() skips a run of letters and digits that starts with a digit
   * after a letter, `T09` in `2026-01-05T09:02`, `mlx5_2`, and hashes none of it, so lines that
   * differ only there are one template): at a run's first index its length, else 0; and whether the
   * run ends in `_`, `e` or `E` (after those a `.5` is a number; after a digit or another letter it
   * is text). Undefined when there are none.
   */
  runLengths: Int32Array | undefined;
  runEndsBeforeNumber: Uint8Array | undefined;
  /** At each text index, where the next run starts (the text's length past the last): literal stretches are compared in one loop. */
  nextRun: Int32Array | undefined;
  /**
   * At each text index, the 4 bytes from there on as a little-endian int32 (zeros past the text's
   * end): matchTemplateBytes compares literal text 4 bytes at a time against DataView.getInt32.
   */
  words: Int32Array;
}

/** A DataView over all of `bytes` (the same offsets as the array's). */
export function bytesView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Whether tokenize() takes a digit after `code` as the start of a word run rather than a number. */
function startsWordRun(code: number): boolean {
  return isLetter(code) && code !== 95 && code !== 101 && code !== 69;
}

/**
 * Where the token of kind `kind` (sign << 8 | class) that starts at `pos` ends, split as tokenize()
 * splits it, or -1 when there is none there (`from` is where the line's text starts).
 */
function tokenEndBytes(bytes: Uint8Array, from: number, pos: number, end: number, kind: number): number {
  const sign = kind >>> 8;
  let at = pos;
  if (sign !== 0) {
    if (bytes[pos] !== sign) return -1;
    at++;
  }
  if (at >= end || tokenClass(bytes[at]!) !== (kind & 0xff)) return -1;
  const tokenEnd = readTokenBytes(bytes, at, from, end, at === from ? 32 : bytes[at - 1]!);
  return tokenEnd <= 0 || readStart !== pos ? -1 : tokenEnd;
}

/** 1 when a word run ending in `code` leaves a `.5` after it a number (readToken() on '.'), else 0. */
function endsBeforeNumber(code: number): number {
  return isDigit(code) || startsWordRun(code) ? 0 : 1;
}

/** A template's bytes with plainNumber and its word runs worked out (see TemplateBytes). */
export function templateBytesOf(text: Uint8Array, textEnds: Int32Array, kinds: Int32Array, tokens: number): TemplateBytes {
  const plainNumber = new Uint8Array(tokens);
  for (let k = 0; k < tokens; k++) {
    const pieceStart = k === 0 ? 0 : textEnds[k - 1]!;
    const pieceEmpty = textEnds[k]! === pieceStart;
    if (kinds[k] !== 1 || (pieceEmpty && k > 0) || (!pieceEmpty && isDigit(text[textEnds[k]! - 1]!))) continue;
    plainNumber[k] = 1;
  }
  let runLengths: Int32Array | undefined;
  let runEndsBeforeNumber: Uint8Array | undefined;
  for (let k = 0; k <= tokens; k++) {
    const pieceEnd = textEnds[k]!;
    // A run at a piece's start follows a token (nan/inf): such text is compared as it is.
    for (let i = (k === 0 ? 0 : textEnds[k - 1]!) + 1; i < pieceEnd; i++) {
      if (!isDigit(text[i]!) || !startsWordRun(text[i - 1]!)) continue;
      let runEnd = i + 1;
      while (runEnd < pieceEnd && (isDigit(text[runEnd]!) || isLetter(text[runEnd]!))) runEnd++;
      runLengths ??= new Int32Array(text.length);
      runEndsBeforeNumber ??= new Uint8Array(text.length);
      runLengths[i] = runEnd - i;
      runEndsBeforeNumber[i] = endsBeforeNumber(text[runEnd - 1]!);
      i = runEnd - 1;
    }
  }
  let nextRun: Int32Array | undefined;
  if (runLengths !== undefined) {
    nextRun = new Int32Array(text.length + 1);
    let next = text.length;
    for (let i = text.length; i >= 0; i--) {
      if (i < text.length && runLengths[i] !== 0) next = i;
      nextRun[i] = next;
    }
  }
  const words = new Int32Array(text.length);
  for (let i = 0; i < text.length; i++) words[i] = text[i]! | ((text[i + 1] ?? 0) << 8) | ((text[i + 2] ?? 0) << 16) | ((text[i + 3] ?? 0) << 24);
  return { text, textEnds, kinds, tokens, plainNumber, runLengths, runEndsBeforeNumber, nextRun, words };
}

/**
 * The text `text[textAt, textEnd)` of a template with word runs against the line from `pos` (see
 * TemplateBytes.runLengths): equal outside runs, any run where the template has one (that ends
 * alike, see runEndsBeforeNumber). Returns where the line's text ends, or -1 when it differs.
 */
function matchTextWithRuns(bytes: Uint8Array, pos: number, end: number, template: TemplateBytes, textAt: number, textEnd: number): number {
  const text = template.text;
  const runLengths = template.runLengths!;
  const nextRun = template.nextRun!;
  while (textAt < textEnd) {
    // The literal stretch up to the next run (runs end inside their piece), then the run.
    const stretchEnd = Math.min(nextRun[textAt]!, textEnd);
    if (pos + stretchEnd - textAt > end) return -1;
    while (textAt < stretchEnd) {
      if (bytes[pos] !== text[textAt]) return -1;
      pos++;
      textAt++;
    }
    if (textAt === textEnd) break;
    if (pos >= end || !isDigit(bytes[pos]!)) return -1;
    pos++;
    while (pos < end && (isDigit(bytes[pos]!) || isLetter(bytes[pos]!))) pos++;
    if (endsBeforeNumber(bytes[pos - 1]!) !== template.runEndsBeforeNumber![textAt]) return -1;
    textAt += runLengths[textAt]!;
  }
  return pos;
}

/**
 * Whether `bytes[from, end)` is a line of the template (its text between tokens equal, each token
 * of the same kind and split where tokenize() splits it, as matchTemplate() asks of a string);
 * fills byteTokenStarts/byteTokenEnds up to token `lastToken`.
 */
export function matchTemplateBytes(bytes: Uint8Array, from: number, end: number, template: TemplateBytes, lastToken: number, view: DataView = bytesView(bytes)): boolean {
  if (template.runLengths !== undefined) return matchTemplateWithRuns(bytes, from, end, template, lastToken);
  // The common case, kept apart so its loop is small: every array in a local (stores into the
  // token arrays would otherwise reload them), and a plain number read by one digit loop.
  // bench/training-tracker-cpu.ts' step and tqdm lines: ~320 -> ~230 ns a line. Literal text is
  // compared 4 bytes at a time (`view` is a DataView over `bytes`: one unaligned load).
  const text = template.text;
  const words = template.words;
  const textEnds = template.textEnds;
  const kinds = template.kinds;
  const plainNumber = template.plainNumber;
  const count = template.tokens;
  const starts = byteTokenStarts;
  const ends = byteTokenEnds;
  let pos = from;
  let textAt = 0;
  for (let k = 0; ; k++) {
    const textEnd = textEnds[k]!;
    if (pos + textEnd - textAt > end) return false;
    while (textEnd - textAt >= 4) {
      if (view.getInt32(pos, true) !== words[textAt]) return false;
      textAt += 4;
      pos += 4;
    }
    while (textAt < textEnd) {
      if (bytes[pos] !== text[textAt]) return false;
      textAt++;
      pos++;
    }
    if (k === count) return pos === end;
    let tokenEnd = pos;
    if (plainNumber[k] === 1) {
      // Digits, and the full grammar only when a `,`, `.` or exponent follows them (`code` is the
      // byte after the digits, or the last digit at the line's end).
      let code = 0;
      while (tokenEnd < end && (code = bytes[tokenEnd]!) >= 48 && code <= 57) tokenEnd++;
      if (tokenEnd === pos) return false;
      if (code === 46 && tokenEnd + 1 < end && (code = bytes[tokenEnd + 1]!) >= 48 && code <= 57) {
        // A fraction (no `,ddd` group can come before it: the digits stopped at the '.'), read on
        // from here; an exponent after it takes the full grammar.
        tokenEnd += 2;
        while (tokenEnd < end && (code = bytes[tokenEnd]!) >= 48 && code <= 57) tokenEnd++;
        if ((code === 101 || code === 69) && tokenEnd < end) tokenEnd = numberEndBytes(bytes, pos, end);
      } else if (code === 44 || code === 101 || code === 69) tokenEnd = numberEndBytes(bytes, pos, end);
    } else {
      tokenEnd = tokenEndBytes(bytes, from, pos, end, kinds[k]!);
      if (tokenEnd < 0) return false;
    }
    if (k <= lastToken) {
      starts[k] = pos;
      ends[k] = tokenEnd;
    }
    pos = tokenEnd;
  }
}

/** matchTemplateBytes() for a template with word runs. */
function matchTemplateWithRuns(bytes: Uint8Array, from: number, end: number, template: TemplateBytes, lastToken: number): boolean {
  const textEnds = template.textEnds;
  const kinds = template.kinds;
  const count = template.tokens;
  let pos = from;
  let textAt = 0;
  for (let k = 0; ; k++) {
    const textEnd = textEnds[k]!;
    pos = matchTextWithRuns(bytes, pos, end, template, textAt, textEnd);
    if (pos < 0) return false;
    textAt = textEnd;
    if (k === count) return pos === end;
    if (template.plainNumber[k] === 1) {
      // Digits, and the full grammar only when a `,`, `.` or exponent follows them.
      let tokenEnd = pos;
      while (tokenEnd < end && isDigit(bytes[tokenEnd]!)) tokenEnd++;
      if (tokenEnd === pos) return false;
      if (tokenEnd < end) {
        const next = bytes[tokenEnd]!;
        if (next === 44 || next === 46 || next === 101 || next === 69) tokenEnd = numberEndBytes(bytes, pos, end);
      }
      if (k <= lastToken) {
        byteTokenStarts[k] = pos;
        byteTokenEnds[k] = tokenEnd;
      }
      pos = tokenEnd;
      continue;
    }
    const tokenEnd = tokenEndBytes(bytes, from, pos, end, kinds[k]!);
    if (tokenEnd < 0) return false;
    if (k <= lastToken) {
      byteTokenStarts[k] = pos;
      byteTokenEnds[k] = tokenEnd;
    }
    pos = tokenEnd;
  }
}

/** Exact powers of ten (every one up to 1e22 is a double exactly). */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/**
 * decimalValue() on bytes: the value of a number token, or NaN when it takes more than the exact
 * fast path (more than 15 digits, a power of ten past 22): the caller then reads the line as a string.
 */
export function decimalValueBytes(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  let negative = false;
  const sign = bytes[i]!;
  if (sign === 45 || sign === 43) {
    negative = sign === 45;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let code = 0;
  for (; i < end; i++) {
    code = bytes[i]!;
    if (code >= 48 && code <= 57) {
      mantissa = mantissa * 10 + (code - 48);
      digits++;
    } else if (code !== 44) break;
  }
  if (i < end && code === 46) {
    for (i++; i < end; i++) {
      code = bytes[i]!;
      if (code < 48 || code > 57) break;
      mantissa = mantissa * 10 + (code - 48);
      digits++;
      scale--;
    }
  }
  if (i < end) {
    i++;
    const expSign = bytes[i]!;
    let exponentNegative = false;
    if (expSign === 45 || expSign === 43) {
      exponentNegative = expSign === 45;
      i++;
    }
    let exponent = 0;
    for (; i < end && exponent < 1000; i++) exponent = exponent * 10 + (bytes[i]! - 48);
    scale += exponentNegative ? -exponent : exponent;
  }
  if (digits === 0 || digits > 15 || scale > 22 || scale < -22) return Number.NaN;
  const magnitude = scale >= 0 ? mantissa * POWERS_OF_TEN[scale]! : mantissa / POWERS_OF_TEN[-scale]!;
  return negative ? -magnitude : magnitude;
}
