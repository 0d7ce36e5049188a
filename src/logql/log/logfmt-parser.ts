// `| logfmt [--strict] [--keep-empty] [label="key", …]`, following go-logfmt's scanner: keys run to
// '=' or a space, values are bare (to the next space) or quoted with Go escapes.

import type { LogfmtParserStage } from '../syntax/ast.ts';
import { ErrorType, sanitizeLabelKey, type LabelsBuilder, type PipelineStage } from './labels-builder.ts';
import { StageBuildError } from './line-filter.ts';
import { isNeeded, type NeededLabels } from './label-hints.ts';

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

/**
 * What the scanner reports for each pair, by position so that a hinted parser can skip keys without
 * building their strings. `valueStart` < 0: no value (a standalone key, `key=` or `key=""`).
 * `unquoted` is set when a quoted value had escapes (the value's text is then that string).
 * `keyPlain`: the key is already a valid label name (letters, digits, `_`, no leading digit).
 */
type PairVisitor = (keyStart: number, keyEnd: number, keyPlain: boolean, valueStart: number, valueEnd: number, unquoted: string | undefined) => void;

/**
 * The scanner: reports pairs in order and returns an error message (strict mode stops at the first
 * malformed pair) or undefined. Non-strict mode skips a bad token up to the next space.
 */
function scanPairs(line: string, strict: boolean, visit: PairVisitor): string | undefined {
  let pos = 0;
  const n = line.length;
  /** Go reports byte positions. */
  const errorAt = (at: number, message: string) => `logfmt syntax error at pos ${Buffer.byteLength(line.slice(0, at)) + 1} : ${message}`;
  const skipToken = (at: number) => {
    pos = at;
    while (pos < n && line.charCodeAt(pos) > 32) pos++;
  };
  outer: while (pos < n) {
    while (pos < n && line.charCodeAt(pos) <= 32) pos++;
    if (pos >= n) break;
    const keyStart = pos;
    let keyPlain = true;
    let keyReplacement = false;
    while (pos < n) {
      const c = line.charCodeAt(pos);
      if (c === 61) break; // '='
      if (c === 34) {
        // '"'
        if (strict) return errorAt(pos, `unexpected '"'`);
        skipToken(pos);
        continue outer;
      }
      if (c <= 32) {
        visit(keyStart, pos, keyPlain, -1, -1, undefined);
        continue outer;
      }
      if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57 && pos > keyStart))) keyPlain = false;
      if (c === 0xfffd) keyReplacement = true;
      pos++;
    }
    if (pos >= n) {
      visit(keyStart, pos, keyPlain, -1, -1, undefined);
      break;
    }
    // at '='
    if (pos === keyStart) {
      if (strict) return errorAt(pos, `unexpected '='`);
      skipToken(pos);
      continue;
    }
    if (keyReplacement) {
      if (strict) return errorAt(pos, 'invalid key');
      skipToken(pos);
      continue;
    }
    const keyEnd = pos;
    pos++;
    if (pos >= n || line.charCodeAt(pos) <= 32) {
      visit(keyStart, keyEnd, keyPlain, -1, -1, undefined);
      continue;
    }
    if (line.charCodeAt(pos) === 34) {
      const quoteStart = pos;
      let escaped = false;
      let hasEscape = false;
      let end = -1;
      for (let i = pos + 1; i < n; i++) {
        const c = line.charCodeAt(i);
        if (escaped) escaped = false;
        else if (c === 92) {
          escaped = true;
          hasEscape = true;
        } else if (c === 34) {
          end = i;
          break;
        }
      }
      if (end < 0) {
        if (strict) return errorAt(n, 'unterminated quoted value');
        pos = n;
        continue;
      }
      pos = end + 1;
      if (hasEscape) {
        const unquoted = unquoteGo(line.slice(quoteStart + 1, end));
        if (unquoted === null) {
          if (strict) return errorAt(pos, 'invalid quoted value');
          skipToken(pos);
          continue;
        }
        if (unquoted === '') visit(keyStart, keyEnd, keyPlain, -1, -1, undefined);
        else visit(keyStart, keyEnd, keyPlain, quoteStart + 1, end, unquoted);
        continue;
      }
      if (end === quoteStart + 1) visit(keyStart, keyEnd, keyPlain, -1, -1, undefined);
      else visit(keyStart, keyEnd, keyPlain, quoteStart + 1, end, undefined);
      continue;
    }
    const valueStart = pos;
    while (pos < n) {
      const c = line.charCodeAt(pos);
      if (c === 61 || c === 34) {
        if (strict) return errorAt(pos, `unexpected '${c === 61 ? '=' : '"'}'`);
        skipToken(pos);
        continue outer;
      }
      if (c <= 32) break;
      pos++;
    }
    visit(keyStart, keyEnd, keyPlain, valueStart, pos, undefined);
  }
  return undefined;
}

