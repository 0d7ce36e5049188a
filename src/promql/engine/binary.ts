// Binary operators: arithmetic, comparisons (filter or `bool`), set operators, and vector matching
// (on/ignoring, group_left/group_right, fill) with Prometheus' result labels and errors. Pairs of
// matching series are found once per query, then combined step by step over their arrays.

import type { Labels } from '../../push/types.ts';
import type { BinaryExpr, BinaryOp, VectorMatching } from '../syntax/ast.ts';
import { Annotations, PromQLQueryError } from './errors.ts';
import { applyBinaryOp } from './float-math.ts';
import { trimHistogram } from './native-histogram-stats.ts';
import { combine, histogramsEqual, scaleHistogram, type NativeHistogram } from './native-histogram.ts';
import { hashWithout, LabelSetTable, sameValues, sameWithout, valuesHash } from './label-set-table.ts';
import { copyPoint, formatLabelSet, hasAnyPoint, histogramAt, newVectorSeries, setHistogram, sortedNames, type EvalValue, type StepGrid, type StepVectorSeries } from './series.ts';

const COMPARISONS = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);

export function evaluateBinary(expr: BinaryExpr, lhs: EvalValue, rhs: EvalValue, grid: StepGrid, annotations: Annotations): EvalValue {
  const incompatible = (left: string, right: string): void =>
    annotations.info(`incompatible sample types encountered for binary operator ${JSON.stringify(expr.op)}: ${left} ${expr.op} ${right}`, expr.pos);
  const op = expr.op;
  const comparison = COMPARISONS.has(op);
  if (lhs.kind === 'scalar' && rhs.kind === 'scalar') {
    const values = new Float64Array(grid.count);
    for (let i = 0; i < grid.count; i++) values[i] = applyBinaryOp(op, lhs.values[i]!, rhs.values[i]!);
    return { kind: 'scalar', values };
  }
  if (lhs.kind === 'vector' && rhs.kind === 'scalar') return { kind: 'vector', series: vectorScalar(lhs.series, rhs.values, op, comparison, expr.returnBool, false, grid, incompatible) };
  if (lhs.kind === 'scalar' && rhs.kind === 'vector') return { kind: 'vector', series: vectorScalar(rhs.series, lhs.values, op, comparison, expr.returnBool, true, grid, incompatible) };
  if (lhs.kind !== 'vector' || rhs.kind !== 'vector') throw new PromQLQueryError('binary expression must contain only scalar and instant vector types');
  const matching = expr.matching!;
  if (op === 'and' || op === 'or' || op === 'unless') return { kind: 'vector', series: setOperation(op, lhs.series, rhs.series, matching, grid) };
  const reconciled = (): void => annotations.info(`mismatched custom buckets were reconciled during ${op === '+' ? 'addition' : 'subtraction'}`, expr.pos);
  return { kind: 'vector', series: vectorVector(expr, lhs.series, rhs.series, matching, grid, incompatible, reconciled) };
}

/** Histogram ⊙ scalar: only `*` (either side) and `/` (scalar on the right) are defined. */
function histogramScalar(op: BinaryOp, h: NativeHistogram, scalar: number, scalarOnLeft: boolean): NativeHistogram | undefined {
  if ((op === '</' || op === '>/') && !scalarOnLeft) return trimHistogram(h, scalar, op === '</');
  if (op === '*') return scaleHistogram(h, scalar);
  if (op === '/' && !scalarOnLeft) return divideHistogram(h, scalar);
  return undefined;
}

/** h / x; dividing by zero leaves no buckets, only count, sum and zero count as ±Inf or NaN (as Prometheus). */
function divideHistogram(h: NativeHistogram, divisor: number): NativeHistogram {
  if (divisor !== 0) return scaleHistogram(h, 1 / divisor);
  return { ...h, count: h.count / 0, sum: h.sum / 0, zeroCount: h.count / 0, positive: new Map(), negative: new Map() };
}

