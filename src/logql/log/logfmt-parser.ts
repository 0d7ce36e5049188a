// `| logfmt [--strict] [--keep-empty] [label="key", …]`, following go-logfmt's scanner over the line's
// UTF-8 bytes, as Go reads it: keys run to '=' or a space, values are bare (to the next space) or quoted
// with Go escapes. Every token boundary is an ASCII byte, so the scan needs no decoded line: a metric
// query hands it a block's bytes, and only the keys and values the query keeps become strings.

import type { LogfmtParserStage } from '../syntax/ast.ts';
import { ErrorType, sanitizeLabelKey, type PipelineEntry, type PipelineStage } from './labels-builder.ts';
import { StageBuildError } from './line-filter.ts';
import type { NeededLabels } from './label-hints.ts';
import { latin1Text } from './latin1-text.ts';

export interface LogfmtPair {
  key: string;
  /** null for a standalone key or `key=` with nothing after it. */
  value: string | null;
}

export interface LogfmtScan {
  pairs: LogfmtPair[];
  /** Set when the scanner met a malformed pair. */
  error?: string;
}

const EMPTY = Buffer.alloc(0);

// Byte classes, so the key and value loops make one table lookup per byte. A key ends at '=', '"' or a
// space (any byte <= 32); it is a plain label name when it has only letters, digits and '_'.
const ENDS_KEY = 1;
const NOT_NAME = 2;
const HIGH = 4;
const ENDS_VALUE = 1;
const BAD_IN_VALUE = 2;
const KEY_BYTE = new Uint8Array(256);
const VALUE_BYTE = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const nameByte = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
  KEY_BYTE[c] = c <= 32 || c === 61 || c === 34 ? ENDS_KEY : (nameByte ? 0 : NOT_NAME) | (c >= 0x80 ? HIGH : 0);
  VALUE_BYTE[c] = c <= 32 ? ENDS_VALUE : c === 61 || c === 34 ? BAD_IN_VALUE : c >= 0x80 ? HIGH : 0;
}
const REPLACEMENT = '\uFFFD';

/**
 * The scanner: next() finds the pairs of bytes[start, end) in order, and reports each by position so
 * that a hinted parser can skip keys without building their strings. A class with fields rather than
 * closures: it runs on every line of a scan. Strict mode stops at the first malformed pair (`error`);
 * otherwise a bad token is skipped up to the next space.
 */
class LogfmtScanner {
  bytes: Buffer = EMPTY;
  private pos = 0;
  private end = 0;
  private lineStart = 0;
  private strict = false;
  keyStart = 0;
  keyEnd = 0;
  /** The key is already a valid label name (letters, digits, `_`, no leading digit). */
  keyPlain = true;
  /** < 0: no value (a standalone key, `key=` or `key=""`). */
  valueStart = -1;
  valueEnd = -1;
  /** A quoted value's text when it had escapes. */
  unquoted: string | undefined = undefined;
  /** The value has bytes outside ASCII (it is then decoded as UTF-8). */
  valueHigh = false;
  error: string | undefined = undefined;
  /**
   * Non-strict only: pairs the caller would drop are passed over inside next() (no return per pair).
   * `skipEmpty`: pairs without a value. `keyLengths`: plain keys whose length has no 1 here.
   */
  private skipEmpty = false;
  private keyLengths: Uint8Array | null = null;

  reset(bytes: Buffer, start: number, end: number, strict: boolean, keyLengths: Uint8Array | null = null, skipEmpty = false): void {
    this.bytes = bytes;
    this.pos = start;
    this.lineStart = start;
    this.end = end;
    this.strict = strict;
    this.keyLengths = strict ? null : keyLengths;
    this.skipEmpty = !strict && skipEmpty;
    this.error = undefined;
  }

