// Function tables: how a template function declares its Go parameter types (so arguments are checked
// and converted the way Go's reflection-based call does, with Go's wording), and text/template's own
// builtins, which every context has: not, len, index, slice, print, printf, println, eq, ne, lt, le,
// gt, ge, html, js, urlquery and call. `and` and `or` short-circuit, so the executor runs them itself.

import { GoTime } from './time.ts';
import { goSprint, goSprintf, goSprintln } from './sprintf.ts';
import { GoFunc, goTypeName, isPlainMap, isTrue, StringMap, type GoValue } from './value.ts';

export type ParamType = 'string' | 'int' | 'float' | 'any' | 'time';

/** What a function throws for a bad call; the executor reports it as `error calling NAME: message`. */
export class FunctionCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FunctionCallError';
  }
}

/** The running engine, for functions that execute templates themselves (Helm's `include` and `tpl`). */
export interface TemplateRuntime {
  /** Runs a template defined in this template's set, as `{{template}}` does, and returns its text. */
  executeTemplate(name: string, dot: GoValue): string;
  /** Parses `source` with this template's functions and runs it (Helm's `tpl`). */
  executeSource(name: string, source: string, dot: GoValue): string;
}

export interface TemplateFunction {
  params: ParamType[];
  variadic?: ParamType;
  call(...args: GoValue[]): GoValue;
  /** When set, the executor calls this instead of `call`, handing it the running engine. */
  callWithRuntime?: (runtime: TemplateRuntime, args: GoValue[]) => GoValue;
}

export type FunctionTable = Record<string, TemplateFunction>;

export function fn(params: ParamType[], call: (...args: never[]) => GoValue, variadic?: ParamType): TemplateFunction {
  return { params, variadic, call: call as (...args: GoValue[]) => GoValue };
}

/** A function that needs the running engine (see TemplateRuntime). */
export function runtimeFn(params: ParamType[], call: (runtime: TemplateRuntime, args: GoValue[]) => GoValue, variadic?: ParamType): TemplateFunction {
  return {
    params,
    variadic,
    call: () => {
      throw new FunctionCallError('called without a template runtime');
    },
    callWithRuntime: call,
  };
}

/** Go's conversion of an argument to a parameter type; untyped numeric constants convert like Go's. */
export function convertArg(value: GoValue, type: ParamType, constant: boolean): GoValue | Error {
  switch (type) {
    case 'any':
      return value;
    case 'string':
      return typeof value === 'string' ? value : new Error(`expected string; got ${goTypeName(value)}`);
    case 'int':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && constant && Number.isInteger(value)) return BigInt(value);
      return new Error(`expected int; got ${goTypeName(value)}`);
    case 'float':
      if (typeof value === 'number') return value;
      if (typeof value === 'bigint' && constant) return Number(value);
      return new Error(`expected float64; got ${goTypeName(value)}`);
    case 'time':
      return value instanceof GoTime ? value : new Error(`expected time.Time; got ${goTypeName(value)}`);
  }
}

type BasicKind = 'int' | 'float' | 'string' | 'bool' | 'other';

function basicKind(value: GoValue): BasicKind {
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'float';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  return 'other';
}

function goEqual(a: GoValue, b: GoValue): boolean {
  if (a === null || b === null) return a === b;
  if (a instanceof GoTime && b instanceof GoTime) return a.unixNs === b.unixNs;
  const kindA = basicKind(a);
  if (kindA === 'other') throw new FunctionCallError('non-comparable type');
  if (kindA !== basicKind(b)) throw new FunctionCallError('incompatible types for comparison');
  return a === b;
}

function compareOrdered(a: GoValue, b: GoValue): number {
  const kindA = basicKind(a);
  if (kindA === 'bool' || kindA === 'other' || basicKind(b) === 'bool' || basicKind(b) === 'other') throw new FunctionCallError('invalid type for comparison');
  if (kindA !== basicKind(b)) throw new FunctionCallError('incompatible types for comparison');
  const x = a as string | number | bigint;
  const y = b as string | number | bigint;
  return x < y ? -1 : x > y ? 1 : 0;
}

function goLen(value: GoValue): bigint {
  if (typeof value === 'string') return BigInt(Buffer.byteLength(value));
  if (Array.isArray(value)) return BigInt(value.length);
  if (value instanceof StringMap) return BigInt(Object.keys(value.entries()).length);
  if (isPlainMap(value)) return BigInt(Object.keys(value).length);
  throw new FunctionCallError(`len of type ${goTypeName(value)}`);
}

function indexNumber(key: GoValue): number {
  if (typeof key === 'bigint') return Number(key);
  if (typeof key === 'number' && Number.isInteger(key)) return key;
  throw new FunctionCallError(`cannot index slice/array with type ${goTypeName(key)}`);
}

