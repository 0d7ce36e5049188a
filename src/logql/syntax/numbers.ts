// Number literals the way Loki reads (`strconv.ParseFloat`) and prints them (`fmt.Sprint`, `%f`,
// `FormatFloat(…, 'f', -1)`): the printed query must match Loki's byte for byte, and a literal
// Loki rejects (`0x10` has no `p` exponent) must be rejected here too.

export class NumberSyntaxError extends Error {}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;
const SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

/** Go `strconv.ParseFloat(text, 64)`, with Go's error text. */
export function parseGoFloat(text: string): number {
  const invalid = (): never => {
    throw new NumberSyntaxError(`strconv.ParseFloat: parsing ${JSON.stringify(text)}: invalid syntax`);
  };
  let value: number;
  if (DECIMAL.test(text)) value = Number(text);
  else {
    const hex = HEX_FLOAT.exec(text);
    if (hex !== null) {
      const intDigits = hex[2] ?? '';
      const fracDigits = hex[3] ?? '';
      if (intDigits === '' && fracDigits === '') invalid();
      const mantissa = Number.parseInt(intDigits + fracDigits || '0', 16);
      value = mantissa * 2 ** (Number(hex[4]) - 4 * fracDigits.length);
      if (hex[1] === '-') value = -value;
    } else {
      const special = SPECIAL.exec(text);
      if (special === null) return invalid();
      if ((special[2] ?? '').toLowerCase() === 'nan') return Number.NaN;
      return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
  }
  if (!Number.isFinite(value)) {
    throw new NumberSyntaxError(`strconv.ParseFloat: parsing ${JSON.stringify(text)}: value out of range`);
  }
  return value;
}

function formatSpecial(value: number): string | undefined {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return undefined;
}

/** Go `fmt.Sprint(float64)` (%g, shortest digits): `1.6`, `0`, `1e+06`, `1e-05`. */
export function formatGoFloat(value: number): string {
  const special = formatSpecial(value);
  if (special !== undefined) return special;
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa = '', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  // Go switches to exponent form outside [1e-4, 1e6) for shortest formatting.
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(value);
}

/** Go `strconv.FormatFloat(v, 'f', -1, 64)`: shortest digits, never an exponent. */
export function formatPlainFloat(value: number): string {
  const special = formatSpecial(value);
  if (special !== undefined) return special;
  const text = String(value);
  if (!text.includes('e')) return text;
  const [mantissa = '', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  let out: string;
  if (exponent >= 0) {
    out = digits.length <= exponent + 1
      ? digits + '0'.repeat(exponent + 1 - digits.length)
      : `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
  } else {
    out = `0.${'0'.repeat(-exponent - 1)}${digits}`;
  }
  return negative ? `-${out}` : out;
}

/** Go `fmt.Sprintf("%f", v)`: six decimals. */
export function formatFixed6(value: number): string {
  const special = formatSpecial(value);
  if (special !== undefined) return special;
  if (Math.abs(value) >= 1e21) return `${BigInt(value).toString()}.000000`;
  return value.toFixed(6);
}
