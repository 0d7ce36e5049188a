// The metrics store's public contract: what remote_write, the Pushgateway, scrape and the ruler write,
// and what the PromQL engine and the Prometheus HTTP API read. Implementations live beside this file;
// consumers import only these types (and the open function of the implementation).
//
// Timestamps are Unix milliseconds as numbers (exact up to 2^53 ms, far beyond any real date), as
// Prometheus keeps them in int64 ms. Values are float64. A Prometheus staleness marker is not kept as a
// NaN payload (JavaScript does not promise to keep NaN bit patterns); it is flagged per sample.

import type { Labels } from '../push/types.ts';

export type { Labels };

export type MetricMatchType = '=' | '!=' | '=~' | '!~';

/** A series matcher. Regexes are fully anchored, as in Prometheus. */
export interface MetricLabelMatcher {
  name: string;
  type: MetricMatchType;
  value: string;
}

/** One series' samples in [startMs, endMs], ascending by time, one sample per timestamp. */
export interface SeriesSamples {
  /** Includes `__name__`. */
  labels: Labels;
  timestampsMs: Float64Array;
  values: Float64Array;
  /** 1 where the sample is a staleness marker (its value is then NaN); absent when none is. */
  stale?: Uint8Array;
  /**
   * Native histogram samples: where an entry is defined, the sample at that index is this histogram
   * and `values[i]` is ignored. Absent when the series has only float samples (the common case).
   */
  histograms?: Array<FloatHistogram | undefined>;
}

/** A bucket span of a native histogram: `length` buckets starting `offset` indexes after the previous span. */
export interface HistogramSpan {
  offset: number;
  length: number;
}

/** A native histogram sample in Prometheus' float layout (bucket counts absolute, not deltas). */
export interface FloatHistogram {
  /** -4…8 for exponential buckets; -53 for custom bucket bounds (`customValues`). */
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positiveSpans: HistogramSpan[];
  positiveBuckets: number[];
  negativeSpans: HistogramSpan[];
  negativeBuckets: number[];
  /** Upper bounds of the custom buckets (schema -53), ascending, without +Inf. */
  customValues?: number[];
  counterResetHint?: 'unknown' | 'reset' | 'not_reset' | 'gauge';
}

export interface SeriesSelectQuery {
  matchers: MetricLabelMatcher[];
  /** Inclusive. */
  startMs: number;
  /** Inclusive. */
  endMs: number;
  /**
   * Only the newest sample in [startMs, endMs] of each series is needed (an instant selector at one
   * time): a source may return just that one, and skip decoding the rest.
   */
  newestOnly?: boolean;
  /**
   * Memory the source may decode this select's samples into (from createScratch): the caller holds it
   * for one query and releases it once nothing refers to the samples selected with it.
   */
  scratch?: SelectScratch;
}

/** A source's reusable decoding memory for one query's selects (see SeriesSelectQuery.scratch). */
export interface SelectScratch {
  /** The query is done with every sample selected with this scratch: its memory may be reused. */
  release(): void;
}

/** The read side, as the PromQL engine sees it. Tests may implement it in memory. */
export interface MetricsSource {
  select(tenant: string, query: SeriesSelectQuery): Promise<SeriesSamples[]>;
  /** Optional: scratch memory for one query's selects, so that repeated queries reuse it. */
  createScratch?(): SelectScratch;
  /** Label sets of series with samples in [startMs, endMs] matching any of the matcher sets. */
  series(tenant: string, matcherSets: MetricLabelMatcher[][], startMs: number, endMs: number): Promise<Labels[]>;
  labelNames(tenant: string, startMs: number, endMs: number, matcherSets?: MetricLabelMatcher[][]): Promise<string[]>;
  labelValues(tenant: string, name: string, startMs: number, endMs: number, matcherSets?: MetricLabelMatcher[][]): Promise<string[]>;
}

export interface MetricSample {
  timestampMs: number;
  value: number;
  /** A staleness marker (value ignored). */
  stale?: boolean;
}

/** An exemplar (OpenMetrics, remote write): a labelled sample, e.g. a trace id, beside a series. */
export interface MetricExemplar {
  labels: Labels;
  value: number;
  timestampMs: number;
}

export interface AppendSeries {
  labels: Labels;
  samples: MetricSample[];
  /** Exemplars of the series, ascending by time; kept in bounded storage (not in blocks). */
  exemplars?: MetricExemplar[];
  /**
   * Optional: the `labels` object is interned (one shared object per label set, never mutated, e.g.
   * from remote_write's label cache), so the store may find the series by object identity instead of
   * building the canonical key. Added for remote_write; leaving it unset is always correct.
   */
  labelsInterned?: boolean;
}

/**
 * Many series' samples in flat arrays, the form remote_write decodes into (no object per sample or
 * series). Series i's samples are rows [sampleEnd[i - 1] (0 for the first), sampleEnd[i]).
 */
export interface AppendColumns {
  seriesCount: number;
  labels: readonly Labels[];
  /** 1 where `labels[i]` is interned (as AppendSeries.labelsInterned). */
  interned: Uint8Array;
  sampleEnd: Uint32Array;
  timestampsMs: Float64Array;
  values: Float64Array;
  /** 1 where the sample is a staleness marker. */
  stale: Uint8Array;
  /** Exemplars by series index, ascending by time within a series. */
  exemplars?: ReadonlyMap<number, readonly MetricExemplar[]>;
}

/** Why a sample was not stored; the remote_write and Pushgateway handlers turn these into 400s. */
export interface RejectedSample {
  labels: Labels;
  timestampMs: number;
  reason: 'out_of_order' | 'too_old' | 'duplicate_timestamp' | 'invalid_labels';
}

export interface MetricsStore extends MetricsSource {
  /**
   * Resolves only after the accepted samples are in the WAL and fsync'd (group commit). Samples a
   * Prometheus head would refuse are not stored and are listed in the result.
   */
  append(tenant: string, series: AppendSeries[]): Promise<{ accepted: number; rejected: RejectedSample[]; exemplarsAccepted?: number }>;
  /** Cuts the head into a block and makes it durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
