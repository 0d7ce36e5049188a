// Helm's template functions over the Go-template engine: Helm's own (`include`, `tpl`, `toYaml`,
// `toJson`, `required`, `fail`, `lookup`) and the sprig functions charts lean on. The string and math
// part of sprig that LogQL's line_format already exposes is taken from that table, so both contexts
// share one implementation; what is added here is what only charts need (dictionaries, lists,
// `quote`, `empty`, `coalesce`, `ternary`, `kindIs`, hashes).

import { createHash } from 'node:crypto';
import { parse as yamlParse, stringify as yamlStringify } from 'yaml';
import { fn, FunctionCallError, runtimeFn, type FunctionTable } from '../gotemplate/builtins.ts';
import { GoFunc, GoTime } from '../gotemplate/template.ts';
import { goTypeName, isPlainMap, isTrue, printGo, StringMap, toGoValue, type GoValue } from '../gotemplate/value.ts';
import { createFunctionTable } from '../logql/template/functions.ts';

/** A chart's failure that Helm reports as `execution error at (…): message`. */
export class ChartRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChartRenderError';
  }
}

// The sprig subset LogQL already implements with sprig's semantics; Helm charts get the same functions.
const SHARED_SPRIG = [
  'lower', 'upper', 'title', 'trunc', 'substr', 'contains', 'hasPrefix', 'hasSuffix', 'indent', 'nindent', 'replace', 'repeat',
  'trim', 'trimAll', 'trimSuffix', 'trimPrefix', 'int', 'int64', 'float64', 'add', 'add1', 'sub', 'mul', 'div', 'mod', 'max', 'min',
  'b64enc', 'b64dec', 'default', 'regexReplaceAll',
] as const;

/** Go values as plain JS for YAML/JSON encoding: ints as numbers, maps in Go's sorted key order. */
function toPlain(value: GoValue): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof GoTime) return value.toString();
  if (value instanceof GoFunc) return null;
  if (Array.isArray(value)) return value.map(toPlain);
  const record = value instanceof StringMap ? value.entries() : value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record).sort()) out[key] = toPlain(record[key]!);
  return out;
}

/** sigs.k8s.io/yaml as Helm's toYaml uses it: block style, sorted keys, no trailing newline; `{}` for an empty map. */
export function helmYaml(value: GoValue): string {
  const plain = toPlain(value);
  if (plain === null) return 'null';
  return yamlStringify(plain, { lineWidth: 0, sortMapEntries: true, aliasDuplicateObjects: false }).replace(/\n$/, '');
}

/** YAML text as Go values; a document that does not parse fails the render with the parser's message. */
function parseYamlValue(text: string): GoValue {
  try {
    return toGoValue(yamlParse(text));
  } catch (error) {
    throw new ChartRenderError(`YAML does not parse: ${(error as Error).message}`);
  }
}

/** sprig's strval: a string as it is, anything else as fmt's %v. */
function strval(value: GoValue): string {
  return typeof value === 'string' ? value : printGo(value);
}

/** Go's %q for the printable text charts quote (JSON's escaping agrees on it). */
function goQuote(text: string): string {
  return JSON.stringify(text);
}

/** reflect.Kind names as sprig's kindOf reports them. */
function kindOf(value: GoValue): string {
  if (value === null) return 'invalid';
  if (Array.isArray(value)) return 'slice';
  if (isPlainMap(value) || value instanceof StringMap) return 'map';
  if (value instanceof GoFunc) return 'func';
  if (value instanceof GoTime) return 'struct';
  return goTypeName(value);
}

/** A deep copy of maps and lists (sprig's deepCopy), so a merge never writes into .Values. */
function deepCopy(value: GoValue): GoValue {
  if (Array.isArray(value)) return value.map(deepCopy);
  if (isPlainMap(value)) {
    const out: { [key: string]: GoValue } = {};
    for (const key of Object.keys(value)) out[key] = deepCopy(value[key]!);
    return out;
  }
  return value;
}

/** sprig's merge (the destination's keys win) and mergeOverwrite (the sources' win), recursively over maps. */
function deepMerge(destination: { [key: string]: GoValue }, source: { [key: string]: GoValue }, overwrite: boolean): { [key: string]: GoValue } {
  for (const key of Object.keys(source)) {
    const mine = destination[key];
    const theirs = source[key]!;
    if (mine !== undefined && isPlainMap(mine) && isPlainMap(theirs)) deepMerge(mine, theirs, overwrite);
    else if (mine === undefined || mine === null || overwrite) destination[key] = deepCopy(theirs);
  }
  return destination;
}

function asMap(value: GoValue, where: string): { [key: string]: GoValue } {
  if (isPlainMap(value)) return value;
  if (value instanceof StringMap) return { ...value.entries() };
  throw new FunctionCallError(`${where}: expected a map; got ${goTypeName(value)}`);
}

