// LogQL's template function table (line_format, label_format): Loki's own functions
// (pkg/logql/log/fmt.go: __line__, __timestamp__, ToLower, Replace, regexReplaceAll, bytes, duration,
// unixEpochMillis, alignLeft, …) and the sprig subset Loki exposes. Go's builtins (printf, eq, len,
// index, …) come from the engine in src/gotemplate/. Each entry declares Go parameter types so
// arguments are checked and converted the way Go's reflection-based call does.

import { compileRegex, countMatches, RegexSyntaxError, replaceAll } from '../../regex/index.ts';
import { fn, FunctionCallError, type FunctionTable } from '../../gotemplate/builtins.ts';
import { GoTime, formatGoTime, ianaZone, parseGoTime, utcZone } from '../../gotemplate/time.ts';
import { checkTemplateTextSize, isTrue, type GoValue } from '../../gotemplate/value.ts';
import { ConversionError, parseGoDurationNs, parseHumanBytes } from '../log/units.ts';
import { decimalAdd, decimalDiv, decimalFromFloat, decimalMul, decimalNegate, ZERO, type Decimal } from './decimal.ts';

/** Per-entry values reachable through `__line__` and `__timestamp__`. */
export interface TemplateContext {
  line: string;
  timestampNs: bigint;
}

/** cast.ToInt64 as sprig uses it: lenient, 0 on failure. */
function toInt64(value: GoValue): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'string') {
    const text = value.trim();
    if (/^[+-]?\d+$/.test(text)) return BigInt(text);
    if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(text)) return BigInt(text.replace(/^([+-]?)0[xX]/, '$10x'));
    return 0n;
  }
  return 0n;
}

/** cast.ToFloat64: lenient, 0 on failure. */
function toFloat64(value: GoValue): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const n = Number(value.trim());
    return value.trim() !== '' && !Number.isNaN(n) ? n : 0;
  }
  return 0;
}

function goTrim(text: string, cutset: string, left: boolean, right: boolean): string {
  const chars = new Set(cutset);
  const runes = [...text];
  let start = 0;
  let end = runes.length;
  if (left) while (start < end && chars.has(runes[start]!)) start++;
  if (right) while (end > start && chars.has(runes[end - 1]!)) end--;
  return runes.slice(start, end).join('');
}

function goTrimSpace(text: string): string {
  return text.replace(/^[\s\u0085\u00A0]+|[\s\u0085\u00A0]+$/g, '');
}

function compileOrFail(pattern: string) {
  try {
    return compileRegex(pattern);
  } catch (error) {
    if (error instanceof RegexSyntaxError) throw new FunctionCallError(error.message);
    throw error;
  }
}

function regexReplace(pattern: string, text: string, replacement: string, literal: boolean): string {
  return replaceAll(compileOrFail(pattern), text, replacement, literal);
}

function goQueryEscape(text: string): string {
  return encodeURIComponent(text).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%7E/g, '~');
}

function goQueryUnescape(text: string): string {
  const bad = /%(?![0-9a-fA-F]{2})/.exec(text);
  if (bad) throw new FunctionCallError(`invalid URL escape ${JSON.stringify(text.slice(bad.index, bad.index + 3))}`);
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return Buffer.from(text.replace(/\+/g, ' ').replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }
}

function title(text: string): string {
  return text.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, before: string, letter: string) => before + letter.toUpperCase());
}

function toTime(value: GoValue): GoTime | null {
  if (value instanceof GoTime) return value;
  if (typeof value === 'bigint') return new GoTime(value * 1_000_000_000n);
  if (typeof value === 'number') return new GoTime(BigInt(Math.trunc(value)) * 1_000_000_000n);
  return null;
}

function unixToTime(epoch: string): GoTime {
  if (!/^\d+$/.test(epoch)) throw new FunctionCallError(`unable to parse time '${epoch}': unsupported length`);
  const value = BigInt(epoch);
  switch (epoch.length) {
    case 5:
      return new GoTime(value * 86_400n * 1_000_000_000n);
    case 10:
      return new GoTime(value * 1_000_000_000n);
    case 13:
      return new GoTime(value * 1_000_000n);
    case 16:
      return new GoTime(value * 1_000n);
    case 19:
      return new GoTime(value);
    default:
      throw new FunctionCallError(`unable to parse time '${epoch}' with length ${epoch.length}`);
  }
}

