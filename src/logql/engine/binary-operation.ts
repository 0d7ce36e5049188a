// Binary operators between vectors and scalars with PromQL semantics: arithmetic, comparisons (filter
// or `bool`), set operators, and vector matching with on/ignoring/group_left/group_right.

import type { Labels } from '../../push/types.ts';
import { QueryError } from '../api.ts';
import type { BinaryExpr, BinaryOp, VectorMatching } from '../syntax/ast.ts';
// One definition of number-on-number semantics (Loki: x/0 and x%0 are NaN) for folding and evaluation.
import { foldLiteralBinary as applyScalarOp } from '../syntax/constant-folding.ts';
import { labelsKey } from './series-labels.ts';
import { newSeries, type Evaluated, type StepSeries } from './step-series.ts';

const COMPARISONS = new Set<BinaryOp>(['==', '!=', '>', '>=', '<', '<=']);

export function evaluateBinary(node: BinaryExpr, left: Evaluated, right: Evaluated, steps: number): Evaluated {
  const op = node.op;
  const comparison = COMPARISONS.has(op);
  if (left.kind === 'scalar' && right.kind === 'scalar') {
    return { kind: 'scalar', value: applyScalarOp(op, left.value, right.value) };
  }
  if (op === 'and' || op === 'or' || op === 'unless') {
    if (left.kind !== 'vector' || right.kind !== 'vector') {
      throw new QueryError(`unexpected literal for ${left.kind === 'scalar' ? 'left' : 'right'} leg of logical/set binary operation (${op})`);
    }
    return { kind: 'vector', series: setOperation(op, left.series, right.series, node.matching, steps) };
  }
  if (left.kind === 'vector' && right.kind === 'scalar') {
    return { kind: 'vector', series: vectorScalar(left.series, right.value, op, comparison, node.returnBool, false, steps) };
  }
  if (left.kind === 'scalar' && right.kind === 'vector') {
    return { kind: 'vector', series: vectorScalar(right.series, left.value, op, comparison, node.returnBool, true, steps) };
  }
  return {
    kind: 'vector',
    series: vectorVector(node, (left as { series: StepSeries[] }).series, (right as { series: StepSeries[] }).series, steps),
  };
}

function vectorScalar(
  series: StepSeries[],
  scalar: number,
  op: BinaryOp,
  comparison: boolean,
  returnBool: boolean,
  scalarOnLeft: boolean,
  steps: number,
): StepSeries[] {
  const out: StepSeries[] = [];
  for (const input of series) {
    const result = newSeries(input.labels, input.key, steps);
    for (let s = 0; s < steps; s++) {
      if (!input.present[s]) continue;
      const value = input.values[s]!;
      const computed = scalarOnLeft ? applyScalarOp(op, scalar, value) : applyScalarOp(op, value, scalar);
      if (comparison && !returnBool) {
        if (computed === 0) continue;
        result.values[s] = scalarOnLeft ? scalar : value;
      } else result.values[s] = computed;
      result.present[s] = 1;
    }
    if (result.present.some((p) => p)) out.push(result);
  }
  return out;
}

function signature(labels: Labels, matching: VectorMatching | undefined): string {
  if (!matching) return labelsKey(labels);
  const picked: Labels = {};
  for (const name in labels) {
    const listed = matching.labels.includes(name);
    if (matching.on ? listed : !listed) picked[name] = labels[name]!;
  }
  return labelsKey(picked);
}