/** Helm's `required`: a nil or empty-string value fails the render with the chart's message. */
function required(message: string, value: GoValue): GoValue {
  if (value === null || value === '') throw new ChartRenderError(message);
  return value;
}

export function helmFunctions(): FunctionTable {
  const sprig = createFunctionTable(() => ({ line: '', timestampNs: 0n }));
  const table: FunctionTable = {};
  for (const name of SHARED_SPRIG) table[name] = sprig[name]!;
  Object.assign(table, {
    include: runtimeFn(['string', 'any'], (runtime, [name, dot]) => runtime.executeTemplate(name as string, dot!)),
    tpl: runtimeFn(['string', 'any'], (runtime, [source, dot]) => runtime.executeSource('tpl', source as string, dot!)),
    toYaml: fn(['any'], (value: GoValue) => helmYaml(value)),
    toJson: fn(['any'], (value: GoValue) => JSON.stringify(toPlain(value))),
    required: fn(['string', 'any'], required),
    fail: fn(['string'], (message: string): never => {
      throw new ChartRenderError(message);
    }),
    // No API server is reachable while rendering (as with `helm template`): lookup finds nothing.
    lookup: fn(['string', 'string', 'string', 'string'], () => ({})),
    quote: fn([], (...values: GoValue[]) => values.filter((v) => v !== null).map((v) => goQuote(strval(v))).join(' '), 'any'),
    squote: fn([], (...values: GoValue[]) => values.filter((v) => v !== null).map((v) => `'${strval(v)}'`).join(' '), 'any'),
    toString: fn(['any'], (value: GoValue) => strval(value)),
    empty: fn(['any'], (value: GoValue) => !isTrue(value)),
    coalesce: fn([], (...values: GoValue[]) => values.find((v) => isTrue(v)) ?? null, 'any'),
    ternary: fn(['any', 'any', 'any'], (whenTrue: GoValue, whenFalse: GoValue, condition: GoValue) => (isTrue(condition) ? whenTrue : whenFalse)),
    kindIs: fn(['string', 'any'], (kind: string, value: GoValue) => kindOf(value) === kind),
    dict: fn([], (...pairs: GoValue[]) => {
      const out: { [key: string]: GoValue } = {};
      for (let i = 0; i < pairs.length; i += 2) out[strval(pairs[i]!)] = i + 1 < pairs.length ? pairs[i + 1]! : '';
      return out;
    }, 'any'),
    merge: fn(['any'], (destination: GoValue, ...sources: GoValue[]) => sources.reduce<{ [key: string]: GoValue }>((into, source) => deepMerge(into, asMap(source, 'merge'), false), asMap(destination, 'merge')), 'any'),
    mergeOverwrite: fn(['any'], (destination: GoValue, ...sources: GoValue[]) => sources.reduce<{ [key: string]: GoValue }>((into, source) => deepMerge(into, asMap(source, 'mergeOverwrite'), true), asMap(destination, 'mergeOverwrite')), 'any'),
    deepCopy: fn(['any'], deepCopy),
    set: fn(['any', 'string', 'any'], (map: GoValue, key: string, value: GoValue) => {
      const target = asMap(map, 'set');
      target[key] = value;
      return target;
    }),
    append: fn(['any', 'any'], (items: GoValue, item: GoValue) => {
      if (!Array.isArray(items)) throw new FunctionCallError(`append: expected a list; got ${goTypeName(items)}`);
      return [...items, item];
    }),
    fromYaml: fn(['string'], (text: string) => {
      const parsed = parseYamlValue(text);
      return isPlainMap(parsed) ? parsed : { Error: 'fromYaml: the document is not a map' };
    }),
    fromYamlArray: fn(['string'], (text: string) => {
      const parsed = parseYamlValue(text);
      return Array.isArray(parsed) ? parsed : [`fromYamlArray: the document is not a list`];
    }),
    until: fn(['int'], (count: bigint) => Array.from({ length: Math.max(0, Math.min(Number(count), 100_000)) }, (_, i) => BigInt(i))),
    list: fn([], (...items: GoValue[]) => items, 'any'),
    hasKey: fn(['any', 'string'], (map: GoValue, key: string) => Object.hasOwn(asMap(map, 'hasKey'), key)),
    keys: fn([], (...maps: GoValue[]) => maps.flatMap((m) => Object.keys(asMap(m, 'keys'))), 'any'),
    join: fn(['string', 'any'], (separator: string, items: GoValue) => (Array.isArray(items) ? items.map(strval).join(separator) : strval(items))),
    sha256sum: fn(['string'], (text: string) => createHash('sha256').update(text).digest('hex')),
  });
  return table;
}
