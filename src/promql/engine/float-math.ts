// Float arithmetic PromQL defines precisely: Kahan–Neumaier summation, quantiles with linear
// interpolation between ranks, Go's float modulo, and the binary operators on two numbers.

import type { BinaryOp } from '../syntax/ast.ts';

/** One step of Neumaier-compensated summation: returns [sum, compensation]. */
export function kahanSumInc(increment: number, sum: number, compensation: number): [number, number] {
  const total = sum + increment;
  if (!Number.isFinite(total)) return [total, 0];
  if (Math.abs(sum) >= Math.abs(increment)) compensation += sum - total + increment;
  else compensation += increment - total + sum;
  return [total, compensation];
}

/** φ-quantile of values sorted ascending (NaN first), Prometheus' interpolation. */
export function quantileOfSorted(q: number, sorted: ArrayLike<number>): number {
  const n = sorted.length;
  if (n === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const rank = q * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lowerIndex]! * (1 - weight) + sorted[upperIndex]! * weight;
}

/** Sorts ascending with NaN first, as Go's sort.Float64s. */
export function sortFloatsNaNFirst(values: number[]): number[] {
  return values.sort((a, b) => {
    if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
    if (Number.isNaN(b)) return 1;
    return a - b;
  });
}

/** Go's math.Mod: the result has the sign of the dividend. */
export function goMod(a: number, b: number): number {
  return a % b;
}

/** A binary operator on two floats; comparisons return 1/0 (the caller decides filter vs bool). */
export function applyBinaryOp(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return goMod(a, b);
    case '^':
      return goPow(a, b);
    case 'atan2':
      return Math.atan2(a, b);
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '>':
      return a > b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
    default:
      return NaN;
  }
}

/** Go's math.Pow differs from JS for a few special cases (1^NaN, (-1)^±Inf are 1 in Go). */
export function goPow(a: number, b: number): number {
  if (a === 1 || b === 0) return 1;
  if (a === -1 && !Number.isFinite(b) && !Number.isNaN(b)) return 1;
  return a ** b;
}