function goIndex(item: GoValue, keys: GoValue[]): GoValue {
  let current = item;
  for (const key of keys) {
    if (current === null) throw new FunctionCallError('index of untyped nil');
    if (Array.isArray(current)) {
      const i = indexNumber(key);
      if (i < 0 || i >= current.length) throw new FunctionCallError(`index out of range: ${i}`);
      current = current[i]!;
    } else if (typeof current === 'string') {
      const bytes = Buffer.from(current);
      const i = indexNumber(key);
      if (i < 0 || i >= bytes.length) throw new FunctionCallError(`index out of range: ${i}`);
      current = BigInt(bytes[i]!);
    } else if (current instanceof StringMap) {
      if (typeof key !== 'string') throw new FunctionCallError(`value has type ${goTypeName(key)}; should be string`);
      current = current.get(key) ?? '';
    } else if (isPlainMap(current)) {
      if (typeof key !== 'string') throw new FunctionCallError(`value has type ${goTypeName(key)}; should be string`);
      current = Object.hasOwn(current, key) ? current[key]! : null;
    } else throw new FunctionCallError(`can't index item of type ${goTypeName(current)}`);
  }
  return current;
}

function goSlice(item: GoValue, indexes: GoValue[]): GoValue {
  if (item === null) throw new FunctionCallError('slice of untyped nil');
  if (indexes.length > 3) throw new FunctionCallError(`too many slice indexes: ${indexes.length}`);
  let length: number;
  if (typeof item === 'string') {
    if (indexes.length === 3) throw new FunctionCallError('cannot 3-index slice a string');
    length = Buffer.byteLength(item);
  } else if (Array.isArray(item)) length = item.length;
  else throw new FunctionCallError(`can't slice item of type ${goTypeName(item)}`);
  const bounds = [0, length];
  for (let i = 0; i < indexes.length; i++) {
    const at = indexNumber(indexes[i]!);
    if (at < 0 || at > length) throw new FunctionCallError(`index out of range: ${at}`);
    bounds[i] = at;
  }
  if (bounds[0]! > bounds[1]!) throw new FunctionCallError(`invalid slice index: ${bounds[0]} > ${bounds[1]}`);
  if (typeof item === 'string') return Buffer.from(item).subarray(bounds[0], bounds[1]).toString('utf8');
  return item.slice(bounds[0], bounds[1]);
}

/** html and js and urlquery print their arguments as fmt.Sprint does (a lone string as is). */
function evalArgs(args: GoValue[]): string {
  return args.length === 1 && typeof args[0] === 'string' ? args[0] : goSprint(args);
}

export function htmlEscape(text: string): string {
  return text.replace(/[&<>"'\0]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;', '\0': '\uFFFD' })[ch]!);
}

/** Go's JSEscapeString. */
export function jsEscape(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (ch === '"') out += '\\"';
    else if (ch === '<' || ch === '>' || ch === '&' || ch === '=' || code < 0x20) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

/** Go's url.QueryEscape. */
export function queryEscape(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text)) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export const BUILTINS: FunctionTable = {
  not: fn(['any'], (v: GoValue) => !isTrue(v)),
  len: fn(['any'], (v: GoValue) => goLen(v)),
  index: fn(['any'], (item: GoValue, ...keys: GoValue[]) => goIndex(item, keys), 'any'),
  slice: fn(['any'], (item: GoValue, ...indexes: GoValue[]) => goSlice(item, indexes), 'any'),
  print: fn([], (...args: GoValue[]) => goSprint(args), 'any'),
  printf: fn(['string'], (format: string, ...args: GoValue[]) => goSprintf(format, args), 'any'),
  println: fn([], (...args: GoValue[]) => goSprintln(args), 'any'),
  eq: fn(
    ['any'],
    (a: GoValue, ...bs: GoValue[]) => {
      if (bs.length === 0) throw new FunctionCallError('missing argument for comparison');
      return bs.some((b) => goEqual(a, b));
    },
    'any',
  ),
  ne: fn(['any', 'any'], (a: GoValue, b: GoValue) => !goEqual(a, b)),
  lt: fn(['any', 'any'], (a: GoValue, b: GoValue) => compareOrdered(a, b) < 0),
  le: fn(['any', 'any'], (a: GoValue, b: GoValue) => compareOrdered(a, b) <= 0),
  gt: fn(['any', 'any'], (a: GoValue, b: GoValue) => compareOrdered(a, b) > 0),
  ge: fn(['any', 'any'], (a: GoValue, b: GoValue) => compareOrdered(a, b) >= 0),
  html: fn([], (...args: GoValue[]) => htmlEscape(evalArgs(args)), 'any'),
  js: fn([], (...args: GoValue[]) => jsEscape(evalArgs(args)), 'any'),
  urlquery: fn([], (...args: GoValue[]) => queryEscape(evalArgs(args)), 'any'),
  call: fn(
    ['any'],
    (target: GoValue, ...args: GoValue[]) => {
      if (target === null) throw new FunctionCallError('call of nil');
      if (!(target instanceof GoFunc)) throw new FunctionCallError(`non-function of type ${goTypeName(target)}`);
      return target.call(...args);
    },
    'any',
  ),
};

/** Names the executor implements itself (short-circuit evaluation). */
export const LAZY_BUILTINS = new Set(['and', 'or']);

