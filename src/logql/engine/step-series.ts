// The engine's metric value: series evaluated at every step of the query. A series has a value at a
// step only where `present` is 1 (Prometheus vectors have no sample for a series at some steps).

import type { Labels } from '../../push/types.ts';

export interface StepSeries {
  labels: Labels;
  key: string;
  values: Float64Array;
  present: Uint8Array;
}

export interface StepGrid {
  /** Step timestamps in ns. */
  stepsNs: bigint[];
}

export type Evaluated = { kind: 'vector'; series: StepSeries[] } | { kind: 'scalar'; value: number };

export function newSeries(labels: Labels, key: string, steps: number): StepSeries {
  return { labels, key, values: new Float64Array(steps), present: new Uint8Array(steps) };
}