function vectorScalar(
  series: StepVectorSeries[],
  scalar: Float64Array,
  op: BinaryOp,
  comparison: boolean,
  returnBool: boolean,
  scalarOnLeft: boolean,
  grid: StepGrid,
  incompatible: (left: string, right: string) => void,
): StepVectorSeries[] {
  const out: StepVectorSeries[] = [];
  // Trimming a histogram keeps its identity, like a comparison filter.
  const dropsName = (!comparison || returnBool) && op !== '</' && op !== '>/';
  for (const input of series) {
    const result = newVectorSeries(input.labels, grid.count, dropsName || input.dropName);
    for (let i = 0; i < grid.count; i++) {
      if (!input.present[i]) continue;
      const histogram = histogramAt(input, i);
      if (histogram !== undefined) {
        const scaled = histogramScalar(op, histogram, scalar[i]!, scalarOnLeft);
        if (scaled !== undefined) setHistogram(result, i, scaled);
        else if (scalarOnLeft) incompatible('float', 'histogram');
        else incompatible('histogram', 'float');
        continue;
      }
      const value = input.values[i]!;
      const computed = scalarOnLeft ? applyBinaryOp(op, scalar[i]!, value) : applyBinaryOp(op, value, scalar[i]!);
      if (comparison) {
        if (returnBool) result.values[i] = computed;
        else if (computed === 0) continue;
        else result.values[i] = value;
      } else result.values[i] = computed;
      result.present[i] = 1;
    }
    if (hasAnyPoint(result)) out.push(result);
  }
  return out;
}

/** `on (…)` label names, sorted and without repeats, per matching (the AST node lives as long as its query). */
const onNames = new WeakMap<VectorMatching, string[]>();
/** `ignoring (…)` label names plus `__name__`: the labels a signature leaves out. */
const ignoredNames = new WeakMap<VectorMatching, string[]>();

/**
 * Series grouped by the labels they are matched on, with no key string per series: `on (…)` compares
 * the listed labels' values (a missing label and an empty value are the same), `ignoring (…)` every
 * other label but `__name__`.
 */
type SignatureGroups = LabelSetTable<StepVectorSeries[]>;

function signatureTable<V>(matching: VectorMatching): LabelSetTable<V> {
  if (matching.on) {
    let names = onNames.get(matching);
    if (names === undefined) onNames.set(matching, (names = [...new Set(matching.matchingLabels)].sort()));
    const listed = names;
    return new LabelSetTable<V>((labels) => valuesHash(labels, listed), (a, b) => sameValues(a, b, listed));
  }
  let excluded = ignoredNames.get(matching);
  if (excluded === undefined) ignoredNames.set(matching, (excluded = ['__name__', ...matching.matchingLabels]));
  const left = excluded;
  return new LabelSetTable<V>((labels) => hashWithout(labels, left), (a, b) => sameWithout(a, b, left));
}

function signatureLabels(labels: Labels, matching: VectorMatching): Labels {
  const picked: Labels = {};
  for (const name of sortedNames(labels)) {
    const listed = matching.matchingLabels.includes(name);
    if (matching.on ? listed : !listed && name !== '__name__') picked[name] = labels[name]!;
  }
  return picked;
}

const newGroup = (): StepVectorSeries[] => [];

function groupBySignature(series: StepVectorSeries[], matching: VectorMatching): SignatureGroups {
  const groups: SignatureGroups = signatureTable(matching);
  for (const s of series) groups.getOrAdd(s.labels, newGroup).push(s);
  return groups;
}

function presenceBySignature(groups: SignatureGroups, matching: VectorMatching, count: number): LabelSetTable<Uint8Array> {
  const masks = signatureTable<Uint8Array>(matching);
  for (let g = 0; g < groups.size; g++) {
    const labels = groups.labelsAt(g);
    const members = groups.valueAt(g);
    const mask = new Uint8Array(count);
    for (const s of members) for (let i = 0; i < count; i++) mask[i] ||= s.present[i]!;
    masks.add(labels, mask);
  }
  return masks;
}

function setOperation(op: 'and' | 'or' | 'unless', lhs: StepVectorSeries[], rhs: StepVectorSeries[], matching: VectorMatching, grid: StepGrid): StepVectorSeries[] {
  const count = grid.count;
  const out: StepVectorSeries[] = [];
  if (op === 'or') {
    const lhsMasks = presenceBySignature(groupBySignature(lhs, matching), matching, count);
    out.push(...lhs);
    for (const s of rhs) {
      const mask = lhsMasks.get(s.labels);
      if (mask === undefined) {
        out.push(s);
        continue;
      }
      const result = newVectorSeries(s.labels, count, s.dropName);
      for (let i = 0; i < count; i++) {
        if (!s.present[i] || mask[i]) continue;
        copyPoint(s, result, i);
      }
      if (hasAnyPoint(result)) out.push(result);
    }
    return out;
  }
  const rhsMasks = presenceBySignature(groupBySignature(rhs, matching), matching, count);
  for (const s of lhs) {
    const mask = rhsMasks.get(s.labels);
    const result = newVectorSeries(s.labels, count, s.dropName);
    for (let i = 0; i < count; i++) {
      if (!s.present[i]) continue;
      const matched = mask !== undefined && mask[i] === 1;
      if (op === 'and' ? !matched : matched) continue;
      copyPoint(s, result, i);
    }
    if (hasAnyPoint(result)) out.push(result);
  }
  return out;
}

