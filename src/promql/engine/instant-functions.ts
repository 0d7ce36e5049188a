// Functions over instant vectors and scalars: math, clamping and rounding, dates, labels
// (label_replace, label_join), sorting, vector()/scalar()/time(), and classic-bucket
// histogram_quantile/histogram_fraction. Range-window functions live in range-functions.ts.

import type { Labels } from '../../push/types.ts';
import type { Call, PositionRange } from '../syntax/ast.ts';
import { formatPlainFloat } from '../../logql/syntax/numbers.ts';
import { compileAnchoredRegex } from '../regex.ts';
import { Annotations, PromQLQueryError } from './errors.ts';
import { bucketFraction, bucketQuantile, type Bucket } from './histogram-buckets.ts';
import { nativeHistogramFraction, nativeHistogramQuantile, nativeHistogramVariance } from './native-histogram-stats.ts';
import type { NativeHistogram } from './native-histogram.ts';
import { hashWithout, LabelSetTable, sameWithout } from './label-set-table.ts';
import { compareLabels, hasAnyPoint, histogramAt, labelsKey, mergeSameLabels, newVectorSeries, stepTime, type EvalValue, type StepGrid, type StepVectorSeries } from './series.ts';

type MathFunction = (value: number) => number;

const MATH: Record<string, MathFunction> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  deg: (v) => (v * 180) / Math.PI,
  rad: (v) => (v * Math.PI) / 180,
  sgn: (v) => (v > 0 ? 1 : v < 0 ? -1 : v),
};

type DateFunction = (date: Date) => number;

