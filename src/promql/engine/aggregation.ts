// Aggregation operators (sum, avg, topk, quantile, count_values, limitk, …) step by step. Group
// membership depends only on labels, so groups are formed once; values are then reduced per step.

import type { Labels } from '../../push/types.ts';
import type { AggregateExpr } from '../syntax/ast.ts';
import { Annotations, PromQLQueryError } from './errors.ts';
import { kahanSumInc, quantileOfSorted, sortFloatsNaNFirst } from './float-math.ts';
import { kahanMean } from './range-functions.ts';
import { averageHistograms, combine, compensateScalarSums, histogramText, type NativeHistogram } from './native-histogram.ts';
import { formatPlainFloat } from '../../logql/syntax/numbers.ts';
import { compareLabels, copyPoint, hasAnyPoint, histogramAt, labelsKey, setHistogram, newVectorSeries, type EvalValue, type StepGrid, type StepVectorSeries } from './series.ts';
import { limitRatioHash } from './label-hash.ts';
import { hashWithout, LabelSetTable, sameValues, sameWithout, valuesHash } from './label-set-table.ts';

interface Group {
  labels: Labels;
  members: StepVectorSeries[];
}

function groupLabels(labels: Labels, grouping: string[], without: boolean): Labels {
  const out: Labels = {};
  if (without) {
    for (const name in labels) if (name !== '__name__' && !grouping.includes(name)) out[name] = labels[name]!;
  } else {
    for (const name of grouping) if (labels[name] !== undefined && labels[name] !== '') out[name] = labels[name]!;
  }
  return out;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function aggregate(expr: AggregateExpr, input: StepVectorSeries[], param: EvalValue | undefined, grid: StepGrid, annotations: Annotations): StepVectorSeries[] {
  const count = grid.count;
  const op = expr.op;
  if (op === 'count_values') {
    const label = param?.kind === 'string' ? param.value : '';
    if (!LABEL_NAME.test(label) && !isValidUtf8Name(label)) throw new PromQLQueryError(`invalid label name ${JSON.stringify(label)}`);
    return countValues(expr, input, label, count);
  }
  const scalarParam = param?.kind === 'scalar' ? param.values : undefined;
  if (scalarParam !== undefined && (op === 'topk' || op === 'bottomk' || op === 'limitk' || op === 'limit_ratio')) {
    for (let i = 0; i < count; i++) {
      if (Number.isNaN(scalarParam[i]!)) throw new PromQLQueryError(op === 'limit_ratio' ? 'Ratio value is NaN' : 'Parameter value is NaN');
    }
  }
  if (op === 'quantile' && scalarParam !== undefined) {
    for (const q of scalarParam) if (!(q >= 0 && q <= 1)) annotations.warn(`quantile value should be between 0 and 1, got ${Number.isNaN(q) ? 'NaN' : q}`, expr.param?.pos);
  }
  if (op === 'limit_ratio' && scalarParam !== undefined) {
    for (const r of scalarParam) {
      if (r < -1 || r > 1) annotations.warn(`ratio value should be between -1 and 1, got ${r}, capping to ${r < 0 ? -1 : 1}`, expr.param?.pos);
    }
  }
  // Series grouped by the grouping labels' values (`by`: a missing label and an empty value are the
  // same) or by all labels but the listed ones and `__name__` (`without`), compared in place with no
  // key string per series; a group's label set is built once, when it is first seen (on
  // histogram_quantile over `sum by (job, le)` of 385 bucket series, a key string per series was a
  // fifth of the query's CPU).
  const byNames = expr.without ? undefined : [...new Set(expr.grouping)];
  const withoutNames = expr.without ? ['__name__', ...expr.grouping] : undefined;
  const groups = byNames !== undefined
    ? new LabelSetTable<Group>((labels) => valuesHash(labels, byNames), (a, b) => sameValues(a, b, byNames))
    : new LabelSetTable<Group>((labels) => hashWithout(labels, withoutNames!), (a, b) => sameWithout(a, b, withoutNames!));
  const newGroup = (labels: Labels): Group => ({ labels: groupLabels(labels, expr.grouping, expr.without), members: [] });
  for (const s of input) groups.getOrAdd(s.labels, newGroup).members.push(s);
  const order = groups.values();
  if (op === 'topk' || op === 'bottomk') {
    if (input.some((s) => s.histograms?.some((h, i) => h !== undefined && s.present[i]))) annotations.info(`ignored histogram in ${op} aggregation`, expr.pos);
    return selectK(order, scalarParam!, op === 'topk', count);
  }
  if (op === 'limitk') return limitK(order, scalarParam!, count);
  if (op === 'limit_ratio') return limitRatio(input, scalarParam!, count);
  const out: StepVectorSeries[] = [];
  // A step's float values in one reused array, `n` of them: `values.length = 0` on a JS array
  // dropped its backing store, so every step grew a new one (about 3.6 MB of garbage a query on the
  // compare bench's range histogram_quantile, sum by (job, le) over 1,848 series × 110 steps).
  let largestGroup = 0;
  for (const group of order) largestGroup = Math.max(largestGroup, group.members.length);
  const values = new Float64Array(largestGroup);
  const histograms: NativeHistogram[] = [];
  for (const group of order) {
    const dropName = group.members.some((m) => m.dropName) && group.labels.__name__ !== undefined;
    const result = newVectorSeries(group.labels, count, dropName);
    const metricName = group.members[0]?.labels.__name__ ?? '';
    for (let i = 0; i < count; i++) {
      let n = 0;
      if (histograms.length > 0) histograms.length = 0;
      // Indexed loops here and in reduce(): an instant query runs each once per group, often before
      // V8 optimises them, and an unoptimised for-of allocates an iterator result per element.
      const members = group.members;
      for (let k = 0; k < members.length; k++) {
        const m = members[k]!;
        if (!m.present[i]) continue;
        const h = m.histograms === undefined ? undefined : m.histograms[i];
        if (h !== undefined) histograms.push(h);
        else values[n++] = m.values[i]!;
      }
      if (histograms.length > 0) {
        if (op === 'count' || op === 'group') {
          result.values[i] = op === 'count' ? n + histograms.length : 1;
          result.present[i] = 1;
          continue;
        }
        if (op === 'sum' || op === 'avg') {
          if (n > 0) {
            annotations.warn(`encountered a mix of histograms and floats for metric name ${JSON.stringify(metricName)}`, expr.pos);
            continue;
          }
          const total = sumHistograms(histograms, annotations, expr, metricName);
          if (total !== undefined) setHistogram(result, i, op === 'avg' ? averageHistograms(total, histograms) : total);
          continue;
        }
        annotations.info(`ignored histogram in ${op} aggregation`, expr.pos);
      }
      if (n === 0) continue;
      result.values[i] = reduce(op, values, n, scalarParam?.[i] ?? NaN);
      result.present[i] = 1;
    }
    if (hasAnyPoint(result)) out.push(result);
  }
  return out;
}

function sumHistograms(histograms: NativeHistogram[], annotations: Annotations, expr: AggregateExpr, metricName: string): NativeHistogram | undefined {
  let total: NativeHistogram | undefined = histograms[0]!;
  let reconciled = false;
  for (let k = 1; k < histograms.length && total !== undefined; k++) {
    const { result, problem } = combine(total, histograms[k]!, 1);
    if (problem === 'mixed-schemas') {
      annotations.warn(`vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${JSON.stringify(metricName)}`, expr.pos);
      return undefined;
    }
    if (problem === 'reconciled') reconciled = true;
    total = result;
  }
  if (reconciled) annotations.info('mismatched custom buckets were reconciled during aggregation', expr.pos);
  if (total !== undefined) total = compensateScalarSums(total, histograms);
  return total === undefined ? undefined : { ...total, counterResetHint: histograms.every((h) => h.counterResetHint === 'gauge') ? 'gauge' : total.counterResetHint };
}

function isValidUtf8Name(name: string): boolean {
  return name.length > 0 && !name.includes('\uFFFD');
}

/** Reduces the first `n` of `values`. */
function reduce(op: AggregateExpr['op'], values: Float64Array, n: number, param: number): number {
  switch (op) {
    case 'sum': {
      // Neumaier summation inlined (this is the hottest reduction; no tuple per addition).
      let sum = 0;
      let c = 0;
      for (let k = 0; k < n; k++) {
        const v = values[k]!;
        const t = sum + v;
        if (!Number.isFinite(t)) c = 0;
        else if (Math.abs(sum) >= Math.abs(v)) c += sum - t + v;
        else c += v - t + sum;
        sum = t;
      }
      return Number.isFinite(sum) ? sum + c : sum;
    }
    case 'avg':
      return kahanMean(values, 0, n);
    case 'count':
      return n;
    case 'group':
      return 1;
    case 'min': {
      let min = values[0]!;
      for (let k = 0; k < n; k++) if (values[k]! < min || Number.isNaN(min)) min = values[k]!;
      return min;
    }
    case 'max': {
      let max = values[0]!;
      for (let k = 0; k < n; k++) if (values[k]! > max || Number.isNaN(max)) max = values[k]!;
      return max;
    }
    case 'stddev':
    case 'stdvar': {
      let seen = 0, mean = 0, cMean = 0, aux = 0, cAux = 0;
      for (let k = 0; k < n; k++) {
        const v = values[k]!;
        seen++;
        const delta = v - (mean + cMean);
        [mean, cMean] = kahanSumInc(delta / seen, mean, cMean);
        [aux, cAux] = kahanSumInc(delta * (v - (mean + cMean)), aux, cAux);
      }
      const variance = (aux + cAux) / seen;
      return op === 'stdvar' ? variance : Math.sqrt(variance);
    }
    case 'quantile':
      return quantileOfSorted(param, sortFloatsNaNFirst(Array.from(values.subarray(0, n))));
    default:
      return NaN;
  }
}

function countValues(expr: AggregateExpr, input: StepVectorSeries[], label: string, count: number): StepVectorSeries[] {
  const outputs = new Map<string, StepVectorSeries>();
  for (const s of input) {
    const base = groupLabels(s.labels, expr.grouping, expr.without);
    for (let i = 0; i < count; i++) {
      if (!s.present[i]) continue;
      // A histogram counts under its text form, as upstream's FloatHistogram.String() writes it.
      const histogram = histogramAt(s, i);
      const labels = { ...base, [label]: histogram !== undefined ? histogramText(histogram) : formatPlainFloat(s.values[i]!) };
      const key = labelsKey(labels);
      let out = outputs.get(key);
      if (out === undefined) {
        out = newVectorSeries(labels, count);
        outputs.set(key, out);
      }
      out.values[i] = (out.present[i] ? out.values[i]! : 0) + 1;
      out.present[i] = 1;
    }
  }
  return [...outputs.values()];
}

/** Beyond this k, a full sort per step is cheaper than keeping the k best by insertion. */
const INSERTION_SELECT_MAX_K = 64;

function selectK(groups: Group[], kValues: Float64Array, top: boolean, count: number): StepVectorSeries[] {
  const outputs = new Map<StepVectorSeries, StepVectorSeries>();
  // Order for instant results: Prometheus returns each group's heap sorted, groups in input order.
  const order: StepVectorSeries[] = [];
  // Negative when `a` ranks before `b`; NaN always ranks last (it is never "top" nor "bottom").
  const rank = (a: number, b: number): number => {
    if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
    if (Number.isNaN(b)) return -1;
    return a === b ? 0 : top ? b - a : a - b;
  };
  const best: StepVectorSeries[] = [];
  for (const group of groups) {
    for (let i = 0; i < count; i++) {
      const k = Math.trunc(Math.min(kValues[i]!, 2 ** 53));
      if (k < 1) continue;
      best.length = 0;
      if (k <= INSERTION_SELECT_MAX_K) {
        // The k best so far, best first; ties keep input order (as the stable sort below does).
        for (const m of group.members) {
          if (!m.present[i] || histogramAt(m, i) !== undefined) continue;
          const value = m.values[i]!;
          if (best.length === k && rank(value, best[k - 1]!.values[i]!) >= 0) continue;
          let at = best.length;
          while (at > 0 && rank(value, best[at - 1]!.values[i]!) < 0) at--;
          best.splice(at, 0, m);
          if (best.length > k) best.pop();
        }
      } else {
        for (const m of group.members) if (m.present[i] && histogramAt(m, i) === undefined) best.push(m);
        best.sort((a, b) => rank(a.values[i]!, b.values[i]!));
        if (best.length > k) best.length = k;
      }
      for (const chosen of best) {
        let out = outputs.get(chosen);
        if (out === undefined) {
          out = newVectorSeries(chosen.labels, count, chosen.dropName);
          outputs.set(chosen, out);
          order.push(out);
        }
        copyPoint(chosen, out, i);
      }
    }
  }
  return order;
}

function limitK(groups: Group[], kValues: Float64Array, count: number): StepVectorSeries[] {
  const outputs = new Map<StepVectorSeries, StepVectorSeries>();
  const order: StepVectorSeries[] = [];
  for (const group of groups) {
    const members = [...group.members].sort((a, b) => compareLabels(a.labels, b.labels));
    for (let i = 0; i < count; i++) {
      const k = Math.trunc(Math.min(kValues[i]!, 2 ** 53));
      let taken = 0;
      for (const m of members) {
        if (taken >= k) break;
        if (!m.present[i]) continue;
        taken++;
        let out = outputs.get(m);
        if (out === undefined) {
          out = newVectorSeries(m.labels, count, m.dropName);
          outputs.set(m, out);
          order.push(out);
        }
        copyPoint(m, out, i);
      }
    }
  }
  return order;
}

function limitRatio(input: StepVectorSeries[], ratios: Float64Array, count: number): StepVectorSeries[] {
  const out: StepVectorSeries[] = [];
  for (const s of input) {
    const position = limitRatioHash(s.labels);
    const result = newVectorSeries(s.labels, count, s.dropName);
    for (let i = 0; i < count; i++) {
      if (!s.present[i]) continue;
      const ratio = Math.max(-1, Math.min(1, ratios[i]!));
      const keep = ratio >= 0 ? position < ratio : position >= 1 + ratio;
      if (!keep) continue;
      copyPoint(s, result, i);
    }
    if (hasAnyPoint(result)) out.push(result);
  }
  return out;
}
