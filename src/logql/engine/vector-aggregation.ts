// Vector aggregations (`sum by (rank) (…)`, `topk(3, …)`, `sort_desc(…)`), step by step.

import type { Labels } from '../../push/types.ts';
import type { VectorAggregation } from '../syntax/ast.ts';
import { compareLabels, groupLabels, labelsKey } from './series-labels.ts';
import { newSeries, type StepSeries } from './step-series.ts';

export function aggregateVector(node: VectorAggregation, input: StepSeries[], steps: number): StepSeries[] {
  const op = node.op;
  if (op === 'sort' || op === 'sort_desc') return input;
  const grouping = node.grouping;
  const groupOf = (labels: Labels): Labels => (grouping ? groupLabels(labels, grouping.labels, grouping.without) : {});
  // Group membership is fixed per series; compute it once.
  const groups = new Map<string, { labels: Labels; members: StepSeries[] }>();
  for (const series of input) {
    const labels = groupOf(series.labels);
    const key = labelsKey(labels);
    let group = groups.get(key);
    if (!group) {
      group = { labels, members: [] };
      groups.set(key, group);
    }
    group.members.push(series);
  }
  if (op === 'topk' || op === 'bottomk' || op === 'approx_topk') return selectK(node, groups, steps);
  const result: StepSeries[] = [];
  for (const [key, group] of groups) {
    const out = newSeries(group.labels, key, steps);
    for (let s = 0; s < steps; s++) {
      const values: number[] = [];
      for (const member of group.members) if (member.present[s]) values.push(member.values[s]!);
      if (values.length === 0) continue;
      out.values[s] = reduce(op, values);
      out.present[s] = 1;
    }
    result.push(out);
  }
  return result;
}

function reduce(op: VectorAggregation['op'], values: number[]): number {
  switch (op) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg': {
      let mean = 0;
      for (let i = 0; i < values.length; i++) mean += (values[i]! - mean) / (i + 1);
      return mean;
    }
    case 'min':
      return values.reduce((a, b) => (b < a || Number.isNaN(a) ? b : a));
    case 'max':
      return values.reduce((a, b) => (b > a || Number.isNaN(a) ? b : a));
    case 'count':
      return values.length;
    case 'stddev':
    case 'stdvar': {
      let mean = 0;
      let m2 = 0;
      for (let i = 0; i < values.length; i++) {
        const delta = values[i]! - mean;
        mean += delta / (i + 1);
        m2 += delta * (values[i]! - mean);
      }
      const variance = m2 / values.length;
      return op === 'stdvar' ? variance : Math.sqrt(variance);
    }
    default:
      return NaN;
  }
}

function selectK(node: VectorAggregation, groups: Map<string, { labels: Labels; members: StepSeries[] }>, steps: number): StepSeries[] {
  const k = node.param ?? 1;
  const top = node.op !== 'bottomk';
  const outputs = new Map<StepSeries, StepSeries>();
  for (const group of groups.values()) {
    for (let s = 0; s < steps; s++) {
      const candidates = group.members.filter((m) => m.present[s]);
      candidates.sort((a, b) => {
        const va = a.values[s]!;
        const vb = b.values[s]!;
        if (va !== vb) return top ? vb - va : va - vb;
        return compareLabels(a.labels, b.labels);
      });
      for (const chosen of candidates.slice(0, k)) {
        let out = outputs.get(chosen);
        if (!out) {
          out = newSeries(chosen.labels, chosen.key, steps);
          outputs.set(chosen, out);
        }
        out.values[s] = chosen.values[s]!;
        out.present[s] = 1;
      }
    }
  }
  return [...outputs.values()];
}

/** Order for instant results of sort/sort_desc/topk/bottomk (ties broken by labels). */
export function sortByValue(series: StepSeries[], descending: boolean): StepSeries[] {
  return [...series].sort((a, b) => {
    const va = a.values[0]!;
    const vb = b.values[0]!;
    if (va !== vb) return descending ? vb - va : va - vb;
    return compareLabels(a.labels, b.labels);
  });
}
