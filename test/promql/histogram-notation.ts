// promqltest's native histogram notation: `{{schema:0 sum:5 count:4 buckets:[1 2 1] offset:1
// n_buckets:[…] n_offset:… z_bucket:… z_bucket_w:… custom_values:[…] counter_reset_hint:gauge}}`,
// the expanding forms `{{…}}+{{…}}x3` and `{{…}}x3`, and the comparison promqltest applies.

import type { FloatHistogram } from '../../src/tsdb/types.ts';
import { combine, fromFloatHistogram, scaleHistogram, toFloatHistogram } from '../../src/promql/engine/native-histogram.ts';

export function parseHistogramLiteral(text: string): FloatHistogram {
  const body = text.replace(/^\{\{/, '').replace(/\}\}$/, '').trim();
  const fields = new Map<string, string>();
  const field = /(\w+):(\[[^\]]*\]|\S+)/g;
  for (const m of body.matchAll(field)) fields.set(m[1]!, m[2]!);
  const num = (key: string, fallback: number): number => {
    const v = fields.get(key);
    if (v === undefined) return fallback;
    const lower = v.toLowerCase();
    if (lower === 'nan') return NaN;
    if (lower === 'inf' || lower === '+inf') return Infinity;
    if (lower === '-inf') return -Infinity;
    return Number(v);
  };
  const list = (key: string): number[] => {
    const v = fields.get(key);
    if (v === undefined) return [];
    return v.replace(/[[\]]/g, '').trim().split(/\s+/).filter((x) => x !== '').map(Number);
  };
  const positive = list('buckets');
  const negative = list('n_buckets');
  const hint = fields.get('counter_reset_hint') as FloatHistogram['counterResetHint'] | undefined;
  const customValues = fields.has('custom_values') ? list('custom_values') : undefined;
  return {
    schema: num('schema', 0),
    zeroThreshold: num('z_bucket_w', 0),
    zeroCount: num('z_bucket', 0),
    count: num('count', 0),
    sum: num('sum', 0),
    positiveSpans: positive.length > 0 ? [{ offset: num('offset', 0), length: positive.length }] : [],
    positiveBuckets: positive,
    negativeSpans: negative.length > 0 ? [{ offset: num('n_offset', 0), length: negative.length }] : [],
    negativeBuckets: negative,
    ...(customValues ? { customValues } : {}),
    counterResetHint: hint ?? 'unknown',
  };
}

/** `{{a}}+{{b}}x3` → a, a+b, a+2b, a+3b (and `-` subtracts); `{{a}}x3` → four times a. */
export function expandHistogramItem(item: string): FloatHistogram[] {
  const expanding = /^(\{\{[^}]*\}\})([+-])(\{\{[^}]*\}\})x(\d+)$/.exec(item);
  if (expanding) {
    const start = fromFloatHistogram(parseHistogramLiteral(expanding[1]!));
    const delta = fromFloatHistogram(parseHistogramLiteral(expanding[3]!));
    const sign = expanding[2] === '-' ? -1 : 1;
    const out: FloatHistogram[] = [];
    for (let i = 0; i <= Number(expanding[4]); i++) {
      const value = i === 0 ? start : combine(start, scaleHistogram(delta, i), sign).result!;
      out.push({ ...toFloatHistogram(value), counterResetHint: start.counterResetHint });
    }
    return out;
  }
  const repeat = /^(\{\{[^}]*\}\})x(\d+)$/.exec(item);
  if (repeat) {
    const h = parseHistogramLiteral(repeat[1]!);
    return Array.from({ length: Number(repeat[2]) + 1 }, () => h);
  }
  return [parseHistogramLiteral(item)];
}

/** Splits a values text into items, keeping `{{…}}` literals (which contain spaces) whole. */
export function splitValueItems(text: string): string[] {
  const items: string[] = [];
  const pattern = /(\{\{[^}]*\}\}(?:[+-]\{\{[^}]*\}\})?(?:x\d+)?)|(\S+)/g;
  for (const m of text.matchAll(pattern)) items.push(m[0]);
  return items;
}

function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < 2.2250738585072014e-308) return diff < 1e-6 * 2.2250738585072014e-308;
  return diff / Math.min(absSum, Number.MAX_VALUE) < 1e-6;
}

/** Returns a difference description, or undefined when equal within promqltest's tolerance. */
export function compareHistograms(expected: FloatHistogram, actual: FloatHistogram): string | undefined {
  const e = fromFloatHistogram(expected);
  const a = fromFloatHistogram(actual);
  if (e.schema !== a.schema) return `schema ${a.schema}, expected ${e.schema}`;
  if (!almostEqual(e.zeroThreshold, a.zeroThreshold)) return `zero threshold ${a.zeroThreshold}, expected ${e.zeroThreshold}`;
  for (const key of ['zeroCount', 'count', 'sum'] as const) {
    if (!almostEqual(e[key], a[key])) return `${key} ${a[key]}, expected ${e[key]}`;
  }
  if (JSON.stringify(e.customValues ?? []) !== JSON.stringify(a.customValues ?? [])) return `custom values ${JSON.stringify(a.customValues)}, expected ${JSON.stringify(e.customValues)}`;
  for (const [name, x, y] of [['positive', e.positive, a.positive], ['negative', e.negative, a.negative]] as const) {
    for (const k of new Set([...x.keys(), ...y.keys()])) {
      if (!almostEqual(x.get(k) ?? 0, y.get(k) ?? 0)) return `${name} bucket ${k}: ${y.get(k) ?? 0}, expected ${x.get(k) ?? 0}`;
    }
  }
  return undefined;
}
