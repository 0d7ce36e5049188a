// Go's fmt rules for the values alert templates print: `%v` of a float64 (shortest 'g' with two-digit
// exponents, e.g. 1e+06), and the printf verbs Prometheus users put in annotations (%s %d %f %.2f %g %e
// %x %q %t %v with flags, width and precision). Integers from templates are bigint (Go's int); floats
// are numbers (Go's float64), so `{{ 1000000.0 }}` and `{{ 1000000 }}` print as Go prints them.

/** Go's %.<precision>g: that many significant digits, %e form when exp < -4 || exp >= precision, no trailing zeros. */
export function formatFloatG(value: number, precision: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const digits = Math.max(precision, 1);
  // toExponential rounds first, so the exponent is the one of the rounded value (9999.5 -> 1e+04).
  const [mantissaText, exponentText] = value.toExponential(digits - 1).split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= digits) {
    return `${stripTrailingZeros(mantissaText)}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return stripTrailingZeros(value.toFixed(Math.max(0, digits - 1 - exponent)));
}

/** How text/template prints a value: fmt's %v. */
export function formatGoValue(value: unknown): string {
  if (value === undefined || value === null) return '<no value>';
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return formatFloatV(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return formatGoTime(value);
  if (Array.isArray(value)) return `[${value.map(formatGoValue).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, v]) => `${k}:${formatGoValue(v)}`).join(' ')}]`;
  }
  return String(value);
}

/**
 * fmt's %v (and %g without precision) of a float64: strconv's shortest digits, in %e form when
 * exp < -4 || exp >= 6 (strconv fixes eprec at 6 for shortest output), so 1e6 prints "1e+06" and
 * 123456 prints "123456".
 */
export function formatFloatV(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissaText, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    return `${mantissaText}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return plainDecimal(value);
}

function plainDecimal(value: number): string {
  const text = String(value);
  if (!text.includes('e')) return text;
  // JS switches to exponent form below 1e-6; Go only below 1e-4, so expand 1e-6..1e-4 here.
  const [mantissaText, exponentText] = text.split('e') as [string, string];
  const exponent = Number(exponentText);
  const sign = mantissaText.startsWith('-') ? '-' : '';
  const digits = mantissaText.replace(/[-.]/g, '');
  return exponent < 0 ? `${sign}0.${'0'.repeat(-exponent - 1)}${digits}` : `${sign}${digits.padEnd(exponent + 1, '0')}`;
}

function stripTrailingZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/** Go time.Time.String() in UTC, e.g. "2026-11-21 11:00:00.5 +0000 UTC". */
export function formatGoTime(date: Date): string {
  const iso = date.toISOString();
  const [day, rest] = iso.split('T') as [string, string];
  const clock = rest.slice(0, 8);
  const millis = rest.slice(9, 12).replace(/0+$/, '');
  return `${day} ${clock}${millis === '' ? '' : `.${millis}`} +0000 UTC`;
}

interface VerbSpec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  zero: boolean;
  space: boolean;
  width: number | undefined;
  precision: number | undefined;
}

/** Go's fmt.Sprintf for the verbs templates use. Wrong arguments print Go's `%!v(MISSING)` forms. */
export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argIndex = 0;
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    i++;
    if (format[i] === '%') {
      out += '%';
      continue;
    }
    const spec: VerbSpec = { minus: false, plus: false, sharp: false, zero: false, space: false, width: undefined, precision: undefined };
    for (; i < format.length; i++) {
      const flag = format[i];
      if (flag === '-') spec.minus = true;
      else if (flag === '+') spec.plus = true;
      else if (flag === '#') spec.sharp = true;
      else if (flag === '0') spec.zero = true;
      else if (flag === ' ') spec.space = true;
      else break;
    }
    let widthText = '';
    while (i < format.length && /[0-9]/.test(format[i]!)) widthText += format[i++];
    if (widthText !== '') spec.width = Number(widthText);
    if (format[i] === '.') {
      i++;
      let precisionText = '';
      while (i < format.length && /[0-9]/.test(format[i]!)) precisionText += format[i++];
      spec.precision = precisionText === '' ? 0 : Number(precisionText);
    }
    const verb = format[i];
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    if (argIndex >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += pad(formatVerb(verb, args[argIndex++], spec), spec);
  }
  if (argIndex < args.length) {
    out += `%!(EXTRA ${args.slice(argIndex).map((a) => `${goTypeName(a)}=${formatGoValue(a)}`).join(', ')})`;
  }
  return out;
}