function resultLabels(many: Labels, one: Labels, matching: VectorMatching): Labels {
  let out: Labels;
  if (matching.card === 'one-to-one') {
    out = {};
    if (matching.on) {
      for (const name of matching.matchingLabels) if (many[name] !== undefined) out[name] = many[name]!;
    } else {
      for (const name in many) if (!matching.matchingLabels.includes(name)) out[name] = many[name]!;
    }
  } else out = { ...many };
  for (const name of matching.include) {
    const value = one[name];
    if (value !== undefined && value !== '') out[name] = value;
    else delete out[name];
  }
  return out;
}

function vectorVector(
  expr: BinaryExpr,
  lhs: StepVectorSeries[],
  rhs: StepVectorSeries[],
  matching: VectorMatching,
  grid: StepGrid,
  incompatible: (left: string, right: string) => void,
  reconciled: () => void,
): StepVectorSeries[] {
  const count = grid.count;
  const op = expr.op;
  const comparison = COMPARISONS.has(op);
  const returnBool = expr.returnBool;
  const swapped = matching.card === 'one-to-many';
  const manySide = swapped ? rhs : lhs;
  const oneSide = swapped ? lhs : rhs;
  const oneGroups = groupBySignature(oneSide, matching);
  const manyGroups = groupBySignature(manySide, matching);
  const outputs = new LabelSetTable<StepVectorSeries>();
  const grouped = matching.card === 'many-to-one' || matching.card === 'one-to-many';

  // Output series by the identity of the label object passed in (the loop below reuses one per
  // partner pair across steps), so the label-set key is built once per pair rather than once per step:
  // on a range group_left over 542 series × 110 steps the key was most of the operator's time.
  const byLabelsObject = new Map<Labels, StepVectorSeries>();
  const emit = (labels: Labels, dropName: boolean, i: number, value: number | NativeHistogram): void => {
    let series = byLabelsObject.get(labels);
    if (series === undefined) {
      series = outputs.get(labels);
      if (series === undefined) outputs.add(labels, (series = newVectorSeries(labels, count, dropName)));
      byLabelsObject.set(labels, series);
    }
    if (series.present[i]) {
      throw new PromQLQueryError(grouped
        ? 'multiple matches for labels: grouping labels must ensure unique matches'
        : 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
    }
    if (typeof value === 'number') series.values[i] = value;
    else setHistogram(series, i, value);
    series.present[i] = 1;
  };

  /** Vector ⊙ vector where a side is a histogram: h ± h, h * f, f * h, h / f, and h == / != h. */
  const combineHistograms = (left: number | NativeHistogram, right: number | NativeHistogram): number | NativeHistogram | undefined => {
    const result = combineHistogramSamples(left, right);
    if (result === undefined && !(comparison && !returnBool && (op === '==' || op === '!=') && typeof left !== 'number' && typeof right !== 'number')) {
      incompatible(typeof left === 'number' ? 'float' : 'histogram', typeof right === 'number' ? 'float' : 'histogram');
    }
    return result;
  };
  const combineHistogramSamples = (left: number | NativeHistogram, right: number | NativeHistogram): number | NativeHistogram | undefined => {
    const lh = typeof left === 'number' ? undefined : left;
    const rh = typeof right === 'number' ? undefined : right;
    if (lh && rh) {
      if (op === '+' || op === '-') {
        const { result, problem } = combine(lh, rh, op === '+' ? 1 : -1);
        if (problem === 'reconciled') reconciled();
        return problem === 'mixed-schemas' ? undefined : result;
      }
      if (op === '==' || op === '!=') {
        const equal = histogramsEqual(lh, rh) === (op === '==');
        if (returnBool) return equal ? 1 : 0;
        return equal ? lh : undefined;
      }
      return undefined;
    }
    if (lh && typeof right === 'number') {
      if (op === '</' || op === '>/') return trimHistogram(lh, right, op === '</');
      return op === '*' ? scaleHistogram(lh, right) : op === '/' ? divideHistogram(lh, right) : undefined;
    }
    if (rh && typeof left === 'number') return op === '*' ? scaleHistogram(rh, left) : undefined;
    return undefined;
  };
  const sampleAt = (s: StepVectorSeries, i: number): number | NativeHistogram => histogramAt(s, i) ?? s.values[i]!;

  const combineValues = (leftValue: number, rightValue: number): number | undefined => {
    const computed = applyBinaryOp(op, leftValue, rightValue);
    if (!comparison) return computed;
    if (returnBool) return computed;
    return computed === 0 ? undefined : leftValue;
  };

  // Reused by every match group (an instant join has one group per series: fresh ones cost more than the join).
  const onePick = new Int32Array(count);
  const labelCache = new Map<number, Labels>();
  for (let g = 0; g < manyGroups.size; g++) {
    const sig = manyGroups.labelsAt(g);
    const manys = manyGroups.valueAt(g);
    const ones = oneGroups.get(sig);
    if (ones === undefined) {
      // As in Prometheus, group_right swaps the sides before matching, and the fill values with them:
      // fill_right always stands in for a missing "one" partner, fill_left for a missing "many" one.
      if (matching.fillRight !== undefined) fillUnmatched(manys, undefined, matching.fillRight, !swapped);
      continue;
    }
    // Which "one" series is present at each step (-1: none); two at once is many-to-many.
    onePick.fill(-1);
    for (let k = 0; k < ones.length; k++) {
      const present = ones[k]!.present;
      for (let i = 0; i < count; i++) {
        if (!present[i]) continue;
        if (onePick[i] !== -1) {
          const a = ones[onePick[i]!]!.labels;
          const b = ones[k]!.labels;
          const side = swapped ? 'left' : 'right';
          throw new PromQLQueryError(`found duplicate series for the match group ${formatLabelSet(signatureLabels(b, matching))} on the ${side} hand-side of the operation: [${formatLabelSet(a)}, ${formatLabelSet(b)}];many-to-many matching not allowed: matching labels must be unique on one side`);
        }
        onePick[i] = k;
      }
    }
    if (!grouped && manys.length > 1) {
      const seen = new Uint8Array(count);
      for (const m of manys) {
        for (let i = 0; i < count; i++) {
          if (!m.present[i] || onePick[i] === -1) continue;
          if (seen[i]) throw new PromQLQueryError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
          seen[i] = 1;
        }
      }
    }
    for (const many of manys) {
      labelCache.clear();
      for (let i = 0; i < count; i++) {
        if (!many.present[i]) continue;
        const k = onePick[i]!;
        if (k === -1) {
          const fill = matching.fillRight;
          if (fill === undefined) continue;
          const value = swapped ? combineValues(fill, many.values[i]!) : combineValues(many.values[i]!, fill);
          if (value !== undefined) emit(resultLabels(many.labels, {}, matching), !comparison || returnBool || many.dropName, i, value);
          continue;
        }
        const one = ones[k]!;
        let value: number | NativeHistogram | undefined;
        if (histogramAt(one, i) !== undefined || histogramAt(many, i) !== undefined) {
          value = swapped ? combineHistograms(sampleAt(one, i), sampleAt(many, i)) : combineHistograms(sampleAt(many, i), sampleAt(one, i));
        } else {
          const leftValue = swapped ? one.values[i]! : many.values[i]!;
          const rightValue = swapped ? many.values[i]! : one.values[i]!;
          value = combineValues(leftValue, rightValue);
        }
        if (value === undefined) continue;
        let labels = labelCache.get(k);
        if (labels === undefined) {
          labels = resultLabels(many.labels, one.labels, matching);
          labelCache.set(k, labels);
        }
        emit(labels, !comparison || returnBool || many.dropName, i, value);
      }
    }
  }
  // The "one" side's series with no partner at some steps, when the missing side is filled.
  const oneFill = matching.fillLeft;
  if (oneFill !== undefined) {
    for (let g = 0; g < oneGroups.size; g++) {
      const sig = oneGroups.labelsAt(g);
      const ones = oneGroups.valueAt(g);
      const manys = manyGroups.get(sig) ?? [];
      for (const one of ones) {
        for (let i = 0; i < count; i++) {
          if (!one.present[i] || manys.some((m) => m.present[i])) continue;
          const value = swapped ? combineValues(one.values[i]!, oneFill) : combineValues(oneFill, one.values[i]!);
          // A filled-in partner has only the match group's labels to contribute.
          if (value !== undefined) emit(signatureLabels(one.labels, matching), true, i, value);
        }
      }
    }
  }

  function fillUnmatched(manys: StepVectorSeries[], _ones: undefined, fill: number, manyIsLeft: boolean): void {
    for (const many of manys) {
      for (let i = 0; i < count; i++) {
        if (!many.present[i]) continue;
        const value = manyIsLeft ? combineValues(many.values[i]!, fill) : combineValues(fill, many.values[i]!);
        if (value !== undefined) emit(resultLabels(many.labels, {}, matching), !comparison || returnBool || many.dropName, i, value);
      }
    }
  }

  return outputs.values();
}
