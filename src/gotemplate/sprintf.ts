// fmt.Sprintf for the verbs templates use (%v %s %q %d %b %o %f %F %e %E %g %G %x %X %t %c %T %%, with the
// flags - + # 0 space, width and precision), and fmt.Sprint / fmt.Sprintln. A verb that does not fit
// its argument prints Go's `%!d(string=x)` form, a missing argument `%!s(MISSING)`, extra ones
// `%!(EXTRA …)`, as Go does: a template's printf never throws on a user's format.

import { GoTime } from './time.ts';
import { checkTemplateTextSize, formatFloatG, formatGoFloat, goTypeName, printGo, type GoValue } from './value.ts';

interface VerbSpec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  zero: boolean;
  space: boolean;
  width: number | undefined;
  precision: number | undefined;
}

export function goSprintf(format: string, args: GoValue[]): string {
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
    while (i < format.length && format.charCodeAt(i) >= 48 && format.charCodeAt(i) <= 57) widthText += format[i++];
    if (widthText !== '') {
      spec.width = Number(widthText);
      checkTemplateTextSize(`printf width %${widthText}`, spec.width);
    }
    if (format[i] === '.') {
      i++;
      let precisionText = '';
      while (i < format.length && format.charCodeAt(i) >= 48 && format.charCodeAt(i) <= 57) precisionText += format[i++];
      spec.precision = precisionText === '' ? 0 : Number(precisionText);
      checkTemplateTextSize(`printf precision %.${precisionText}`, spec.precision);
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
    out += pad(formatVerb(verb, args[argIndex++]!, spec), spec, verb);
  }
  if (argIndex < args.length) {
    out += `%!(EXTRA ${args.slice(argIndex).map((a) => (a === null ? '<nil>' : `${goTypeName(a)}=${printGo(a)}`)).join(', ')})`;
  }
  return out;
}

/** fmt.Sprint: a space between operands when neither is a string. */
export function goSprint(args: GoValue[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    if (i > 0 && typeof args[i] !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += printGo(args[i]!);
  }
  return out;
}

/** fmt.Sprintln: spaces between all operands and a newline. */
export function goSprintln(args: GoValue[]): string {
  return `${args.map(printGo).join(' ')}\n`;
}

function badVerb(verb: string, arg: GoValue): string {
  return arg === null ? `%!${verb}(<nil>)` : `%!${verb}(${goTypeName(arg)}=${printGo(arg)})`;
}

function pad(text: string, spec: VerbSpec, verb: string): string {
  if (spec.width === undefined) return text;
  const length = [...text].length;
  if (length >= spec.width) return text;
  const fill = spec.width - length;
  if (spec.minus) return text + ' '.repeat(fill);
  if (spec.zero && 'dfFeEgGxX'.includes(verb) && /^[-+ ]?[0-9]/.test(text)) {
    const sign = text[0] === '-' || text[0] === '+' || text[0] === ' ' ? text[0] : '';
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

function quote(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function formatVerb(verb: string, arg: GoValue, spec: VerbSpec): string {
  switch (verb) {
    case 'v':
      if (typeof arg === 'number' || typeof arg === 'bigint') return formatNumberV(arg, spec);
      return printGo(arg);
    case 's': {
      if (typeof arg !== 'string' && !(arg instanceof GoTime) && (arg === null || typeof arg !== 'object')) return badVerb(verb, arg);
      const text = printGo(arg);
      return spec.precision === undefined ? text : [...text].slice(0, spec.precision).join('');
    }
    case 'q':
      if (typeof arg === 'string') return quote(arg);
      if (typeof arg === 'bigint') return `'${String.fromCodePoint(Number(arg))}'`;
      return badVerb(verb, arg);
    case 't':
      return typeof arg === 'boolean' ? String(arg) : badVerb(verb, arg);
    case 'c':
      return typeof arg === 'bigint' && arg >= 0n && arg <= 0x10ffffn ? String.fromCodePoint(Number(arg)) : badVerb(verb, arg);
    case 'd':
    case 'b':
    case 'o': {
      if (typeof arg !== 'bigint') return badVerb(verb, arg);
      const radix = verb === 'd' ? 10 : verb === 'b' ? 2 : 8;
      return signed((arg < 0n ? -arg : arg).toString(radix), arg < 0n, spec);
    }
    case 'T':
      return arg === null ? '<nil>' : goTypeName(arg);
    case 'x':
    case 'X': {
      let text: string;
      let negative = false;
      if (typeof arg === 'bigint') {
        text = (arg < 0n ? -arg : arg).toString(16);
        negative = arg < 0n;
        if (spec.sharp) text = `0x${text}`;
      } else if (typeof arg === 'string') text = Buffer.from(arg, 'utf8').toString('hex');
      else return badVerb(verb, arg);
      if (verb === 'X') text = text.toUpperCase();
      return signed(text, negative, spec);
    }
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G': {
      if (typeof arg !== 'number') return badVerb(verb, arg);
      if (Number.isNaN(arg)) return spec.plus ? '+NaN' : spec.space ? ' NaN' : 'NaN';
      if (!Number.isFinite(arg)) return arg > 0 ? (spec.plus ? '+Inf' : spec.space ? ' +Inf' : '+Inf') : '-Inf';
      const magnitude = Math.abs(arg);
      const negative = arg < 0 || Object.is(arg, -0);
      // JavaScript's toFixed/toExponential take 0..100; Go takes any precision.
      const precision = spec.precision === undefined ? undefined : Math.min(100, spec.precision);
      let text: string;
      if (verb === 'f' || verb === 'F') text = magnitude.toFixed(precision ?? 6);
      else if (verb === 'e' || verb === 'E') {
        const [mantissa, exponent] = magnitude.toExponential(precision ?? 6).split('e') as [string, string];
        const exponentNumber = Number(exponent);
        text = `${mantissa}e${exponentNumber < 0 ? '-' : '+'}${String(Math.abs(exponentNumber)).padStart(2, '0')}`;
      } else text = precision === undefined ? formatGoFloat(magnitude) : formatFloatG(magnitude, precision);
      if (verb === 'E' || verb === 'G') text = text.toUpperCase();
      return signed(text, negative, spec);
    }
    default:
      return badVerb(verb, arg);
  }
}

function formatNumberV(arg: number | bigint, spec: VerbSpec): string {
  if (typeof arg === 'bigint') return signed((arg < 0n ? -arg : arg).toString(), arg < 0n, spec);
  if (Number.isNaN(arg)) return 'NaN';
  if (!Number.isFinite(arg)) return arg > 0 ? '+Inf' : '-Inf';
  return signed(formatGoFloat(Math.abs(arg)), arg < 0 || Object.is(arg, -0), spec);
}
