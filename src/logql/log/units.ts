// Go's number, duration and byte-size parsing as Loki uses it for label filters, unwrap and the
// template functions; the error texts are Go's, because they surface in `__error_details__`.

import { parseGoDuration } from '../../duration/duration.ts';

export class ConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConversionError';
  }
}

/** Go `strconv.ParseFloat(s, 64)`. */
export function parseGoFloat(text: string): number {
  const plain = shortDecimalValue(text);
  if (plain === plain) return plain;
  if (isPlainDecimal(text)) return Number(text);
  const body = text.replaceAll('_', '');
  if (/^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$/.test(body)) return Number(body);
  if (/^[+-]?0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*(?:[pP][+-]?\d+)?$/.test(body)) {
    const sign = body.startsWith('-') ? -1 : 1;
    const unsigned = body.replace(/^[+-]/, '').slice(2);
    const [mantissa, exponent] = unsigned.split(/[pP]/);
    const [intPart, fracPart = ''] = mantissa!.split('.');
    const value = parseInt(intPart! || '0', 16) + (fracPart ? parseInt(fracPart, 16) / 16 ** fracPart.length : 0);
    return sign * value * 2 ** Number(exponent ?? 0);
  }
  if (/^[+-]?(?:inf|infinity)$/i.test(body)) return body.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(body)) return NaN;
  throw new ConversionError(`strconv.ParseFloat: parsing ${goQuote(text)}: invalid syntax`);
}

/** Exact powers of ten as doubles (10^22 is the last one a double holds exactly). */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Below 2^53: a mantissa of this many digits is an exact double. */
const MAX_SHORT_DIGITS = 15;

/**
 * `[+-]digits[.digits]` with at most 15 digits, as Number() reads it; NaN for anything else. The
 * digits form an exact integer and the power of ten is exact, so one division rounds once, to the
 * double nearest the decimal (Clinger's fast path): Number()'s answer, without its string-to-double
 * machinery. Unwrapped values and numeric label filters read numbers like `2.5431` on every line:
 * 205k such values took about 200 ns each through Number(text) in the loss-curve profile.
 */
function shortDecimalValue(text: string): number {
  const n = text.length;
  let i = 0;
  let negative = false;
  if (n > 0) {
    const sign = text.charCodeAt(0);
    if (sign === 45) negative = true;
    if (sign === 43 || sign === 45) i = 1;
  }
  const digitsStart = i;
  let mantissa = 0;
  let c = 0;
  while (i < n && (c = text.charCodeAt(i)) >= 48 && c <= 57) {
    mantissa = mantissa * 10 + (c - 48);
    i++;
  }
  if (i === digitsStart) return NaN;
  const integerDigits = i - digitsStart;
  let fractionDigits = 0;
  if (i < n && c === 46) {
    i++;
    const fractionStart = i;
    while (i < n && (c = text.charCodeAt(i)) >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      i++;
    }
    fractionDigits = i - fractionStart;
  }
  if (i !== n || integerDigits + fractionDigits > MAX_SHORT_DIGITS) return NaN;
  const value = fractionDigits === 0 ? mantissa : mantissa / POWERS_OF_TEN[fractionDigits]!;
  return negative ? -value : value;
}

/** `[+-]digits[.digits]`: what unwrapped values nearly always are, checked without a regex. */
function isPlainDecimal(text: string): boolean {
  const n = text.length;
  let i = 0;
  if (n > 0 && (text.charCodeAt(0) === 43 || text.charCodeAt(0) === 45)) i = 1;
  const digitsStart = i;
  while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  if (i === digitsStart) return false;
  if (i < n && text.charCodeAt(i) === 46) {
    i++;
    while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  }
  return i === n;
}

/** Go `time.ParseDuration` (the one in src/duration), in nanoseconds as a number, with Loki's conversion error. */
export function parseGoDurationNs(text: string): number {
  try {
    return Number(parseGoDuration(text));
  } catch (error) {
    throw new ConversionError((error as Error).message);
  }
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  ki: 1024,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  p: 1e15,
  pb: 1e15,
  pi: 1024 ** 5,
  pib: 1024 ** 5,
  e: 1e18,
  eb: 1e18,
  ei: 1024 ** 6,
  eib: 1024 ** 6,
};

/** go-humanize `ParseBytes`: `42kB`, `13 MiB`, `1,024`. */
export function parseHumanBytes(text: string): number {
  let lastDigit = 0;
  let hasComma = false;
  for (const ch of text) {
    if (!(/[0-9.]/.test(ch) || ch === ',')) break;
    if (ch === ',') hasComma = true;
    lastDigit++;
  }
  let number = text.slice(0, lastDigit);
  if (hasComma) number = number.replaceAll(',', '');
  const value = Number(number);
  if (number === '' || Number.isNaN(value)) throw new ConversionError(`strconv.ParseFloat: parsing ${goQuote(number)}: invalid syntax`);
  const unit = text.slice(lastDigit).trim().toLowerCase();
  const scale = BYTE_UNITS[unit];
  if (scale === undefined) throw new ConversionError(`unhandled size name: ${unit}`);
  return Math.floor(value * scale);
}

/** Go's %q for the ASCII strings these messages quote. */
export function goQuote(text: string): string {
  return JSON.stringify(text);
}