const DATE: Record<string, DateFunction> = {
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: (d) => {
    const startOfYear = Date.UTC(d.getUTCFullYear(), 0, 1);
    return Math.floor((d.getTime() - startOfYear) / 86_400_000) + 1;
  },
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

function mapValues(series: StepVectorSeries[], count: number, fn: (value: number, step: number) => number | undefined, dropName = true): StepVectorSeries[] {
  const out: StepVectorSeries[] = [];
  for (const s of series) {
    const result = newVectorSeries(s.labels, count, dropName || s.dropName);
    for (let i = 0; i < count; i++) {
      // Float functions skip histogram samples.
      if (!s.present[i] || histogramAt(s, i) !== undefined) continue;
      const value = fn(s.values[i]!, i);
      if (value === undefined) continue;
      result.values[i] = value;
      result.present[i] = 1;
    }
    if (hasAnyPoint(result)) out.push(result);
  }
  return out;
}

const HISTOGRAM_READERS: Record<string, (h: NativeHistogram) => number> = {
  histogram_count: (h) => h.count,
  histogram_sum: (h) => h.sum,
  histogram_avg: (h) => h.sum / h.count,
  histogram_stddev: (h) => Math.sqrt(nativeHistogramVariance(h)),
  histogram_stdvar: (h) => nativeHistogramVariance(h),
};

/** Applies a histogram → float function to the histogram samples (float samples are skipped). */
function mapHistograms(series: StepVectorSeries[], count: number, fn: (h: NativeHistogram, step: number, labels: Labels) => number): StepVectorSeries[] {
  const out: StepVectorSeries[] = [];
  for (const s of series) {
    if (s.histograms === undefined) continue;
    const result = newVectorSeries(s.labels, count, true);
    for (let i = 0; i < count; i++) {
      const h = histogramAt(s, i);
      if (!s.present[i] || h === undefined) continue;
      result.values[i] = fn(h, i, s.labels);
      result.present[i] = 1;
    }
    if (hasAnyPoint(result)) out.push(result);
  }
  return out;
}

function vectorArg(value: EvalValue | undefined): StepVectorSeries[] {
  return value?.kind === 'vector' ? value.series : [];
}

function scalarArg(value: EvalValue | undefined, count: number): Float64Array {
  return value?.kind === 'scalar' ? value.values : new Float64Array(count).fill(NaN);
}

function stringArg(value: EvalValue | undefined): string {
  return value?.kind === 'string' ? value.value : '';
}

export function evaluateInstantFunction(call: Call, args: EvalValue[], grid: StepGrid, annotations: Annotations): EvalValue {
  const count = grid.count;
  const name = call.func;
  const math = MATH[name];
  if (math !== undefined) return { kind: 'vector', series: mapValues(vectorArg(args[0]), count, math) };
  const date = DATE[name];
  if (date !== undefined) {
    const fn = (seconds: number): number | undefined => (Number.isFinite(seconds) ? date(new Date(Math.trunc(seconds) * 1000)) : NaN);
    if (args.length === 0) {
      const series = newVectorSeries({}, count);
      for (let i = 0; i < count; i++) {
        series.values[i] = fn(stepTime(grid, i) / 1000)!;
        series.present[i] = 1;
      }
      return { kind: 'vector', series: count > 0 ? [series] : [] };
    }
    return { kind: 'vector', series: mapValues(vectorArg(args[0]), count, fn) };
  }
  switch (name) {
    case 'time': {
      const values = new Float64Array(count);
      for (let i = 0; i < count; i++) values[i] = stepTime(grid, i) / 1000;
      return { kind: 'scalar', values };
    }
    case 'pi':
      return { kind: 'scalar', values: new Float64Array(count).fill(Math.PI) };
    case 'vector': {
      const series = newVectorSeries({}, count);
      series.values.set(scalarArg(args[0], count));
      series.present.fill(1);
      return { kind: 'vector', series: count > 0 ? [series] : [] };
    }
    case 'scalar': {
      const values = new Float64Array(count).fill(NaN);
      const input = vectorArg(args[0]);
      for (let i = 0; i < count; i++) {
        let found = 0;
        for (const s of input) {
          if (!s.present[i] || histogramAt(s, i) !== undefined) continue;
          found++;
          values[i] = s.values[i]!;
        }
        if (found !== 1) values[i] = NaN;
      }
      return { kind: 'scalar', values };
    }
    case 'timestamp':
      return { kind: 'vector', series: mapValues(vectorArg(args[0]), count, (_v, i) => stepTime(grid, i) / 1000) };
    case 'clamp': {
      const mins = scalarArg(args[1], count);
      const maxes = scalarArg(args[2], count);
      return { kind: 'vector', series: mapValues(vectorArg(args[0]), count, (v, i) => (maxes[i]! < mins[i]! ? undefined : Math.max(mins[i]!, Math.min(maxes[i]!, v)))) };
    }
    case 'clamp_min': {
      const mins = scalarArg(args[1], count);
      return { kind: 'vector', series: mapValues(vectorArg(args[0]), count, (v, i) => Math.max(mins[i]!, v)) };
    }
    case 'clamp_max': {
      const maxes = scalarArg(args[1], count);
      return { kind: 'vector', series: mapValues(vectorArg(args[0]), count, (v, i) => Math.min(maxes[i]!, v)) };
    }
    case 'round': {
      const toNearest = args.length > 1 ? scalarArg(args[1], count) : new Float64Array(count).fill(1);
      return {
        kind: 'vector',
        series: mapValues(vectorArg(args[0]), count, (v, i) => {
          const inverse = 1 / toNearest[i]!;
          return Math.floor(v * inverse + 0.5) / inverse;
        }),
      };
    }
    case 'sort':
    case 'sort_desc':
      return { kind: 'vector', series: sortByValue(vectorArg(args[0]), name === 'sort_desc') };
    case 'sort_by_label':
    case 'sort_by_label_desc':
      return { kind: 'vector', series: sortByLabel(vectorArg(args[0]), args.slice(1).map(stringArg), name === 'sort_by_label_desc') };
    case 'label_replace':
      return { kind: 'vector', series: labelReplace(vectorArg(args[0]), stringArg(args[1]), stringArg(args[2]), stringArg(args[3]), stringArg(args[4]), count) };
    case 'label_join':
      return { kind: 'vector', series: labelJoin(vectorArg(args[0]), stringArg(args[1]), stringArg(args[2]), args.slice(3).map(stringArg), count) };
    case 'histogram_quantile':
      return { kind: 'vector', series: histogramQuantile(scalarArg(args[0], count), vectorArg(args[1]), count, annotations, call.args[0]!.pos, call.args[1]!.pos) };
    case 'histogram_quantiles': {
      // One output series per quantile, told apart by the label named in the second argument.
      const label = stringArg(args[1]);
      const out: StepVectorSeries[] = [];
      for (let k = 2; k < args.length; k++) {
        const qs = scalarArg(args[k], count);
        const value = formatQuantileLabel(qs[0]!);
        for (const s of histogramQuantile(qs, vectorArg(args[0]), count, annotations, call.args[k]!.pos, call.args[0]!.pos)) {
          out.push({ ...s, labels: { ...s.labels, [label]: value } });
        }
      }
      return { kind: 'vector', series: out };
    }
    case 'histogram_fraction':
      return { kind: 'vector', series: histogramFraction(scalarArg(args[0], count), scalarArg(args[1], count), vectorArg(args[2]), count, annotations, call.args[2]!.pos) };
    case 'histogram_avg':
    case 'histogram_count':
    case 'histogram_sum':
    case 'histogram_stddev':
    case 'histogram_stdvar': {
      const read = HISTOGRAM_READERS[name]!;
      return { kind: 'vector', series: mapHistograms(vectorArg(args[0]), count, (h) => read(h)) };
    }
    case 'info':
      return { kind: 'vector', series: vectorArg(args[0]) };
    default:
      throw new PromQLQueryError(`function "${name}" is not implemented`);
  }
}

function formatQuantileLabel(q: number): string {
  const text = formatPlainFloat(q);
  return Number.isFinite(q) && !text.includes('.') ? `${text}.0` : text;
}

/** Prometheus sorts sort()/sort_desc() output with NaN last either way; ties keep input order. */
function sortByValue(series: StepVectorSeries[], descending: boolean): StepVectorSeries[] {
  // Histogram samples have no order; sort() drops them.
  return series.filter((s) => histogramAt(s, 0) === undefined).sort((a, b) => {
    const va = a.values[0]!;
    const vb = b.values[0]!;
    if (Number.isNaN(va)) return Number.isNaN(vb) ? 0 : 1;
    if (Number.isNaN(vb)) return -1;
    return descending ? vb - va : va - vb;
  });
}

/** Natural order: runs of digits compare as numbers, the rest as text. */
export function naturalCompare(a: string, b: string): number {
  const chunk = /(\d+|\D+)/g;
  const as = a.match(chunk) ?? [];
  const bs = b.match(chunk) ?? [];
  const n = Math.min(as.length, bs.length);
  for (let i = 0; i < n; i++) {
    const x = as[i]!;
    const y = bs[i]!;
    if (x === y) continue;
    const xDigits = /^\d/.test(x);
    const yDigits = /^\d/.test(y);
    if (xDigits && yDigits) {
      const diff = Number(x) - Number(y);
      if (diff !== 0) return diff;
      continue;
    }
    return x < y ? -1 : 1;
  }
  return as.length - bs.length;
}

function sortByLabel(series: StepVectorSeries[], names: string[], descending: boolean): StepVectorSeries[] {
  const sign = descending ? -1 : 1;
  return [...series].sort((a, b) => {
    for (const name of names) {
      const x = a.labels[name] ?? '';
      const y = b.labels[name] ?? '';
      if (x === y) continue;
      return sign * (naturalCompare(x, y) < 0 ? -1 : 1);
    }
    return sign * compareLabels(a.labels, b.labels);
  });
}

function isValidLabelName(name: string): boolean {
  return name.length > 0 && !/[\uD800-\uDFFF]/.test(name.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')) && !name.includes('\uFFFD');
}

/** Go regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`. */
function expandTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (ch !== '$' || i + 1 >= template.length) {
      out += ch;
      continue;
    }
    const next = template[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    let end: number;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close === -1 ? '' : template.slice(i + 2, close);
      if (close === -1 || !/^[A-Za-z0-9_]+$/.test(inner)) {
        out += ch;
        continue;
      }
      name = inner;
      end = close;
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (m === null) {
        out += ch;
        continue;
      }
      name = m[0];
      end = i + m[0].length;
    }
    if (/^\d+$/.test(name)) out += match[Number(name)] ?? '';
    else out += match.groups?.[name] ?? match.groups?.[`_${name}`] ?? '';
    i = end;
  }
  return out;
}

