// Label-set identity and ordering for result series: Prometheus's `labels.Compare` order (sorted
// names, then name/value pairs in turn) and a canonical key for grouping.

import type { Labels } from '../../push/types.ts';

/** A canonical, collision-free key for a label set. */
export function labelsKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const name of names) key += `${name}\u0000${labels[name]}\u0001`;
  return key;
}

export function compareLabels(a: Labels, b: Labels): number {
  const namesA = Object.keys(a).sort();
  const namesB = Object.keys(b).sort();
  const n = Math.min(namesA.length, namesB.length);
  for (let i = 0; i < n; i++) {
    const nameA = namesA[i]!;
    const nameB = namesB[i]!;
    if (nameA !== nameB) return nameA < nameB ? -1 : 1;
    const valueA = a[nameA]!;
    const valueB = b[nameB]!;
    if (valueA !== valueB) return valueA < valueB ? -1 : 1;
  }
  return namesA.length - namesB.length;
}

/** Labels kept by `by (…)` or left by `without (…)`. */
export function groupLabels(labels: Labels, names: string[], without: boolean): Labels {
  const out: Labels = {};
  if (without) {
    for (const name in labels) if (!names.includes(name)) out[name] = labels[name]!;
  } else {
    for (const name of names) if (labels[name] !== undefined && labels[name] !== '') out[name] = labels[name]!;
  }
  return out;
}
