// The walk behind `| json` without parameters: flattens a JSON object line into label pairs (nested
// keys joined with `_`, arrays skipped, scalars as written, null as ""), in one pass over the line's
// UTF-8 bytes with no intermediate tree. Every token boundary of JSON is an ASCII byte, so a metric
// scan hands it a block's bytes: only the keys and values a query keeps become strings.

import { sanitizeLabelKey } from './labels-builder.ts';
import { latin1Text } from './latin1-text.ts';

export const MALFORMED_OBJECT = "Value looks like object, but can't find closing '}' symbol";
const UNTERMINATED_STRING = 'Value is string, but can\'t find closing \'"\' symbol';
const MAX_DEPTH = 512;
const EMPTY = Buffer.alloc(0);

/** A needed label name as bytes, for comparing plain keys in place. */
interface NeededName {
  name: string;
  bytes: Buffer;
}

/** Needed names grouped by length (the index); null when every label is needed. */
export type NeededNamesByLength = Array<NeededName[] | undefined> | null;

export function neededNamesByLength(names: Iterable<string> | null): NeededNamesByLength {
  if (names === null) return null;
  const byLength: NeededNamesByLength = [];
  for (const name of names) (byLength[name.length] ??= []).push({ name, bytes: Buffer.from(name, 'latin1') });
  return byLength;
}

/**
 * One walker for every line of a scan (the walk is synchronous, so it is never re-entered). With
 * needed names (parser hints), a top-level key that is already a plain label name is compared in
 * place, and the value of one no query reads is validated without building its string; the whole line
 * is still walked, so malformed JSON fails exactly as without hints.
 */
export class JsonFlattener {
  private b: Buffer = EMPTY;
  private lineStart = 0;
  private n = 0;
  private pos = 0;
  private out: string[] = [];
  private needed: NeededNamesByLength = null;

  /**
   * Flattens the object in bytes[start, end) into [name, value, name, value, …] in `out`. Returns an
   * error message (Loki's wording) or null.
   */
  run(bytes: Buffer, start: number, end: number, out: string[], needed: NeededNamesByLength): string | null {
    this.b = bytes;
    this.lineStart = start;
    this.n = end;
    this.pos = start;
    this.out = out;
    this.needed = needed;
    this.skipSpace();
    // Anything but JSON whitespace before the '{' (a Unicode space, say) fails as Loki's walk does.
    if (this.code(this.pos) !== 123) return MALFORMED_OBJECT;
    return this.readObject('', 0);
  }

  /** The byte at `at`, or -1 past the line's end (the block's next line is no part of this one). */
  private code(at: number): number {
    return at < this.n ? this.b[at]! : -1;
  }

  private skipSpace(): void {
    const b = this.b;
    while (this.pos < this.n) {
      const c = b[this.pos]!;
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      this.pos++;
    }
  }

  /**
   * Reads a string starting at the opening quote; null when unterminated or badly escaped. `skip`:
   * only validate (an unescaped string then reads as "").
   */
  private readString(skip = false): string | null {
    const b = this.b;
    const start = this.pos + 1;
    let i = start;
    let escaped = false;
    let high = false;
    while (i < this.n) {
      const c = b[i]!;
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        i += 2;
        continue;
      }
      if (c >= 0x80) high = true;
      i++;
    }
    if (i >= this.n) return null;
    this.pos = i + 1;
    if (!escaped) return skip ? '' : high ? b.toString('utf8', start, i) : latin1Text(b, start, i);
    try {
      const quoted = b.toString('utf8', start - 1, i + 1);
      return JSON.parse(quoted.replace(/[\u0000-\u001f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)) as string;
    } catch {
      return null;
    }
  }

  /** Skips any value (used for arrays); false on malformed input. */
  private skipValue(depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    this.skipSpace();
    const c = this.code(this.pos);
    if (c === 34) return this.readString(true) !== null;
    if (c === 123 || c === 91) {
      const close = c === 123 ? 125 : 93;
      this.pos++;
      this.skipSpace();
      if (this.code(this.pos) === close) {
        this.pos++;
        return true;
      }
      for (;;) {
        if (c === 123) {
          this.skipSpace();
          if (this.code(this.pos) !== 34 || this.readString(true) === null) return false;
          this.skipSpace();
          if (this.code(this.pos) !== 58) return false;
          this.pos++;
        }
        if (!this.skipValue(depth + 1)) return false;
        this.skipSpace();
        const next = this.code(this.pos);
        this.pos++;
        if (next === 44) continue;
        return next === close;
      }
    }
    const start = this.pos;
    while (this.pos < this.n) {
      const d = this.b[this.pos]!;
      if (d === 44 || d === 125 || d === 93 || d === 32 || d === 9 || d === 10 || d === 13) break;
      this.pos++;
    }
    return isScalarAt(this.b, start, this.pos);
  }