function setLabel(labels: Labels, name: string, value: string): Labels {
  const out: Labels = { ...labels };
  if (value === '') delete out[name];
  else out[name] = value;
  return out;
}

function labelReplace(series: StepVectorSeries[], dst: string, replacement: string, src: string, regexText: string, count: number): StepVectorSeries[] {
  let regex;
  try {
    regex = compileAnchoredRegex(`(?s:${regexText})`);
  } catch {
    throw new PromQLQueryError(`invalid regular expression in label_replace(): ${regexText}`);
  }
  if (!isValidLabelName(dst)) throw new PromQLQueryError(`invalid destination label name in label_replace(): ${dst}`);
  const out = series.map((s) => {
    const match = regex.captures(s.labels[src] ?? '');
    const labels = match === null ? s.labels : setLabel(s.labels, dst, expandTemplate(replacement, match));
    return { ...s, labels, dropName: dst === '__name__' ? false : s.dropName };
  });
  return mergeSameLabels(out, count);
}

function labelJoin(series: StepVectorSeries[], dst: string, separator: string, sources: string[], count: number): StepVectorSeries[] {
  if (!isValidLabelName(dst)) throw new PromQLQueryError(`invalid destination label name in label_join(): ${dst}`);
  for (const source of sources) {
    if (!isValidLabelName(source)) throw new PromQLQueryError(`invalid source label name in label_join(): ${source}`);
  }
  const out = series.map((s) => {
    const value = sources.map((name) => s.labels[name] ?? '').join(separator);
    return { ...s, labels: setLabel(s.labels, dst, value), dropName: dst === '__name__' ? false : s.dropName };
  });
  return mergeSameLabels(out, count);
}