function goTypeName(value: unknown): string {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'float64';
  if (typeof value === 'boolean') return 'bool';
  return 'interface {}';
}

function pad(text: string, spec: VerbSpec): string {
  if (spec.width === undefined || text.length >= spec.width) return text;
  const fill = spec.width - text.length;
  if (spec.minus) return text + ' '.repeat(fill);
  if (spec.zero && /^[-+]?[0-9]/.test(text)) {
    const sign = text[0] === '-' || text[0] === '+' ? text[0] : '';
    return sign + '0'.repeat(fill) + text.slice(sign.length);
  }
  return ' '.repeat(fill) + text;
}

function signed(text: string, negative: boolean, spec: VerbSpec): string {
  if (negative) return `-${text}`;
  if (spec.plus) return `+${text}`;
  if (spec.space) return ` ${text}`;
  return text;
}

function formatVerb(verb: string, arg: unknown, spec: VerbSpec): string {
  switch (verb) {
    case 'v':
      return typeof arg === 'number' && spec.plus ? signed(formatFloatV(Math.abs(arg)), arg < 0, spec) : formatGoValue(arg);
    case 's': {
      const text = typeof arg === 'string' ? arg : formatGoValue(arg);
      return spec.precision === undefined ? text : text.slice(0, spec.precision);
    }
    case 'q':
      return JSON.stringify(typeof arg === 'string' ? arg : formatGoValue(arg));
    case 't':
      return typeof arg === 'boolean' ? String(arg) : `%!t(${goTypeName(arg)}=${formatGoValue(arg)})`;
    case 'd': {
      if (typeof arg === 'bigint') return signed((arg < 0n ? -arg : arg).toString(), arg < 0n, spec);
      if (typeof arg === 'number') {
        if (Number.isInteger(arg)) return signed(Math.abs(arg).toFixed(0), arg < 0, spec);
        return `%!d(float64=${formatFloatV(arg)})`;
      }
      return `%!d(${goTypeName(arg)}=${formatGoValue(arg)})`;
    }
    case 'x':
    case 'X': {
      let text: string;
      if (typeof arg === 'bigint') text = (arg < 0n ? -arg : arg).toString(16);
      else if (typeof arg === 'number' && Number.isInteger(arg)) text = Math.abs(arg).toString(16);
      else if (typeof arg === 'string') text = Buffer.from(arg, 'utf8').toString('hex');
      else return `%!${verb}(${goTypeName(arg)}=${formatGoValue(arg)})`;
      if (spec.sharp) text = `0x${text}`;
      if (verb === 'X') text = text.toUpperCase();
      const negative = (typeof arg === 'bigint' && arg < 0n) || (typeof arg === 'number' && arg < 0);
      return signed(text, negative, spec);
    }
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G': {
      const value = typeof arg === 'bigint' ? Number(arg) : arg;
      if (typeof value !== 'number') return `%!${verb}(${goTypeName(arg)}=${formatGoValue(arg)})`;
      if (Number.isNaN(value)) return 'NaN';
      if (!Number.isFinite(value)) return value > 0 ? (spec.plus ? '+Inf' : spec.space ? ' +Inf' : '+Inf') : '-Inf';
      const magnitude = Math.abs(value);
      const negative = value < 0 || Object.is(value, -0);
      let text: string;
      if (verb === 'f' || verb === 'F') text = magnitude.toFixed(spec.precision ?? 6);
      else if (verb === 'e' || verb === 'E') {
        const [mantissa, exponent] = magnitude.toExponential(spec.precision ?? 6).split('e') as [string, string];
        const exponentNumber = Number(exponent);
        text = `${mantissa}e${exponentNumber < 0 ? '-' : '+'}${String(Math.abs(exponentNumber)).padStart(2, '0')}`;
      } else text = spec.precision === undefined ? formatFloatV(magnitude) : formatFloatG(magnitude, spec.precision);
      if (verb === 'E' || verb === 'G') text = text.toUpperCase();
      return signed(text, negative, spec);
    }
    default:
      return `%!${verb}(${goTypeName(arg)}=${formatGoValue(arg)})`;
  }
}
