// `| logfmt [--strict] [--keep-empty] [label="key", …]`, following go-logfmt's scanner: keys run to
// '=' or a space, values are bare (to the next space) or quoted with Go escapes.

import type { LogfmtParserStage } from '../syntax/ast.ts';
import { ErrorType, sanitizeLabelKey, type PipelineStage } from './labels-builder.ts';
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

/** Scans a line. In strict mode it stops at the first error; otherwise it skips the bad token. */
export function scanLogfmt(line: string, strict: boolean): LogfmtScan {
  const pairs: LogfmtPair[] = [];
  let pos = 0;
  const n = line.length;
  const fail = (at: number, message: string): LogfmtScan | null => {
    // Go reports byte positions.
    if (strict) return { pairs, error: `logfmt syntax error at pos ${Buffer.byteLength(line.slice(0, at)) + 1} : ${message}` };
    // Skip to the next space and keep going.
    pos = at;
    while (pos < n && line.charCodeAt(pos) > 32) pos++;
    return null;
  };
  outer: while (pos < n) {
    while (pos < n && line.charCodeAt(pos) <= 32) pos++;
    if (pos >= n) break;
    const keyStart = pos;
    let key: string | null = null;
    while (pos < n) {
      const c = line[pos]!;
      if (c === '=') {
        if (pos > keyStart) key = line.slice(keyStart, pos);
        if (key === null) {
          const result = fail(pos, `unexpected '='`);
          if (result) return result;
          continue outer;
        }
        if (key.includes('\uFFFD')) {
          const result = fail(pos, 'invalid key');
          if (result) return result;
          continue outer;
        }
        break;
      }
      if (c === '"') {
        const result = fail(pos, `unexpected '"'`);
        if (result) return result;
        continue outer;
      }
      if (line.charCodeAt(pos) <= 32) {
        pairs.push({ key: line.slice(keyStart, pos), value: null });
        continue outer;
      }
      pos++;
    }
    if (pos >= n) {
      pairs.push({ key: line.slice(keyStart, pos), value: null });
      break;
    }
    // at '='
    pos++;
    if (pos >= n || line.charCodeAt(pos) <= 32) {
      pairs.push({ key: key!, value: null });
      continue;
    }
    if (line[pos] === '"') {
      const quoteStart = pos;
      let escaped = false;
      let hasEscape = false;
      let end = -1;
      for (let i = pos + 1; i < n; i++) {
        const c = line[i];
        if (escaped) escaped = false;
        else if (c === '\\') {
          escaped = true;
          hasEscape = true;
        } else if (c === '"') {
          end = i;
          break;
        }
      }
      if (end < 0) {
        pos = n;
        const result = fail(n, 'unterminated quoted value');
        if (result) return result;
        continue;
      }
      pos = end + 1;
      let value = line.slice(quoteStart + 1, end);
      if (hasEscape) {
        const unquoted = unquoteGo(value);
        if (unquoted === null) {
          const result = fail(pos, 'invalid quoted value');
          if (result) return result;
          continue;
        }
        value = unquoted;
      }
      pairs.push({ key: key!, value: value === '' ? null : value });
      continue;
    }
    const valueStart = pos;
    while (pos < n) {
      const c = line[pos]!;
      if (c === '=' || c === '"') {
        const result = fail(pos, `unexpected '${c}'`);
        if (result) return result;
        continue outer;
      }
      if (line.charCodeAt(pos) <= 32) break;
      pos++;
    }
    pairs.push({ key: key!, value: line.slice(valueStart, pos) });
  }
  return { pairs };
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
  // One set for every line: cleared, not reallocated.
  const done = new Set<string>();
  return {
    process(entry) {
      const scan = scanLogfmt(entry.line, stage.strict);
      done.clear();
      for (const pair of scan.pairs) {
        let name: string;
        if (wanted) {
          const label = wanted.get(pair.key);
          if (label === undefined || done.has(label)) continue;
          name = label;
        } else {
          name = sanitizeLabelKey(pair.key, true);
          // The first occurrence of a key in the line wins.
          if (name === '' || done.has(name) || !isNeeded(needed, name)) continue;
        }
        if (pair.value === null && !stage.keepEmpty && !wanted) continue;
        done.add(name);
        const value = pair.value === null ? '' : pair.value.includes('\uFFFD') ? pair.value.replaceAll('\uFFFD', ' ') : pair.value;
        entry.labels.setExtracted(name, value);
      }
      if (wanted) {
        for (const label of wanted.values()) if (!done.has(label) && stage.keepEmpty) entry.labels.setExtracted(label, '');
      }
      if (scan.error) entry.labels.setError(ErrorType.logfmt, scan.error);
      return true;
    },
  };
}