interface BucketGroup {
  labels: Labels;
  members: Array<{ upperBound: number; series: StepVectorSeries }>;
}

const LE_ONLY = ['le'];

/**
 * Classic bucket series grouped by their labels but `le`, compared in place (a label copy with `le`
 * deleted, a dictionary-mode object, and a key string per series before); each distinct `le` text
 * parsed once per call.
 */
function bucketGroups(series: StepVectorSeries[], annotations: Annotations, pos: PositionRange | undefined): BucketGroup[] {
  const groups = new LabelSetTable<BucketGroup>((labels) => hashWithout(labels, LE_ONLY), (a, b) => sameWithout(a, b, LE_ONLY));
  const bounds = new Map<string, number>();
  const newGroup = (labels: Labels): BucketGroup => {
    const kept: Labels = {};
    for (const name in labels) if (name !== 'le') kept[name] = labels[name]!;
    return { labels: kept, members: [] };
  };
  for (const s of series) {
    const le = s.labels.le;
    let upperBound = le === undefined ? NaN : bounds.get(le);
    if (upperBound === undefined) bounds.set(le!, (upperBound = parseBound(le!)));
    if (Number.isNaN(upperBound)) {
      annotations.warn(`bucket label "le" is missing or has a malformed value of ${JSON.stringify(le ?? '')} for metric name ${JSON.stringify(s.labels.__name__ ?? '')}`, pos);
      continue;
    }
    groups.getOrAdd(s.labels, newGroup).members.push({ upperBound, series: s });
  }
  return groups.values();
}

function parseBound(text: string): number {
  const trimmed = text.trim();
  if (/^[+-]?inf(inity)?$/i.test(trimmed)) return trimmed.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(trimmed)) return NaN;
  if (trimmed === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?0[xX][0-9a-fA-F]+$/.test(trimmed)) return NaN;
  return Number(trimmed);
}

function collectBuckets(group: BucketGroup, step: number): Bucket[] {
  const buckets: Bucket[] = [];
  for (const m of group.members) if (m.series.present[step] && histogramAt(m.series, step) === undefined) buckets.push({ upperBound: m.upperBound, count: m.series.values[step]! });
  return buckets;
}

