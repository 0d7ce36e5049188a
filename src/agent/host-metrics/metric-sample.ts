// One collected sample, as it goes to remote write: the full label set (with __name__), the value
// and the millisecond timestamp of the reading.

import type { Labels } from '../../push/types.ts';

export interface MetricSample {
  labels: Labels;
  value: number;
  timestampMs: number;
  /** A Prometheus staleness marker: the series ended (its GPU changed owner). */
  stale?: boolean;
}