  // The walk keeps its position in a local and hands it to `this.pos` only around calls that move it:
  // a field read and written on every byte cost a third of the walk (bench log, 181-byte JSON lines).
  private readObject(prefix: string, depth: number): string | null {
    if (depth > MAX_DEPTH) return 'Value is too deeply nested';
    const b = this.b;
    const n = this.n;
    let pos = skipJsonSpace(b, this.pos + 1, n); // past '{'
    if (pos < n && b[pos] === 125) {
      this.pos = pos + 1;
      return null;
    }
    for (;;) {
      pos = skipJsonSpace(b, pos, n);
      if (pos >= n || b[pos] !== 34) return MALFORMED_OBJECT;
      // name: the label this key's scalar or string value becomes; null when no query reads it.
      let name: string | null;
      const keyStart = pos + 1;
      /** Where a plain top-level key's text ends (its closing quote), or -1. */
      const plainEnd = this.needed !== null && prefix === '' ? this.plainKeyEnd(keyStart) : -1;
      if (plainEnd > 0) {
        // A plain key is its own label name: compare it in place instead of decoding every key.
        name = this.neededName(keyStart, plainEnd);
        pos = plainEnd + 1;
      } else {
        this.pos = pos;
        const key = this.readString();
        if (key === null) return UNTERMINATED_STRING;
        pos = this.pos;
        const sanitized = sanitizeLabelKey(key, prefix === '');
        // A key of only spaces sanitizes to "", and Loki then uses the other part alone (or "").
        name = prefix && sanitized ? `${prefix}_${sanitized}` : prefix || sanitized;
      }
      pos = skipJsonSpace(b, pos, n);
      if (pos >= n || b[pos] !== 58) return MALFORMED_OBJECT;
      pos = skipJsonSpace(b, pos + 1, n);
      const c = pos < n ? b[pos]! : -1;
      if (c === 123) {
        // Nested keys are named after this one, needed or not.
        this.pos = pos;
        const error = this.readObject(name ?? b.toString('latin1', keyStart, plainEnd), depth + 1);
        if (error !== null) return error;
        pos = this.pos;
      } else if (c === 91) {
        this.pos = pos;
        if (!this.skipValue(depth + 1)) return "Value is array, but can't find closing ']' symbol";
        pos = this.pos;
      } else if (c === 34) {
        let close = pos + 1;
        let escaped = false;
        while (close < n) {
          const d = b[close]!;
          if (d === 34) break;
          if (d === 92) {
            escaped = true;
            close += 2;
            continue;
          }
          close++;
        }
        if (close >= n) return UNTERMINATED_STRING;
        if (name === null && !escaped) {
          pos = close + 1;
        } else {
          // Escapes are checked (and a needed value built) by readString.
          this.pos = pos;
          const value = this.readString(name === null);
          if (value === null) return UNTERMINATED_STRING;
          if (name !== null) this.out.push(name, value);
          pos = this.pos;
        }
      } else {
        const start = pos;
        while (pos < n) {
          const d = b[pos]!;
          if (d === 44 || d === 125 || d === 32 || d === 9 || d === 10 || d === 13) break;
          pos++;
        }
        if (!isScalarAt(b, start, pos)) return pos === start ? 'Unexpected end of JSON input' : `Unknown value type at offset ${this.charOffset(start)}`;
        if (name !== null) this.out.push(name, pos - start === 4 && b[start] === 110 ? '' : latin1Text(b, start, pos));
      }
      pos = skipJsonSpace(b, pos, n);
      const next = pos < n ? b[pos]! : -1;
      pos++;
      if (next === 44) continue;
      if (next === 125) {
        this.pos = pos;
        return null;
      }
      return MALFORMED_OBJECT;
    }
  }

  /** A byte position as an offset into the decoded line (UTF-16 units), as error messages give it. */
  private charOffset(at: number): number {
    return this.b.toString('utf8', this.lineStart, at).length;
  }

  /**
   * Where a key starting at `from` closes when it is a plain label name (letters, digits and `_`, not
   * starting with a digit, no escapes); -1 otherwise.
   */
  private plainKeyEnd(from: number): number {
    const b = this.b;
    for (let i = from; i < this.n; i++) {
      const c = b[i]!;
      if (c === 34) return i > from ? i : -1;
      const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57 && i > from);
      if (!ok) return -1;
    }
    return -1;
  }

  /** The needed name equal to bytes[start, end), or null. */
  private neededName(start: number, end: number): string | null {
    const candidates = this.needed![end - start];
    if (candidates === undefined) return null;
    const b = this.b;
    names: for (let k = 0; k < candidates.length; k++) {
      const name = candidates[k]!.bytes;
      for (let i = 0; i < name.length; i++) if (b[start + i] !== name[i]) continue names;
      return candidates[k]!.name;
    }
    return null;
  }
}

/** The first position from `pos` on (before `end`) that is not JSON whitespace. */
function skipJsonSpace(b: Buffer, pos: number, end: number): number {
  while (pos < end) {
    const c = b[pos]!;
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    pos++;
  }
  return pos;
}

/** Whether bytes[start, end) is a JSON scalar: true, false, null or a number. */
function isScalarAt(b: Buffer, start: number, end: number): boolean {
  const length = end - start;
  if (length === 4 && ((b[start] === 116 && b[start + 1] === 114 && b[start + 2] === 117 && b[start + 3] === 101) || (b[start] === 110 && b[start + 1] === 117 && b[start + 2] === 108 && b[start + 3] === 108))) return true;
  if (length === 5 && b[start] === 102 && b[start + 1] === 97 && b[start + 2] === 108 && b[start + 3] === 115 && b[start + 4] === 101) return true;
  let i = start;
  if (i < end && b[i] === 45) i++;
  const digitsFrom = i;
  while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
  if (i === digitsFrom) return false;
  if (i < end && b[i] === 46) {
    i++;
    const fractionFrom = i;
    while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === fractionFrom) return false;
  }
  if (i < end && (b[i] === 101 || b[i] === 69)) {
    i++;
    if (i < end && (b[i] === 43 || b[i] === 45)) i++;
    const exponentFrom = i;
    while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === exponentFrom) return false;
  }
  return i === end;
}
