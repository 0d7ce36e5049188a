// Loki 3's detected fields (loki-api.md §2.13; grafana-client.md §5, §11): from a sample of the lines a
// log query matches, which fields the lines carry (structured metadata, and what a json or logfmt parser
// extracts), each with its distinct-value count, a value type and the parser that finds it. Grafana's
// autocomplete and Logs Drilldown's "fields" tab read this; the values endpoint lists one field's values.

import { parseJsonDocument, type JsonNode, jsonNodeText } from '../logql/log/json-scanner.ts';
import { scanLogfmt } from '../logql/log/logfmt-parser.ts';
import { sanitizeLabelKey } from '../logql/log/labels-builder.ts';
import type { LogEntryResult, StreamResult } from '../logql/api.ts';

export type DetectedFieldType = 'string' | 'int' | 'float' | 'boolean' | 'duration' | 'bytes';

export interface DetectedField {
  label: string;
  type: DetectedFieldType;
  cardinality: number;
  /** null for structured metadata (no parser needed). */
  parsers: string[] | null;
  /** The JSON keys leading to the field, for fields the json parser found. */
  jsonPath?: string[];
}

interface FieldAccumulator {
  type: DetectedFieldType;
  values: Set<string>;
  parsers: Set<string>;
  jsonPath: string[] | undefined;
}

/** Labels a parser adds for its own errors; never fields of the line. */
const ERROR_LABELS = new Set(['__error__', '__error_details__', '__preserve_error__']);
/** Distinct values kept per field: enough for cardinalities Drilldown shows, bounded memory. */
const MAX_VALUES_PER_FIELD = 10_000;

/** A line's fields: the json parser's when the line is a JSON object, else logfmt's; none otherwise. */
export function parseLineFields(line: string): { parser: 'json' | 'logfmt'; fields: Array<{ name: string; value: string; jsonPath?: string[] }> } | undefined {
  const trimmed = line.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      const root = parseJsonDocument(line);
      if (root.type === 'object') {
        const fields: Array<{ name: string; value: string; jsonPath: string[] }> = [];
        flattenJson(line, root, [], '', fields);
        return { parser: 'json', fields };
      }
    } catch {
      // not JSON after all: logfmt may still read it
    }
  }
  if (!line.includes('=')) return undefined;
  const scan = scanLogfmt(line, false);
  const fields: Array<{ name: string; value: string }> = [];
  for (const pair of scan.pairs) {
    const name = sanitizeLabelKey(pair.key, true);
    if (name !== '') fields.push({ name, value: pair.value ?? '' });
  }
  return fields.length > 0 ? { parser: 'logfmt', fields } : undefined;
}

/** Nested objects flatten to `a_b` like `| json`; arrays are not extracted (Loki skips them). */
function flattenJson(text: string, node: Extract<JsonNode, { type: 'object' }>, path: string[], prefix: string, out: Array<{ name: string; value: string; jsonPath: string[] }>): void {
  for (const [key, child] of node.entries) {
    const name = prefix === '' ? sanitizeLabelKey(key, true) : `${prefix}_${sanitizeLabelKey(key, false)}`;
    if (name === '') continue;
    if (child.type === 'object') flattenJson(text, child, [...path, key], name, out);
    else if (child.type !== 'array') out.push({ name, value: jsonNodeText(text, child), jsonPath: [...path, key] });
  }
}

/**
 * The fields a parser finds in an entry's line, named as `| json` / `| logfmt` would add them: a name
 * already taken by a stream label or structured metadata gets Loki's `_extracted` suffix.
 */
function lineFieldsOf(stream: StreamResult, entry: LogEntryResult): { parser: 'json' | 'logfmt'; fields: Array<{ name: string; value: string; jsonPath?: string[] }> } | undefined {
  const parsed = parseLineFields(entry.line);
  if (parsed === undefined) return undefined;
  const taken = (name: string) =>
    entry.structuredMetadata?.[name] !== undefined || (stream.labels[name] !== undefined && entry.parsed?.[name] === undefined);
  for (const field of parsed.fields) if (taken(field.name)) field.name = `${field.name}_extracted`;
  return parsed;
}

/** Loki's type guess from one value: int, float, boolean, Go duration, humanized bytes, else string. */
export function detectValueType(value: string): DetectedFieldType {
  if (/^[+-]?\d+$/.test(value)) return 'int';
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value) || /^[+-]?(inf|infinity|nan)$/i.test(value)) return 'float';
  if (/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(value)) return 'boolean';
  if (/^[+-]?((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/.test(value) || value === '0') return 'duration';
  if (/^(\d+\.?\d*|\.\d+) ?([kmgtpe]i?b|b|[kmgtpe])$/i.test(value)) return 'bytes';
  return 'string';
}

/**
 * Fields of the sampled entries. Indexed stream labels are not fields. Entries the query already
 * parsed contribute their parsed labels; every line is also parsed with json, else logfmt.
 */
export function detectFields(streams: StreamResult[], fieldLimit: number): DetectedField[] {
  const fields = new Map<string, FieldAccumulator>();
  const add = (name: string, value: string, parser: string | undefined, jsonPath: string[] | undefined) => {
    if (ERROR_LABELS.has(name)) return;
    let field = fields.get(name);
    if (field === undefined) {
      if (fields.size >= fieldLimit) return;
      field = { type: detectValueType(value), values: new Set(), parsers: new Set(), jsonPath };
      fields.set(name, field);
    }
    if (parser !== undefined) field.parsers.add(parser);
    if (field.values.size < MAX_VALUES_PER_FIELD) field.values.add(value);
  };
  for (const stream of streams) {
    for (const entry of stream.entries) {
      for (const name in entry.structuredMetadata ?? {}) add(name, entry.structuredMetadata![name]!, undefined, undefined);
      const parsed = lineFieldsOf(stream, entry);
      const seen = new Set<string>();
      if (parsed !== undefined) {
        for (const field of parsed.fields) {
          seen.add(field.name);
          add(field.name, field.value, parsed.parser, field.jsonPath);
        }
      }
      for (const name in entry.parsed ?? {}) {
        if (!seen.has(name)) add(name, entry.parsed![name]!, parsed?.parser ?? 'logfmt', undefined);
      }
    }
  }
  return [...fields]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([label, field]) => {
      const detected: DetectedField = {
        label,
        type: field.type,
        cardinality: field.values.size,
        parsers: field.parsers.size === 0 ? null : [...field.parsers].sort(),
      };
      if (field.jsonPath !== undefined && field.parsers.has('json')) detected.jsonPath = field.jsonPath;
      return detected;
    });
}

/** Distinct values of one field in the sampled entries, in order of first appearance. */
export function detectedFieldValues(streams: StreamResult[], name: string, limit: number): string[] {
  const values = new Set<string>();
  for (const stream of streams) {
    for (const entry of stream.entries) {
      if (values.size >= limit) return [...values];
      const fromMetadata = entry.structuredMetadata?.[name];
      if (fromMetadata !== undefined) {
        values.add(fromMetadata);
        continue;
      }
      const fromParsed = entry.parsed?.[name];
      if (fromParsed !== undefined) {
        values.add(fromParsed);
        continue;
      }
      const field = lineFieldsOf(stream, entry)?.fields.find((candidate) => candidate.name === name);
      if (field !== undefined) values.add(field.value);
    }
  }
  return [...values];
}
