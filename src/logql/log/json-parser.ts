// `| json` and `| json label="path", …`.

import type { ExtractionParam } from '../syntax/ast.ts';
import { ErrorType, sanitizeLabelKey, type PipelineEntry, type PipelineStage } from './labels-builder.ts';
import { jsonNodeText, JsonSyntaxError, parseJsonDocument, type JsonNode } from './json-scanner.ts';
import { StageBuildError } from './line-filter.ts';
import { isNeeded, type NeededLabels } from './label-hints.ts';

export function jsonParserStage(params: ExtractionParam[], needed: NeededLabels = null): PipelineStage {
  const neededNames = needed === null ? null : [...needed];
  if (params.length === 0) return { process: (entry) => extractAll(entry, needed, neededNames) };
  const compiled = params.map((param) => ({ label: param.label, path: parseJsonPath(param.expression) }));
  return {
    process(entry) {
      let document: JsonNode | undefined;
      if (entry.line.trim() !== '') {
        try {
          document = parseJsonDocument(entry.line, true);
        } catch {
          // Loki reports a bare JSONParserErr here (no details) and extracts nothing.
          entry.labels.setError(ErrorType.json);
          return true;
        }
      }
      const seen = new Set<string>();
      for (const { label, path } of compiled) {
        if (seen.has(label)) continue;
        seen.add(label);
        const node = document && path.length > 0 ? resolvePath(document, path) : undefined;
        const value = node ? jsonNodeText(entry.line, node) : '';
        entry.labels.setExtracted(label, cleanValue(value));
      }
      return true;
    },
  };
}

const MALFORMED_OBJECT = "Value looks like object, but can't find closing '}' symbol";

function extractAll(entry: PipelineEntry, needed: NeededLabels, neededNames: string[] | null): boolean {
  if (!entry.line.trimStart().startsWith('{')) {
    entry.labels.setError(ErrorType.json, MALFORMED_OBJECT);
    return true;
  }
  const pairs: string[] = [];
  const error = flattenJsonObject(entry.line, pairs, neededNames);
  if (error !== null) {
    entry.labels.setError(ErrorType.json, error);
    return true;
  }
  for (let i = 0; i < pairs.length; i += 2) {
    if (isNeeded(needed, pairs[i]!)) entry.labels.setExtracted(pairs[i]!, cleanValue(pairs[i + 1]!));
  }
  return true;
}

/**
 * Flattens a JSON object line into [name, value, name, value, …] (nested keys joined with `_`,
 * arrays skipped, scalars as written, null as ""). A single pass over the text with no intermediate
 * tree: this runs on every line of a `| json` scan. Returns an error message or null.
 *
 * With `neededNames` (parser hints), a top-level key that is already a plain label name is compared
 * in place, and the value of one no query reads is validated without building its string; the whole
 * line is still walked, so malformed JSON fails exactly as without hints.
 */
function flattenJsonObject(text: string, out: string[], neededNames: string[] | null): string | null {
  return flattener.run(text, out, neededNames);
}

class JsonFlattener {
  private text = '';
  private n = 0;
  private pos = 0;
  private out: string[] = [];
  private neededNames: string[] | null = null;

  run(text: string, out: string[], neededNames: string[] | null): string | null {
    this.text = text;
    this.n = text.length;
    this.pos = 0;
    this.out = out;
    this.neededNames = neededNames;
    this.skipSpace();
    return this.readObject('', 0);
  }

