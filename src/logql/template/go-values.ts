// The Go values a template works with, mapped onto JS: string, float64 (number), int/int64 (bigint),
// bool, nil (null), time.Time (GoTime), slices (arrays) and maps (plain objects). Printing follows
// Go's fmt `%v`, which differs from JS (`1e+06`, `<nil>`, `map[a:1]`).

import { QueryLimitError } from '../api.ts';
import { GoTime } from './go-time.ts';

export type GoValue = string | number | bigint | boolean | null | GoTime | GoValue[] | { [key: string]: GoValue };

export function goTypeName(value: GoValue): string {
  if (value === null) return 'nil';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'float64';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'boolean') return 'bool';
  if (value instanceof GoTime) return 'time.Time';
  if (Array.isArray(value)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** strconv.FormatFloat(f, 'g', -1, 64) as used by fmt's %v. */
export function formatGoFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const exponential = value.toExponential(); // shortest round-trip digits
  const [mantissa, expText] = exponential.split('e');
  const exponent = Number(expText);
  // Shortest formatting switches to %e below 1e-4 and from 1e6 on (strconv's eprec = 6).
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(value);
}

/** fmt %v. */
export function printGo(value: GoValue): string {
  if (value === null) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatGoFloat(value);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof GoTime) return value.toString();
  if (Array.isArray(value)) return `[${value.map(printGo).join(' ')}]`;
  const keys = Object.keys(value).sort();
  return `map[${keys.map((k) => `${k}:${printGo(value[k]!)}`).join(' ')}]`;
}

/** Go template truthiness: the zero value is false. */
export function isTrue(value: GoValue): boolean {
  if (value === null) return false;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'bigint') return value !== 0n;
  if (typeof value === 'boolean') return value;
  if (value instanceof GoTime) return true;
  if (Array.isArray(value)) return value.length > 0;
  return Object.keys(value).length > 0;
}

/**
 * Longest text one template step may build (`repeat`, `alignLeft`/`alignRight`, `indent`, a printf
 * width). Lines are at most limits.max_line_size (256 KB by default); 16 Mi characters leaves room
 * while `repeat 600000000` is refused with a 400 instead of trying to build gigabytes (a 500 or an
 * out-of-memory crash before).
 */
export const MAX_TEMPLATE_TEXT_CHARS = 16 * 1024 * 1024;

export function checkTemplateTextSize(what: string, chars: number): void {
  if (chars > MAX_TEMPLATE_TEXT_CHARS) {
    throw new QueryLimitError(`template ${what} would build ${chars} characters; a template may build at most ${MAX_TEMPLATE_TEXT_CHARS}`);
  }
}

/** JavaScript's toFixed/toExponential/toPrecision take 0..100 (1..100); Go takes any precision. */
function jsPrecision(precision: number, minimum = 0): number {
  return Math.max(minimum, Math.min(100, precision));
}

/** fmt.Sprintf for the verbs templates use. */
export function goSprintf(format: string, args: GoValue[]): string {
  let out = '';
  let argIndex = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const spec = /^([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/.exec(format.slice(i + 1));
    if (!spec) {
      out += '%!(NOVERB)';
      continue;
    }
    i += spec[0].length;
    const [, flags = '', widthText, precisionText, verb] = spec;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argIndex >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argIndex++]!;
    const precision = precisionText === undefined ? undefined : Number(precisionText);
    let text: string;
    switch (verb) {
      case 'v':
      case 's':
        text = printGo(arg);
        if (precision !== undefined && verb === 's') text = text.slice(0, precision);
        break;
      case 'q':
        text = JSON.stringify(printGo(arg));
        break;
      case 'd':
        text = typeof arg === 'bigint' ? String(arg) : typeof arg === 'number' ? `%!d(float64=${formatGoFloat(arg)})` : `%!d(${goTypeName(arg)}=${printGo(arg)})`;
        if (flags.includes('+') && typeof arg === 'bigint' && arg >= 0n) text = `+${text}`;
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'g': {
        const n = typeof arg === 'number' ? arg : typeof arg === 'bigint' ? Number(arg) : NaN;
        if (typeof arg !== 'number' && typeof arg !== 'bigint') {
          text = `%!${verb}(${goTypeName(arg)}=${printGo(arg)})`;
          break;
        }
        if (verb === 'e') text = n.toExponential(jsPrecision(precision ?? 6)).replace(/e([+-])(\d)$/, 'e$10$2');
        else if (verb === 'g') text = precision === undefined ? formatGoFloat(n) : String(Number(n.toPrecision(jsPrecision(precision, 1))));
        else text = n.toFixed(jsPrecision(precision ?? 6));
        if (flags.includes('+') && n >= 0) text = `+${text}`;
        break;
      }
      case 't':
        text = typeof arg === 'boolean' ? String(arg) : `%!t(${goTypeName(arg)}=${printGo(arg)})`;
        break;
      case 'x':
      case 'X': {
        if (typeof arg === 'bigint') text = arg.toString(16);
        else if (typeof arg === 'string') text = Buffer.from(arg).toString('hex');
        else text = `%!${verb}(${goTypeName(arg)}=${printGo(arg)})`;
        if (verb === 'X') text = text.toUpperCase();
        break;
      }
      case 'c':
        text = typeof arg === 'bigint' ? String.fromCodePoint(Number(arg)) : `%!c(${goTypeName(arg)}=${printGo(arg)})`;
        break;
      default:
        text = `%!${verb}(${goTypeName(arg)}=${printGo(arg)})`;
    }
    if (widthText !== undefined) {
      const width = Number(widthText);
      checkTemplateTextSize(`printf width %${widthText}`, width);
      if (flags.includes('-')) text = text.padEnd(width);
      else if (flags.includes('0') && /[dfeg]/.test(verb!)) {
        const negative = text.startsWith('-');
        text = (negative ? '-' : '') + text.slice(negative ? 1 : 0).padStart(width - (negative ? 1 : 0), '0');
      } else text = text.padStart(width);
    }
    out += text;
  }
  if (argIndex < args.length) {
    out += `%!(EXTRA ${args.slice(argIndex).map((a) => `${goTypeName(a)}=${printGo(a)}`).join(', ')})`;
  }
  return out;
}