/**
 * A classic bucket group and a native histogram with the same labels at the same step are ambiguous:
 * Prometheus warns and returns neither. `out` holds the native results first, then the classic ones.
 */
function withoutClassicNativeMix(out: StepVectorSeries[], nativeCount: number, annotations: Annotations, pos: PositionRange): StepVectorSeries[] {
  const natives = new Map(out.slice(0, nativeCount).map((s) => [labelsKey(s.labels), s]));
  for (const classic of out.slice(nativeCount)) {
    const native = natives.get(labelsKey(classic.labels));
    if (native === undefined) continue;
    for (let i = 0; i < classic.present.length; i++) {
      if (!classic.present[i] || !native.present[i]) continue;
      classic.present[i] = 0;
      native.present[i] = 0;
      annotations.warn(`vector contains a mix of classic and native histograms for metric name ${JSON.stringify(classic.labels.__name__ ?? '')}`, pos);
    }
  }
  return out.filter(hasAnyPoint);
}

function histogramQuantile(qs: Float64Array, series: StepVectorSeries[], count: number, annotations: Annotations, qPos: PositionRange, vectorPos: PositionRange): StepVectorSeries[] {
  for (const q of qs) if (!(q >= 0 && q <= 1)) annotations.warn(`quantile value should be between 0 and 1, got ${Number.isNaN(q) ? 'NaN' : q}`, qPos);
  const out: StepVectorSeries[] = mapHistograms(series, count, (h, i, labels) => {
    const value = nativeHistogramQuantile(qs[i]!, h);
    if (Number.isNaN(h.sum) && h.count > 0) {
      const effect = Number.isNaN(value) ? 'result is NaN' : 'result is skewed higher';
      annotations.info(`input to histogram_quantile has NaN observations, ${effect} for metric name ${JSON.stringify(labels.__name__ ?? '')}`, vectorPos);
    }
    return value;
  });
  const nativeCount = out.length;
  series = series.filter((s) => s.histograms === undefined || s.histograms.some((h, i) => h === undefined && s.present[i]));
  for (const group of bucketGroups(series, annotations, vectorPos)) {
    const result = newVectorSeries(group.labels, count, true);
    for (let i = 0; i < count; i++) {
      const buckets = collectBuckets(group, i);
      if (buckets.length === 0) continue;
      const { value, forcedMonotonic } = bucketQuantile(qs[i]!, buckets);
      if (forcedMonotonic) {
        const name = group.members[0]?.series.labels.__name__ ?? '';
        annotations.info(`input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name ${JSON.stringify(name)}`, vectorPos);
      }
      result.values[i] = value;
      result.present[i] = 1;
    }
    if (hasAnyPoint(result)) out.push(result);
  }
  return withoutClassicNativeMix(out, nativeCount, annotations, vectorPos);
}

function histogramFraction(lowers: Float64Array, uppers: Float64Array, series: StepVectorSeries[], count: number, annotations: Annotations, vectorPos: PositionRange): StepVectorSeries[] {
  const out: StepVectorSeries[] = mapHistograms(series, count, (h, i, labels) => {
    if (Number.isNaN(h.sum) && h.count > 0) {
      annotations.info(`input to histogram_fraction has NaN observations, which are excluded from all fractions for metric name ${JSON.stringify(labels.__name__ ?? '')}`, vectorPos);
    }
    return nativeHistogramFraction(lowers[i]!, uppers[i]!, h);
  });
  const nativeCount = out.length;
  series = series.filter((s) => s.histograms === undefined || s.histograms.some((h, i) => h === undefined && s.present[i]));
  for (const group of bucketGroups(series, annotations, vectorPos)) {
    const result = newVectorSeries(group.labels, count, true);
    for (let i = 0; i < count; i++) {
      const buckets = collectBuckets(group, i);
      if (buckets.length === 0) continue;
      result.values[i] = bucketFraction(lowers[i]!, uppers[i]!, buckets);
      result.present[i] = 1;
    }
    if (hasAnyPoint(result)) out.push(result);
  }
  return withoutClassicNativeMix(out, nativeCount, annotations, vectorPos);
}