  private skipSpace(): void {
    while (this.pos < this.n) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      this.pos++;
    }
  }

  /**
   * Reads a string starting at the opening quote; returns null when unterminated or badly escaped.
   * `skip`: only validate (an unescaped string then reads as "").
   */
  private readString(skip = false): string | null {
    const start = this.pos + 1;
    let i = start;
    let escaped = false;
    while (i < this.n) {
      const c = this.text.charCodeAt(i);
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        i += 2;
        continue;
      }
      i++;
    }
    if (i >= this.n) return null;
    this.pos = i + 1;
    if (!escaped) return skip ? '' : this.text.slice(start, i);
    try {
      return JSON.parse(this.text.slice(start - 1, i + 1).replace(/[\u0000-\u001f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)) as string;
    } catch {
      return null;
    }
  }

  /** Skips any value (used for arrays); false on malformed input. */
  private skipValue(depth: number): boolean {
    if (depth > 512) return false;
    this.skipSpace();
    const c = this.text.charCodeAt(this.pos);
    if (c === 34) return this.readString() !== null;
    if (c === 123 || c === 91) {
      const close = c === 123 ? 125 : 93;
      this.pos++;
      this.skipSpace();
      if (this.text.charCodeAt(this.pos) === close) {
        this.pos++;
        return true;
      }
      for (;;) {
        if (c === 123) {
          this.skipSpace();
          if (this.text.charCodeAt(this.pos) !== 34 || this.readString() === null) return false;
          this.skipSpace();
          if (this.text.charCodeAt(this.pos) !== 58) return false;
          this.pos++;
        }
        if (!this.skipValue(depth + 1)) return false;
        this.skipSpace();
        const next = this.text.charCodeAt(this.pos);
        this.pos++;
        if (next === 44) continue;
        return next === close;
      }
    }
    const start = this.pos;
    while (this.pos < this.n) {
      const d = this.text.charCodeAt(this.pos);
      if (d === 44 || d === 125 || d === 93 || d === 32 || d === 9 || d === 10 || d === 13) break;
      this.pos++;
    }
    return isScalar(this.text.slice(start, this.pos));
  }

  private readObject(prefix: string, depth: number): string | null {
    if (depth > 512) return 'Value is too deeply nested';
    this.pos++; // '{'
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) === 125) {
      this.pos++;
      return null;
    }
    for (;;) {
      this.skipSpace();
      if (this.text.charCodeAt(this.pos) !== 34) return MALFORMED_OBJECT;
      // name: the label this key's scalar or string value becomes; null when no query reads it.
      let name: string | null;
      /** Where a plain top-level key's text ends (its closing quote), or -1. */
      const plainEnd = this.neededNames !== null && prefix === '' ? plainKeyEnd(this.text, this.pos + 1) : -1;
      const keyStart = this.pos + 1;
      if (plainEnd > 0) {
        // A plain key is its own label name: compare it in place instead of slicing every key.
        name = neededName(this.text, keyStart, plainEnd, this.neededNames!);
        this.pos = plainEnd + 1;
      } else {
        const key = this.readString();
        if (key === null) return 'Value is string, but can\'t find closing \'"\' symbol';
        const sanitized = sanitizeLabelKey(key, prefix === '');
        // A key of only spaces sanitizes to "", and Loki then uses the other part alone (or "").
        name = prefix && sanitized ? `${prefix}_${sanitized}` : prefix || sanitized;
      }
      this.skipSpace();
      if (this.text.charCodeAt(this.pos) !== 58) return MALFORMED_OBJECT;
      this.pos++;
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 123) {
        // Nested keys are named after this one, needed or not.
        const error = this.readObject(name ?? this.text.slice(keyStart, plainEnd), depth + 1);
        if (error !== null) return error;
      } else if (c === 91) {
        if (!this.skipValue(depth + 1)) return "Value is array, but can't find closing ']' symbol";
      } else if (c === 34) {
        const value = this.readString(name === null);
        if (value === null) return 'Value is string, but can\'t find closing \'"\' symbol';
        if (name !== null) this.out.push(name, value);
      } else {
        const start = this.pos;
        while (this.pos < this.n) {
          const d = this.text.charCodeAt(this.pos);
          if (d === 44 || d === 125 || d === 32 || d === 9 || d === 10 || d === 13) break;
          this.pos++;
        }
        if (name === null) {
          if (!isScalarAt(this.text, start, this.pos)) return this.pos === start ? 'Unexpected end of JSON input' : `Unknown value type at offset ${start}`;
        } else {
          const raw = this.text.slice(start, this.pos);
          if (!isScalar(raw)) return raw === '' ? 'Unexpected end of JSON input' : `Unknown value type at offset ${start}`;
          this.out.push(name, raw === 'null' ? '' : raw);
        }
      }
      this.skipSpace();
      const next = this.text.charCodeAt(this.pos);
      this.pos++;
      if (next === 44) continue;
      if (next === 125) return null;
      return MALFORMED_OBJECT;
    }
  }
}

/** One flattener for every line (the walk is synchronous, so it is never re-entered). */
const flattener = new JsonFlattener();

function isScalar(raw: string): boolean {
  return raw === 'true' || raw === 'false' || raw === 'null' || /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(raw);
}