function setOperation(op: 'and' | 'or' | 'unless', left: StepSeries[], right: StepSeries[], matching: VectorMatching | undefined, steps: number): StepSeries[] {
  const out: StepSeries[] = [];
  const rightBySignature = new Map<string, StepSeries[]>();
  for (const series of right) {
    const sig = signature(series.labels, matching);
    rightBySignature.set(sig, [...(rightBySignature.get(sig) ?? []), series]);
  }
  const leftSignatures = new Map<string, StepSeries[]>();
  for (const series of left) {
    const sig = signature(series.labels, matching);
    leftSignatures.set(sig, [...(leftSignatures.get(sig) ?? []), series]);
    const others = rightBySignature.get(sig) ?? [];
    const result = newSeries(series.labels, series.key, steps);
    for (let s = 0; s < steps; s++) {
      if (!series.present[s]) continue;
      const otherPresent = others.some((o) => o.present[s]);
      const keep = op === 'unless' ? !otherPresent : op === 'and' ? otherPresent : true;
      if (!keep) continue;
      result.values[s] = series.values[s]!;
      result.present[s] = 1;
    }
    if (result.present.some((p) => p)) out.push(result);
  }
  if (op === 'or') {
    for (const series of right) {
      const sig = signature(series.labels, matching);
      const lefts = leftSignatures.get(sig) ?? [];
      const result = newSeries(series.labels, series.key, steps);
      for (let s = 0; s < steps; s++) {
        if (!series.present[s] || lefts.some((l) => l.present[s])) continue;
        result.values[s] = series.values[s]!;
        result.present[s] = 1;
      }
      if (result.present.some((p) => p)) {
        const existing = out.find((o) => o.key === result.key);
        if (existing) {
          for (let s = 0; s < steps; s++) {
            if (result.present[s] && !existing.present[s]) {
              existing.values[s] = result.values[s]!;
              existing.present[s] = 1;
            }
          }
        } else out.push(result);
      }
    }
  }
  return out;
}

function resultLabels(many: Labels, one: Labels, matching: VectorMatching | undefined, changesSchema: boolean): Labels {
  const cardinality = matching?.cardinality ?? 'one-to-one';
  if (cardinality === 'one-to-one') {
    if (!matching) return many;
    const out: Labels = {};
    for (const name in many) {
      const listed = matching.labels.includes(name);
      if (matching.on ? listed : !listed) out[name] = many[name]!;
    }
    return changesSchema || matching ? out : many;
  }
  const out: Labels = { ...many };
  for (const name of matching!.include) {
    if (one[name] !== undefined && one[name] !== '') out[name] = one[name]!;
    else delete out[name];
  }
  return out;
}

function vectorVector(node: BinaryExpr, left: StepSeries[], right: StepSeries[], steps: number): StepSeries[] {
  const matching = node.matching;
  const op = node.op;
  const comparison = COMPARISONS.has(op);
  const oneToMany = matching?.cardinality === 'one-to-many';
  // "many" side drives the output; the "one" side is looked up by signature.
  const manySide = oneToMany ? right : left;
  const oneSide = oneToMany ? left : right;
  const oneBySignature = new Map<string, StepSeries[]>();
  for (const series of oneSide) {
    const sig = signature(series.labels, matching);
    oneBySignature.set(sig, [...(oneBySignature.get(sig) ?? []), series]);
  }
  const outputs = new Map<string, StepSeries>();
  const seenManyPerStep = new Map<string, Set<number>>();
  for (const many of manySide) {
    const sig = signature(many.labels, matching);
    const ones = oneBySignature.get(sig);
    if (!ones) continue;
    for (let s = 0; s < steps; s++) {
      if (!many.present[s]) continue;
      const matches = ones.filter((o) => o.present[s]);
      if (matches.length === 0) continue;
      if (matches.length > 1) {
        throw new QueryError(`found duplicate series for the match group ${sig.replaceAll('\u0000', '=').replaceAll('\u0001', ',')} on the ${oneToMany ? 'left' : 'right'} hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side`);
      }
      const one = matches[0]!;
      const leftValue = oneToMany ? one.values[s]! : many.values[s]!;
      const rightValue = oneToMany ? many.values[s]! : one.values[s]!;
      const computed = applyScalarOp(op, leftValue, rightValue);
      let value: number;
      if (comparison && !node.returnBool) {
        if (computed === 0) continue;
        value = leftValue;
      } else value = computed;
      const labels = resultLabels(many.labels, one.labels, matching, !comparison || node.returnBool);
      const key = labelsKey(labels);
      if (!matching || matching.cardinality === 'one-to-one') {
        const seen = seenManyPerStep.get(key) ?? new Set<number>();
        if (seen.has(s)) {
          throw new QueryError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        }
        seen.add(s);
        seenManyPerStep.set(key, seen);
      }
      let out = outputs.get(key);
      if (!out) {
        out = newSeries(labels, key, steps);
        outputs.set(key, out);
      }
      out.values[s] = value;
      out.present[s] = 1;
    }
  }
  return [...outputs.values()];
}
