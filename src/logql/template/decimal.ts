// Just enough arbitrary-precision decimal arithmetic to reproduce sprig's addf/subf/mulf/divf, which
// use shopspring/decimal: operands start from the float's shortest decimal text, and division rounds
// to 16 fractional digits (decimal.DivisionPrecision).

export interface Decimal {
  /** value = mantissa × 10^-scale */
  mantissa: bigint;
  scale: number;
  toFloat(): number;
}

const DIVISION_PRECISION = 16;

function make(mantissa: bigint, scale: number): Decimal {
  return {
    mantissa,
    scale,
    toFloat() {
      if (scale <= 0) return Number(mantissa * 10n ** BigInt(-scale));
      const negative = mantissa < 0n;
      const digits = (negative ? -mantissa : mantissa).toString().padStart(scale + 1, '0');
      return Number(`${negative ? '-' : ''}${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`);
    },
  };
}

export const ZERO = make(0n, 0);

export function decimalFromFloat(value: number): Decimal {
  if (!Number.isFinite(value)) return make(0n, 0);
  const [mantissaText, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  const negative = mantissaText!.startsWith('-');
  const digits = mantissaText!.replace('-', '').replace('.', '');
  // digits d0.d1d2… × 10^exponent → integer digits × 10^(exponent - (len-1))
  const scale = digits.length - 1 - exponent;
  const mantissa = BigInt(digits) * (negative ? -1n : 1n);
  return scale >= 0 ? make(mantissa, scale) : make(mantissa * 10n ** BigInt(-scale), 0);
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.mantissa * 10n ** BigInt(scale - a.scale), b.mantissa * 10n ** BigInt(scale - b.scale), scale];
}

export function decimalAdd(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = align(a, b);
  return make(x + y, scale);
}

export function decimalNegate(a: Decimal): Decimal {
  return make(-a.mantissa, a.scale);
}

export function decimalMul(a: Decimal, b: Decimal): Decimal {
  return make(a.mantissa * b.mantissa, a.scale + b.scale);
}

/** Division rounded half away from zero to 16 fractional digits. */
export function decimalDiv(a: Decimal, b: Decimal): Decimal {
  if (b.mantissa === 0n) return make(0n, 0);
  // a/b = (ma / mb) × 10^(sb - sa); scale the numerator so the quotient has PRECISION+1 digits.
  const extra = DIVISION_PRECISION + 1 + b.scale - a.scale;
  let numerator = a.mantissa;
  let denominator = b.mantissa;
  if (extra >= 0) numerator *= 10n ** BigInt(extra);
  else denominator *= 10n ** BigInt(-extra);
  const negative = numerator < 0n !== denominator < 0n;
  const quotient = (numerator < 0n ? -numerator : numerator) / (denominator < 0n ? -denominator : denominator);
  let rounded = quotient / 10n + (quotient % 10n >= 5n ? 1n : 0n);
  if (negative) rounded = -rounded;
  return make(rounded, DIVISION_PRECISION);
}