/** isScalar on text[start, end) without slicing it. */
function isScalarAt(text: string, start: number, end: number): boolean {
  const length = end - start;
  if (length === 4 && (text.startsWith('true', start) || text.startsWith('null', start))) return true;
  if (length === 5 && text.startsWith('false', start)) return true;
  let i = start;
  if (i < end && text.charCodeAt(i) === 45) i++;
  const digits = (): boolean => {
    const from = i;
    while (i < end && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    return i > from;
  };
  if (!digits()) return false;
  if (i < end && text.charCodeAt(i) === 46) {
    i++;
    if (!digits()) return false;
  }
  if (i < end && (text.charCodeAt(i) === 101 || text.charCodeAt(i) === 69)) {
    i++;
    if (i < end && (text.charCodeAt(i) === 43 || text.charCodeAt(i) === 45)) i++;
    if (!digits()) return false;
  }
  return i === end;
}

/**
 * Where a key starting at `from` closes when it is a plain label name (letters, digits and `_`, not
 * starting with a digit, no escapes); -1 otherwise.
 */
function plainKeyEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) return i > from ? i : -1;
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57 && i > from);
    if (!ok) return -1;
  }
  return -1;
}

/** The needed name equal to text[start, end), or null. */
function neededName(text: string, start: number, end: number, names: string[]): string | null {
  const length = end - start;
  for (const name of names) if (name.length === length && text.startsWith(name, start)) return name;
  return null;
}

function cleanValue(value: string): string {
  return value.includes('\uFFFD') ? value.replaceAll('\uFFFD', ' ') : value;
}

type PathStep = string | number;

/** Parses `a.b`, `a["key with space"]`, `list[0]`, and mixes of those. Errors use Loki's yacc wording. */
export function parseJsonPath(expression: string): PathStep[] {
  const steps: PathStep[] = [];
  const fail = (what: string): never => {
    throw new StageBuildError(`cannot parse expression [${expression}]: syntax error: ${what}`);
  };
  // Tokens: FIELD, DOT, LSB, RSB, STRING, INDEX.
  type Token = { t: 'FIELD' | 'DOT' | 'LSB' | 'RSB' | 'STRING' | 'INDEX'; v: string };
  const tokens: Token[] = [];
  let i = 0;
  while (i < expression.length) {
    const c = expression[i]!;
    if (c === '.') { tokens.push({ t: 'DOT', v: c }); i++; continue; }
    if (c === '[') { tokens.push({ t: 'LSB', v: c }); i++; continue; }
    if (c === ']') { tokens.push({ t: 'RSB', v: c }); i++; continue; }
    if (c === '"') {
      const match = /^"(?:[^"\\]|\\.)*"/.exec(expression.slice(i));
      if (!match) fail('unexpected $end, expecting RSB');
      tokens.push({ t: 'STRING', v: JSON.parse(match![0]) as string });
      i += match![0].length;
      continue;
    }
    if (/\s/.test(c)) { i++; continue; }
    const field = /^[^.[\]"\s]+/.exec(expression.slice(i))![0];
    tokens.push({ t: /^\d+$/.test(field) && tokens[tokens.length - 1]?.t === 'LSB' ? 'INDEX' : 'FIELD', v: field });
    i += field.length;
  }
  const unexpected = (token: Token | undefined, expecting?: string): never =>
    fail(`unexpected ${token ? token.t : '$end'}${expecting ? `, expecting ${expecting}` : ''}`);
  if (tokens.length === 0) return steps;
  let k = 0;
  const first = tokens[k];
  if (first?.t === 'FIELD') { steps.push(first.v); k++; }
  else if (first?.t !== 'LSB') unexpected(first, 'LSB or FIELD');
  while (k < tokens.length) {
    const token = tokens[k]!;
    if (token.t === 'DOT') {
      const next = tokens[k + 1];
      if (next?.t !== 'FIELD') unexpected(next, 'FIELD');
      steps.push(next!.v);
      k += 2;
      continue;
    }
    if (token.t === 'LSB') {
      const inner = tokens[k + 1];
      if (inner?.t !== 'STRING' && inner?.t !== 'INDEX') unexpected(inner, 'STRING or INDEX');
      const close = tokens[k + 2];
      if (close?.t !== 'RSB') unexpected(close, 'RSB');
      steps.push(inner!.t === 'INDEX' ? Number(inner!.v) : inner!.v);
      k += 3;
      continue;
    }
    unexpected(token);
  }
  return steps;
}

function resolvePath(document: JsonNode, path: PathStep[]): JsonNode | undefined {
  let node: JsonNode | undefined = document;
  for (const step of path) {
    if (!node) return undefined;
    if (typeof step === 'number') {
      node = node.type === 'array' ? node.items[step] : undefined;
    } else if (node.type === 'object') {
      node = node.entries.find(([key]) => key === step)?.[1];
    } else {
      return undefined;
    }
  }
  return node;
}

export { JsonSyntaxError };