  /** Moves to the next pair; false at the end of the line or at a strict-mode error. */
  next(): boolean {
    const b = this.bytes;
    const n = this.end;
    let pos = this.pos;
    for (;;) {
      while (pos < n && b[pos]! <= 32) pos++;
      if (pos >= n) {
        this.pos = pos;
        return false;
      }
      const keyStart = pos;
      // A key may not start with a digit to be a plain name.
      let keyFlags = b[pos]! >= 48 && b[pos]! <= 57 ? NOT_NAME : 0;
      while (pos < n) {
        const flags = KEY_BYTE[b[pos]!]!;
        if (flags & ENDS_KEY) break;
        keyFlags |= flags;
        pos++;
      }
      const keyPlain = keyFlags === 0;
      const keyHigh = (keyFlags & HIGH) !== 0;
      if (pos >= n || b[pos]! <= 32) {
        if (this.skipEmpty) continue;
        return this.found(keyStart, pos, keyPlain, -1, -1, undefined, pos);
      }
      if (b[pos] === 34) {
        if (this.strict) return this.fail(pos, `unexpected '"'`);
        pos = this.skipToken(pos);
        continue;
      }
      // at '='
      if (pos === keyStart) {
        if (this.strict) return this.fail(pos, `unexpected '='`);
        pos = this.skipToken(pos);
        continue;
      }
      // An invalid UTF-8 sequence (or U+FFFD itself) makes the key invalid.
      if (keyHigh && b.toString('utf8', keyStart, pos).includes(REPLACEMENT)) {
        if (this.strict) return this.fail(pos, 'invalid key');
        pos = this.skipToken(pos);
        continue;
      }
      const keyEnd = pos;
      pos++;
      const lengths = this.keyLengths;
      // A plain key of no needed length: only where its value ends matters.
      const unwanted = lengths !== null && keyPlain && (keyEnd - keyStart >= lengths.length || lengths[keyEnd - keyStart] === 0);
      if (pos >= n || b[pos]! <= 32) {
        if (this.skipEmpty || unwanted) continue;
        return this.found(keyStart, keyEnd, keyPlain, -1, -1, undefined, pos);
      }
      if (b[pos] === 34) {
        const quoteStart = pos;
        let escaped = false;
        let hasEscape = false;
        let close = -1;
        this.valueHigh = false;
        for (let i = pos + 1; i < n; i++) {
          const c = b[i]!;
          if (c >= 0x80) this.valueHigh = true;
          if (escaped) escaped = false;
          else if (c === 92) {
            escaped = true;
            hasEscape = true;
          } else if (c === 34) {
            close = i;
            break;
          }
        }
        if (close < 0) {
          if (this.strict) return this.fail(n, 'unterminated quoted value');
          pos = n;
          continue;
        }
        pos = close + 1;
        if (hasEscape) {
          const unquoted = unquoteGo(b.toString('utf8', quoteStart + 1, close));
          if (unquoted === null) {
            if (this.strict) return this.fail(pos, 'invalid quoted value');
            pos = this.skipToken(pos);
            continue;
          }
          if (unwanted || (unquoted === '' && this.skipEmpty)) continue;
          if (unquoted === '') return this.found(keyStart, keyEnd, keyPlain, -1, -1, undefined, pos);
          return this.found(keyStart, keyEnd, keyPlain, quoteStart + 1, close, unquoted, pos);
        }
        if (unwanted || (close === quoteStart + 1 && this.skipEmpty)) continue;
        if (close === quoteStart + 1) return this.found(keyStart, keyEnd, keyPlain, -1, -1, undefined, pos);
        return this.found(keyStart, keyEnd, keyPlain, quoteStart + 1, close, undefined, pos);
      }
      if (unwanted) {
        // A valid value and a bad token ('=' or '"' inside) both end at the next space.
        while (pos < n && b[pos]! > 32) pos++;
        continue;
      }
      const valueStart = pos;
      let valueFlags = 0;
      while (pos < n) {
        const flags = VALUE_BYTE[b[pos]!]!;
        if (flags & (ENDS_VALUE | BAD_IN_VALUE)) break;
        valueFlags |= flags;
        pos++;
      }
      this.valueHigh = valueFlags !== 0;
      if (pos < n && VALUE_BYTE[b[pos]!]! & BAD_IN_VALUE) {
        if (this.strict) return this.fail(pos, `unexpected '${b[pos] === 61 ? '=' : '"'}'`);
        pos = this.skipToken(pos);
        continue;
      }
      return this.found(keyStart, keyEnd, keyPlain, valueStart, pos, undefined, pos);
    }
  }

  /** The key's text as written. */
  key(): string {
    return this.bytes.toString('utf8', this.keyStart, this.keyEnd);
  }

  /** The value's text ("" when there is none). */
  value(): string {
    if (this.valueStart < 0) return '';
    if (this.unquoted !== undefined) return this.unquoted;
    return this.valueHigh ? this.bytes.toString('utf8', this.valueStart, this.valueEnd) : latin1Text(this.bytes, this.valueStart, this.valueEnd);
  }

  private found(keyStart: number, keyEnd: number, keyPlain: boolean, valueStart: number, valueEnd: number, unquoted: string | undefined, pos: number): true {
    this.keyStart = keyStart;
    this.keyEnd = keyEnd;
    this.keyPlain = keyPlain;
    this.valueStart = valueStart;
    this.valueEnd = valueEnd;
    this.unquoted = unquoted;
    this.pos = pos;
    return true;
  }

  /** Go reports byte positions, counted from 1. */
  private fail(at: number, message: string): false {
    this.error = `logfmt syntax error at pos ${at - this.lineStart + 1} : ${message}`;
    this.pos = this.end;
    return false;
  }

  private skipToken(at: number): number {
    let pos = at;
    while (pos < this.end && this.bytes[pos]! > 32) pos++;
    return pos;
  }
}

/** Scans a line. In strict mode it stops at the first error; otherwise it skips the bad token. */
export function scanLogfmt(line: string, strict: boolean): LogfmtScan {
  const scanner = new LogfmtScanner();
  const bytes = Buffer.from(line, 'utf8');
  scanner.reset(bytes, 0, bytes.length, strict);
  const pairs: LogfmtPair[] = [];
  while (scanner.next()) pairs.push({ key: scanner.key(), value: scanner.valueStart < 0 ? null : scanner.value() });
  return scanner.error === undefined ? { pairs } : { pairs, error: scanner.error };
}