/** Scans a line. In strict mode it stops at the first error; otherwise it skips the bad token. */
export function scanLogfmt(line: string, strict: boolean): LogfmtScan {
  const pairs: LogfmtPair[] = [];
  const error = scanPairs(line, strict, (keyStart, keyEnd, _plain, valueStart, valueEnd, unquoted) => {
    pairs.push({ key: line.slice(keyStart, keyEnd), value: valueStart < 0 ? null : (unquoted ?? line.slice(valueStart, valueEnd)) });
  });
  return error === undefined ? { pairs } : { pairs, error };
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
  const neededNames = needed === null ? null : [...needed];
  // One set and one visitor for every line, not one per line.
  const done = new Set<string>();
  let line = '';
  let labels: LabelsBuilder | null = null;
  const visit = (keyStart: number, keyEnd: number, keyPlain: boolean, valueStart: number, valueEnd: number, unquoted: string | undefined) => {
    let name: string;
    if (wanted) {
      const label = wanted.get(line.slice(keyStart, keyEnd));
      if (label === undefined || done.has(label)) return;
      name = label;
    } else {
      if (valueStart < 0 && !stage.keepEmpty) return;
      if (neededNames !== null && keyPlain) {
        // A plain key is its own label name: compare it in place instead of slicing every key.
        const found = plainKeyName(line, keyStart, keyEnd, neededNames);
        if (found === undefined) return;
        name = found;
      } else {
        name = sanitizeLabelKey(line.slice(keyStart, keyEnd), true);
        if (name === '' || !isNeeded(needed, name)) return;
      }
      // The first occurrence of a key in the line wins.
      if (done.has(name)) return;
    }
    done.add(name);
    const raw = valueStart < 0 ? '' : (unquoted ?? line.slice(valueStart, valueEnd));
    labels!.setExtracted(name, raw.includes('\uFFFD') ? raw.replaceAll('\uFFFD', ' ') : raw);
  };
  const reject = stage.strict || stage.keepEmpty || wanted || needed === null ? null : lineRejecter([...needed]);
  return {
    process(entry) {
      // Nothing this query reads can come out of the line, and non-strict logfmt sets no error.
      if (reject !== null && reject(entry.line)) return true;
      line = entry.line;
      labels = entry.labels;
      done.clear();
      const error = scanPairs(line, stage.strict, visit);
      if (wanted) {
        for (const label of wanted.values()) if (!done.has(label) && stage.keepEmpty) entry.labels.setExtracted(label, '');
      }
      if (error !== undefined) entry.labels.setError(ErrorType.logfmt, error);
      return true;
    },
  };
}

function plainKeyName(line: string, keyStart: number, keyEnd: number, names: string[]): string | undefined {
  const length = keyEnd - keyStart;
  for (const name of names) if (name.length === length && line.startsWith(name, keyStart)) return name;
  return undefined;
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * For a hinted, non-strict logfmt without --keep-empty: a test that is true only for lines that
 * cannot give any of the needed labels a value. A key sanitizes to a name character by character
 * (letters and digits kept, anything else `_`) after trimming spaces, which in a key can only be
 * non-ASCII ones. So a name ending in a letter or digit needs its last run of those followed by `=`,
 * or a non-ASCII character somewhere; any other name needs its longest run of letters and digits.
 * Null when some name has no letter or digit.
 */
function lineRejecter(names: string[]): ((line: string) => boolean) | null {
  const needles: Array<{ text: string; spacesMayPrecedeEquals: boolean }> = [];
  for (const name of names) {
    const runs = name.split(/[^A-Za-z0-9]+/);
    const last = runs[runs.length - 1]!;
    if (last !== '') {
      needles.push({ text: `${last}=`, spacesMayPrecedeEquals: true });
      continue;
    }
    let longest = '';
    for (const run of runs) if (run.length > longest.length) longest = run;
    if (longest === '') return null;
    needles.push({ text: longest, spacesMayPrecedeEquals: false });
  }
  return (line) => {
    let asciiChecked = false;
    for (const needle of needles) {
      if (line.includes(needle.text)) return false;
      if (needle.spacesMayPrecedeEquals && !asciiChecked) {
        if (NON_ASCII.test(line)) return false;
        asciiChecked = true;
      }
    }
    return true;
  };
}
