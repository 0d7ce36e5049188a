// The shapes a scan hands back, shared by the log and metric evaluators, the query context and the
// worker pool. A leaf: it imports nothing from the engine, so the evaluators can depend on the query
// context (and the context on these shapes) without an import cycle.

import type { Labels } from '../../push/types.ts';

/** One log-query entry that passed the pipeline, before streams are grouped. */
export interface Candidate {
  timestampNs: bigint;
  line: string;
  labels: Labels;
  structuredMetadata?: Labels;
  parsed?: Labels;
  key: string;
}

export interface LogScanOptions {
  startNs: bigint;
  endNs: bigint;
  backward: boolean;
  perBlockLimit: number | undefined;
}

/** The samples one part of a scan produced, per series; times are ns relative to the window base. */
export interface SampleSeries {
  labels: Labels;
  key: string;
  times: number[];
  values: number[];
  sorted: boolean;
  /** Counts per interval between window edges (additive aggregations over raw filters only). */
  bucketCounts?: Float64Array;
  /** Line bytes per interval, for bytes_over_time / bytes_rate. */
  bucketBytes?: Float64Array;
}