function unquoteGo(text: string): string | null {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text[++i];
    switch (next) {
      case '"': case '\\': case '/': case "'": out += next; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        const hex = text.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) return null;
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default:
        return null;
    }
  }
  return out;
}

/** A logfmt parameter's expression is a bare key; Loki's grammar rejects anything else. */
function validateLogfmtKey(expression: string): void {
  const bad = /[^\x21-\x7e]/u.exec(expression);
  if (bad && !/\s/.test(bad[0])) throw new StageBuildError(`cannot parse expression [${expression}]: unexpected char ${bad[0]}`);
  if (/\s/.test(expression.trim())) {
    throw new StageBuildError(`cannot parse expression [${expression}]: syntax error: unexpected KEY`);
  }
}

export function logfmtParserStage(stage: LogfmtParserStage, needed: NeededLabels = null): PipelineStage {
  for (const param of stage.params) validateLogfmtKey(param.expression);
  const wanted = stage.params.length > 0 ? new Map(stage.params.map((p) => [p.expression, p.label])) : null;
  // Needed names by length: most keys of a line are skipped on their length alone, inside the scanner.
  let neededByLength: Array<NeededName[] | undefined> | null = null;
  let neededByName: Map<string, NeededName> | null = null;
  let keyLengths: Uint8Array | null = null;
  if (needed !== null && !wanted) {
    neededByLength = [];
    neededByName = new Map();
    for (const name of needed) {
      const entry: NeededName = { name, bytes: Buffer.from(name, 'latin1'), foundInLine: -1 };
      (neededByLength[name.length] ??= []).push(entry);
      neededByName.set(name, entry);
    }
    keyLengths = new Uint8Array(neededByLength.length);
    for (let length = 0; length < neededByLength.length; length++) keyLengths[length] = neededByLength[length] === undefined ? 0 : 1;
  }
  // One scanner and one set for every line, not one per line. With hints, a needed name records the
  // last line it was found in instead (clearing a Set allocates a fresh table on every line).
  const scanner = new LogfmtScanner();
  const done = new Set<string>();
  let line = 0;
  const parse = (entry: PipelineEntry, bytes: Buffer, start: number, end: number): boolean => {
    scanner.reset(bytes, start, end, stage.strict, keyLengths, !wanted && !stage.keepEmpty);
    if (neededByName === null) done.clear();
    line++;
    const labels = entry.labels;
    while (scanner.next()) {
      let name: string;
      if (wanted) {
        const label = wanted.get(scanner.key());
        if (label === undefined || done.has(label)) continue;
        name = label;
        done.add(name);
      } else {
        if (scanner.valueStart < 0 && !stage.keepEmpty) continue;
        if (neededByLength !== null) {
          // A plain key is its own label name: compare it in place instead of decoding every key.
          const found = scanner.keyPlain
            ? neededByLength[scanner.keyEnd - scanner.keyStart] && plainKeyName(bytes, scanner.keyStart, neededByLength[scanner.keyEnd - scanner.keyStart]!)
            : neededByName!.get(sanitizeLabelKey(scanner.key(), true));
          // The first occurrence of a key in the line wins.
          if (found === undefined || found.foundInLine === line) continue;
          found.foundInLine = line;
          name = found.name;
        } else {
          name = sanitizeLabelKey(scanner.key(), true);
          if (name === '' || done.has(name)) continue;
          done.add(name);
        }
      }
      const raw = scanner.value();
      // U+FFFD comes from invalid UTF-8 or from an escape: never in a plain ASCII value.
      labels.setExtracted(name, (scanner.valueHigh || scanner.unquoted !== undefined) && raw.includes(REPLACEMENT) ? raw.replaceAll(REPLACEMENT, ' ') : raw);
    }
    if (wanted && stage.keepEmpty) {
      for (const label of wanted.values()) if (!done.has(label)) labels.setExtracted(label, '');
    }
    if (scanner.error !== undefined) labels.setError(ErrorType.logfmt, scanner.error);
    return true;
  };
  return {
    process(entry) {
      const bytes = Buffer.from(entry.line, 'utf8');
      return parse(entry, bytes, 0, bytes.length);
    },
    processRaw: parse,
  };
}

interface NeededName {
  name: string;
  bytes: Buffer;
  /** The parse's line counter when this name was last stored: later keys of that line are ignored. */
  foundInLine: number;
}

/** The needed name (of the key's length) that bytes at keyStart spell, if any. */
function plainKeyName(bytes: Buffer, keyStart: number, names: NeededName[]): NeededName | undefined {
  names: for (let k = 0; k < names.length; k++) {
    const nameBytes = names[k]!.bytes;
    for (let i = 0; i < nameBytes.length; i++) if (bytes[keyStart + i] !== nameBytes[i]) continue names;
    return names[k]!;
  }
  return undefined;
}
