// The Go values a template works with, mapped onto JS: string, float64 (number), int (bigint), bool,
// nil (null), time.Time (GoTime), slices (arrays), map[string]interface{} (plain objects, a missing key
// reads as nil), map[string]string (StringMap, a missing key reads as "") and func values (GoFunc, for
// `call`). Printing follows Go's fmt `%v`, which differs from JS (`1e+06`, `<nil>`, `map[a:1]`).

import { TemplateLimitError } from './errors.ts';
import { GoTime } from './time.ts';

export { TemplateLimitError };

export type GoValue = string | number | bigint | boolean | null | GoTime | StringMap | GoFunc | GoValue[] | { [key: string]: GoValue };

/**
 * A Go map[string]string read through a getter, so a caller can hand over labels without copying
 * them (LogQL reads one or two labels per line out of a label builder). `entries` is called only when
 * the template needs the whole map (printing, range, len).
 */
export class StringMap {
  readonly get: (key: string) => string | undefined;
  readonly entries: () => Record<string, string>;
  constructor(get: (key: string) => string | undefined, entries: () => Record<string, string>) {
    this.get = get;
    this.entries = entries;
  }

  static of(record: Record<string, string>): StringMap {
    return new StringMap((key) => (Object.hasOwn(record, key) ? record[key] : undefined), () => record);
  }
}

/** A Go func value in the data, for the `call` builtin. */
export class GoFunc {
  readonly call: (...args: GoValue[]) => GoValue;
  constructor(call: (...args: GoValue[]) => GoValue) {
    this.call = call;
  }
}

/** A slice with methods (Alertmanager's `.Alerts.Firing`): extra own properties of an array read as fields. */
export function isPlainMap(value: GoValue): value is { [key: string]: GoValue } {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof GoTime) && !(value instanceof StringMap) && !(value instanceof GoFunc);
}

export function goTypeName(value: GoValue): string {
  if (value === null) return 'nil';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'float64';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'boolean') return 'bool';
  if (value instanceof GoTime) return 'time.Time';
  if (value instanceof StringMap) return 'map[string]string';
  if (value instanceof GoFunc) return 'func(...interface {}) interface {}';
  if (Array.isArray(value)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** strconv.FormatFloat(f, 'g', -1, 64) as fmt's %v uses it. */
export function formatGoFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, expText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(expText);
  // strconv's shortest 'g' switches to %e below 1e-4 and from 1e6 on (its eprec is fixed at 6).
  if (exponent < -4 || exponent >= 6) return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  return plainDecimal(value);
}

/** Go's %.<precision>g: that many significant digits, %e form when exp < -4 || exp >= precision, no trailing zeros. */
export function formatFloatG(value: number, precision: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const digits = Math.min(Math.max(precision, 1), 100);
  // toExponential rounds first, so the exponent is the one of the rounded value (9999.5 -> 1e+04).
  const [mantissaText, exponentText] = value.toExponential(digits - 1).split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= digits) {
    return `${stripTrailingZeros(mantissaText)}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return stripTrailingZeros(value.toFixed(Math.min(100, Math.max(0, digits - 1 - exponent))));
}

function stripTrailingZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

function plainDecimal(value: number): string {
  const text = String(value);
  if (!text.includes('e')) return text;
  // JS switches to exponent form below 1e-6 and from 1e21; Go's thresholds differ, so expand here.
  const [mantissaText, exponentText] = text.split('e') as [string, string];
  const exponent = Number(exponentText);
  const sign = mantissaText.startsWith('-') ? '-' : '';
  const digits = mantissaText.replace(/[-.]/g, '');
  return exponent < 0 ? `${sign}0.${'0'.repeat(-exponent - 1)}${digits}` : `${sign}${digits.padEnd(exponent + 1, '0')}`;
}

/** fmt %v. */
export function printGo(value: GoValue): string {
  if (value === null) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatGoFloat(value);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof GoTime) return value.toString();
  if (value instanceof GoFunc) return '0x0';
  if (Array.isArray(value)) return `[${value.map(printGo).join(' ')}]`;
  const record = value instanceof StringMap ? value.entries() : value;
  const keys = Object.keys(record).sort();
  return `map[${keys.map((k) => `${k}:${printGo(record[k]!)}`).join(' ')}]`;
}

/** Go template truthiness: the zero value (and an empty slice or map) is false. */
export function isTrue(value: GoValue): boolean {
  if (value === null) return false;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'bigint') return value !== 0n;
  if (typeof value === 'boolean') return value;
  if (value instanceof GoTime || value instanceof GoFunc) return true;
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof StringMap) return Object.keys(value.entries()).length > 0;
  return Object.keys(value).length > 0;
}

/** A JSON-like JS value (parsed JSON or YAML, data from code) as Go values: integers stay float64 as encoding/json decodes them. */
export function toGoValue(value: unknown): GoValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return value;
  if (value instanceof GoTime || value instanceof StringMap || value instanceof GoFunc) return value;
  if (value instanceof Date) return new GoTime(BigInt(value.getTime()) * 1_000_000n);
  if (Array.isArray(value)) return value.map(toGoValue);
  const out: { [key: string]: GoValue } = {};
  for (const [key, inner] of Object.entries(value as object)) out[key] = toGoValue(inner);
  return out;
}


/**
 * Longest text one template step may build (`repeat`, `alignLeft`/`alignRight`, `indent`, a printf
 * width) and the longest output of one execution. LogQL lines are at most limits.max_line_size
 * (256 KB by default); 16 Mi characters leaves room while `repeat 600000000` is refused instead of
 * trying to build gigabytes (a 500 or an out-of-memory crash before).
 */
export const MAX_TEMPLATE_TEXT_CHARS = 16 * 1024 * 1024;

export function checkTemplateTextSize(what: string, chars: number): void {
  if (chars > MAX_TEMPLATE_TEXT_CHARS) {
    throw new TemplateLimitError(`template ${what} would build ${chars} characters; a template may build at most ${MAX_TEMPLATE_TEXT_CHARS}`);
  }
}