function b64decode(text: string): string {
  return Buffer.from(text.replace(/=+$/, ''), 'base64').toString('utf8');
}

function fromJson(text: string): GoValue {
  try {
    const convert = (v: unknown): GoValue => {
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
      if (Array.isArray(v)) return v.map(convert);
      const out: { [key: string]: GoValue } = {};
      for (const [k, inner] of Object.entries(v as object)) out[k] = convert(inner);
      return out;
    };
    return convert(JSON.parse(text));
  } catch {
    return {};
  }
}

function round(value: GoValue, places: bigint, half?: GoValue): number {
  const rounder = half === undefined ? 0.5 : toFloat64(half);
  const n = toFloat64(value);
  const pow = 10 ** Number(places);
  const digit = pow * n;
  const frac = digit - Math.trunc(digit);
  const rounded = frac >= rounder ? Math.ceil(digit) : Math.floor(digit);
  return rounded / pow;
}

export function createFunctionTable(context: () => TemplateContext): FunctionTable {
  const table: FunctionTable = {
    // Loki's own functions.
    __line__: fn([], () => context().line),
    __timestamp__: fn([], () => new GoTime(context().timestampNs)),
    ToLower: fn(['string'], (s: string) => s.toLowerCase()),
    ToUpper: fn(['string'], (s: string) => s.toUpperCase()),
    Replace: fn(['string', 'string', 'string', 'int'], (s: string, old: string, replacement: string, n: bigint) => {
      if (n < 0n) return s.split(old).join(replacement);
      let out = s;
      let from = 0;
      for (let i = 0n; i < n; i++) {
        const at = out.indexOf(old, from);
        if (at < 0) break;
        out = out.slice(0, at) + replacement + out.slice(at + old.length);
        from = at + replacement.length + (old === '' ? 1 : 0);
      }
      return out;
    }),
    Trim: fn(['string', 'string'], (s: string, cut: string) => goTrim(s, cut, true, true)),
    TrimLeft: fn(['string', 'string'], (s: string, cut: string) => goTrim(s, cut, true, false)),
    TrimRight: fn(['string', 'string'], (s: string, cut: string) => goTrim(s, cut, false, true)),
    TrimPrefix: fn(['string', 'string'], (s: string, p: string) => (s.startsWith(p) ? s.slice(p.length) : s)),
    TrimSuffix: fn(['string', 'string'], (s: string, p: string) => (p && s.endsWith(p) ? s.slice(0, s.length - p.length) : s)),
    TrimSpace: fn(['string'], (s: string) => goTrimSpace(s)),
    regexReplaceAll: fn(['string', 'string', 'string'], (re: string, s: string, repl: string) => regexReplace(re, s, repl, false)),
    regexReplaceAllLiteral: fn(['string', 'string', 'string'], (re: string, s: string, repl: string) => regexReplace(re, s, repl, true)),
    count: fn(['string', 'string'], (re: string, s: string) => BigInt(countMatches(compileOrFail(re), s))),
    urldecode: fn(['string'], (s: string) => goQueryUnescape(s)),
    urlencode: fn(['string'], (s: string) => goQueryEscape(s)),
    bytes: fn(['string'], (s: string) => {
      try {
        return parseHumanBytes(s);
      } catch (error) {
        throw new FunctionCallError((error as ConversionError).message);
      }
    }),
    duration: fn(['string'], (s: string) => durationSeconds(s)),
    duration_seconds: fn(['string'], (s: string) => durationSeconds(s)),
    unixEpochMillis: fn(['time'], (t: GoTime) => String(t.unixNs / 1_000_000n)),
    unixEpochNanos: fn(['time'], (t: GoTime) => String(t.unixNs)),
    toDateInZone: fn(['string', 'string', 'string'], (layout: string, zone: string, s: string) => {
      let resolver = utcZone;
      try {
        resolver = ianaZone(zone);
      } catch {
        resolver = utcZone;
      }
      try {
        return parseGoTime(layout, s, resolver);
      } catch {
        return new GoTime(-62135596800n * 1_000_000_000n);
      }
    }),
    unixToTime: fn(['string'], (s: string) => unixToTime(s)),
    alignLeft: fn(['int', 'string'], (n: bigint, s: string) => {
      const runes = [...s];
      const count = Number(n);
      if (count < 0) return s;
      checkTemplateTextSize('alignLeft', count);
      return runes.length >= count ? runes.slice(0, count).join('') : s + ' '.repeat(count - runes.length);
    }),
    alignRight: fn(['int', 'string'], (n: bigint, s: string) => {
      const runes = [...s];
      const count = Number(n);
      if (count < 0) return s;
      checkTemplateTextSize('alignRight', count);
      return runes.length >= count ? runes.slice(runes.length - count).join('') : ' '.repeat(count - runes.length) + s;
    }),
    b64dec: fn(['string'], (s: string) => b64decode(s)),
    // sprig.
    b64enc: fn(['string'], (s: string) => Buffer.from(s).toString('base64')),
    lower: fn(['string'], (s: string) => s.toLowerCase()),
    upper: fn(['string'], (s: string) => s.toUpperCase()),
    title: fn(['string'], (s: string) => title(s)),
    trunc: fn(['int', 'string'], (c: bigint, s: string) => {
      const n = Number(c);
      if (n < 0 && s.length + n > 0) return s.slice(s.length + n);
      if (n >= 0 && s.length > n) return s.slice(0, n);
      return s;
    }),
    substr: fn(['int', 'int', 'string'], (start: bigint, end: bigint, s: string) => {
      const a = Number(start);
      const b = Number(end);
      if (a < 0) return s.slice(0, b);
      if (b < 0 || b > s.length) return s.slice(a);
      return s.slice(a, b);
    }),
    contains: fn(['string', 'string'], (sub: string, s: string) => s.includes(sub)),
    hasPrefix: fn(['string', 'string'], (p: string, s: string) => s.startsWith(p)),
    hasSuffix: fn(['string', 'string'], (p: string, s: string) => s.endsWith(p)),
    indent: fn(['int', 'string'], (n: bigint, s: string) => indent(Number(n), s)),
    nindent: fn(['int', 'string'], (n: bigint, s: string) => `\n${indent(Number(n), s)}`),
    replace: fn(['string', 'string', 'string'], (old: string, replacement: string, s: string) => s.split(old).join(replacement)),
    repeat: fn(['int', 'string'], (n: bigint, s: string) => {
      const count = Math.max(0, Number(n));
      checkTemplateTextSize('repeat', count * s.length);
      return s.repeat(count);
    }),
    trim: fn(['string'], (s: string) => goTrimSpace(s)),
    trimAll: fn(['string', 'string'], (cut: string, s: string) => goTrim(s, cut, true, true)),
    trimSuffix: fn(['string', 'string'], (p: string, s: string) => (p && s.endsWith(p) ? s.slice(0, s.length - p.length) : s)),
    trimPrefix: fn(['string', 'string'], (p: string, s: string) => (s.startsWith(p) ? s.slice(p.length) : s)),
    int: fn(['any'], (v: GoValue) => (typeof v === 'string' && /^[+-]?\d*\.\d+$/.test(v.trim()) ? 0n : toInt64(v))),
    int64: fn(['any'], (v: GoValue) => toInt64(v)),
    float64: fn(['any'], (v: GoValue) => toFloat64(v)),
    add: fn([], (...vs: GoValue[]) => vs.reduce<bigint>((sum, v) => sum + toInt64(v), 0n), 'any'),
    add1: fn(['any'], (v: GoValue) => toInt64(v) + 1n),
    sub: fn(['any', 'any'], (a: GoValue, b: GoValue) => toInt64(a) - toInt64(b)),
    mul: fn(['any'], (a: GoValue, ...vs: GoValue[]) => vs.reduce<bigint>((p, v) => p * toInt64(v), toInt64(a)), 'any'),
    div: fn(['any', 'any'], (a: GoValue, b: GoValue) => {
      const divisor = toInt64(b);
      if (divisor === 0n) throw new FunctionCallError('runtime error: integer divide by zero');
      return toInt64(a) / divisor;
    }),
    mod: fn(['any', 'any'], (a: GoValue, b: GoValue) => {
      const divisor = toInt64(b);
      if (divisor === 0n) throw new FunctionCallError('runtime error: integer divide by zero');
      return toInt64(a) % divisor;
    }),
    // sprig does float arithmetic in decimal (shopspring/decimal), so 0.1+0.2 is 0.3 there.
    addf: fn([], (...vs: GoValue[]) => vs.reduce<Decimal>((sum, v) => decimalAdd(sum, decimalFromFloat(toFloat64(v))), ZERO).toFloat(), 'any'),
    subf: fn(['any'], (a: GoValue, ...vs: GoValue[]) => vs.reduce<Decimal>((d, v) => decimalAdd(d, decimalNegate(decimalFromFloat(toFloat64(v)))), decimalFromFloat(toFloat64(a))).toFloat(), 'any'),
    mulf: fn(['any'], (a: GoValue, ...vs: GoValue[]) => vs.reduce<Decimal>((p, v) => decimalMul(p, decimalFromFloat(toFloat64(v))), decimalFromFloat(toFloat64(a))).toFloat(), 'any'),
    divf: fn(['any'], (a: GoValue, ...vs: GoValue[]) => vs.reduce<Decimal>((q, v) => decimalDiv(q, decimalFromFloat(toFloat64(v))), decimalFromFloat(toFloat64(a))).toFloat(), 'any'),
    max: fn(['any'], (a: GoValue, ...vs: GoValue[]) => vs.reduce<bigint>((m, v) => (toInt64(v) > m ? toInt64(v) : m), toInt64(a)), 'any'),
    min: fn(['any'], (a: GoValue, ...vs: GoValue[]) => vs.reduce<bigint>((m, v) => (toInt64(v) < m ? toInt64(v) : m), toInt64(a)), 'any'),
    maxf: fn(['any'], (a: GoValue, ...vs: GoValue[]) => Math.max(toFloat64(a), ...vs.map(toFloat64)), 'any'),
    minf: fn(['any'], (a: GoValue, ...vs: GoValue[]) => Math.min(toFloat64(a), ...vs.map(toFloat64)), 'any'),
    ceil: fn(['any'], (v: GoValue) => Math.ceil(toFloat64(v))),
    floor: fn(['any'], (v: GoValue) => Math.floor(toFloat64(v))),
    round: fn(['any', 'int'], (v: GoValue, p: bigint, ...rest: GoValue[]) => round(v, p, rest[0]), 'float'),
    fromJson: fn(['string'], (s: string) => fromJson(s)),
    date: fn(['string', 'any'], (layout: string, v: GoValue) => {
      const time = toTime(v) ?? new GoTime(BigInt(Date.now()) * 1_000_000n);
      return formatGoTime(time, layout);
    }),
    toDate: fn(['string', 'string'], (layout: string, s: string) => {
      try {
        return parseGoTime(layout, s);
      } catch {
        return new GoTime(-62135596800n * 1_000_000_000n);
      }
    }),
    now: fn([], () => new GoTime(BigInt(Date.now()) * 1_000_000n)),
    unixEpoch: fn(['time'], (t: GoTime) => String(t.unixNs / 1_000_000_000n - (t.unixNs % 1_000_000_000n < 0n ? 1n : 0n))),
    default: fn(['any'], (d: GoValue, ...given: GoValue[]) => (given.length === 0 || !isTrue(given[0]!) ? d : given[0]!), 'any'),
  };
  return table;
}

function durationSeconds(s: string): number {
  try {
    return parseGoDurationNs(s) / 1e9;
  } catch (error) {
    throw new FunctionCallError((error as Error).message);
  }
}

function indent(n: number, s: string): string {
  checkTemplateTextSize('indent', Math.max(0, n) * (1 + s.split('\n').length));
  const pad = ' '.repeat(Math.max(0, n));
  return pad + s.split('\n').join(`\n${pad}`);
}
