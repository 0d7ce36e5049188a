// A small JSON reader that keeps each value's raw text span. Loki reports numbers and booleans as they
// are written in the line (`1.0`, not `1`) and objects/arrays picked by a path as their raw JSON, so a
// JSON.parse round trip would change results.

export type JsonNode =
  | { type: 'object'; start: number; end: number; entries: Array<[string, JsonNode]> }
  | { type: 'array'; start: number; end: number; items: JsonNode[] }
  | { type: 'string'; start: number; end: number; value: string }
  | { type: 'number' | 'boolean' | 'null'; start: number; end: number };

export class JsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

const MAX_DEPTH = 512;

/**
 * Parses a JSON document. `lenientEnd` accepts input that ends where an object or array would still
 * need its closing bracket (a truncated line): Loki's path lookups read only as far as the value they
 * want, so `| json a="x"` still extracts from such lines.
 */
export function parseJsonDocument(text: string, lenientEnd = false): JsonNode {
  const reader: Reader = { text, pos: 0, lenientEnd };
  skipSpace(reader);
  const node = readValue(reader, 0);
  skipSpace(reader);
  return node;
}

interface Reader {
  text: string;
  pos: number;
  lenientEnd: boolean;
}

function skipSpace(reader: Reader): void {
  const text = reader.text;
  while (reader.pos < text.length) {
    const c = text.charCodeAt(reader.pos);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    reader.pos++;
  }
}

function readValue(reader: Reader, depth: number): JsonNode {
  if (depth > MAX_DEPTH) throw new JsonSyntaxError('Value is too deeply nested');
  const text = reader.text;
  const start = reader.pos;
  const c = text[start];
  if (c === '{') return readObject(reader, depth);
  if (c === '[') return readArray(reader, depth);
  if (c === '"') {
    const value = readString(reader);
    return { type: 'string', start, end: reader.pos, value };
  }
  if (text.startsWith('true', start) || text.startsWith('false', start)) {
    reader.pos += c === 't' ? 4 : 5;
    return { type: 'boolean', start, end: reader.pos };
  }
  if (text.startsWith('null', start)) {
    reader.pos += 4;
    return { type: 'null', start, end: reader.pos };
  }
  const match = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(start, start + 400));
  if (match) {
    reader.pos += match[0].length;
    return { type: 'number', start, end: reader.pos };
  }
  throw new JsonSyntaxError(c === undefined ? 'Unexpected end of JSON input' : `Unknown value type at offset ${start}`);
}

function readObject(reader: Reader, depth: number): JsonNode {
  const start = reader.pos;
  reader.pos++;
  const entries: Array<[string, JsonNode]> = [];
  skipSpace(reader);
  if (reader.text[reader.pos] === '}') {
    reader.pos++;
    return { type: 'object', start, end: reader.pos, entries };
  }
  for (;;) {
    skipSpace(reader);
    if (reader.text[reader.pos] !== '"') throw new JsonSyntaxError("Value looks like object, but can't find closing '}' symbol");
    const key = readString(reader);
    skipSpace(reader);
    if (reader.text[reader.pos] !== ':') throw new JsonSyntaxError("Value looks like object, but can't find closing '}' symbol");
    reader.pos++;
    skipSpace(reader);
    entries.push([key, readValue(reader, depth + 1)]);
    skipSpace(reader);
    const c = reader.text[reader.pos];
    if (c === ',') {
      reader.pos++;
      continue;
    }
    if (c === '}') {
      reader.pos++;
      return { type: 'object', start, end: reader.pos, entries };
    }
    if (c === undefined && reader.lenientEnd) return { type: 'object', start, end: reader.pos, entries };
    throw new JsonSyntaxError("Value looks like object, but can't find closing '}' symbol");
  }
}

function readArray(reader: Reader, depth: number): JsonNode {
  const start = reader.pos;
  reader.pos++;
  const items: JsonNode[] = [];
  skipSpace(reader);
  if (reader.text[reader.pos] === ']') {
    reader.pos++;
    return { type: 'array', start, end: reader.pos, items };
  }
  for (;;) {
    skipSpace(reader);
    items.push(readValue(reader, depth + 1));
    skipSpace(reader);
    const c = reader.text[reader.pos];
    if (c === ',') {
      reader.pos++;
      continue;
    }
    if (c === ']') {
      reader.pos++;
      return { type: 'array', start, end: reader.pos, items };
    }
    if (c === undefined && reader.lenientEnd) return { type: 'array', start, end: reader.pos, items };
    throw new JsonSyntaxError("Value is array, but can't find closing ']' symbol");
  }
}

function readString(reader: Reader): string {
  const text = reader.text;
  const start = reader.pos + 1;
  let i = start;
  let escaped = false;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 92) {
      escaped = true;
      i += 2;
      continue;
    }
    if (c === 34) break;
    i++;
  }
  if (i >= text.length) throw new JsonSyntaxError('Value is string, but can\'t find closing \'"\' symbol');
  reader.pos = i + 1;
  const raw = text.slice(start, i);
  if (!escaped) return raw;
  try {
    return JSON.parse(`"${raw.replace(/[\u0000-\u001f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`) as string;
  } catch {
    throw new JsonSyntaxError('Invalid string escape');
  }
}

/** A value's text as Loki reports it: strings unescaped, null as "", everything else raw. */
export function jsonNodeText(text: string, node: JsonNode): string {
  if (node.type === 'string') return node.value;
  if (node.type === 'null') return '';
  return text.slice(node.start, node.end);
}
