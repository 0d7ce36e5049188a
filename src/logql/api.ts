// The LogQL engine's public contract, used by the HTTP API, the ruler and the CLI. The engine returns
// typed values; turning them into Loki's JSON is the server's job.

import type { Labels } from '../push/types.ts';

export type Direction = 'forward' | 'backward';

export interface QueryParams {
  tenant: string;
  query: string;
  /** Range queries: [startNs, endNs] evaluated every stepMs. Instant queries: startNs === endNs === time. */
  startNs: bigint;
  endNs: bigint;
  stepMs: number;
  /** Log queries on a range: only return one entry per interval (Loki's `interval`). 0 = off. */
  intervalMs: number;
  limit: number;
  direction: Direction;
  instant: boolean;
  /** Aborts the query (timeout, client gone). */
  signal?: AbortSignal;
}

export interface LogEntryResult {
  timestampNs: bigint;
  line: string;
  /** Labels that came from structured metadata (Grafana's categorize-labels encoding). */
  structuredMetadata?: Labels;
  /** Labels added by parsers and label_format. */
  parsed?: Labels;
}

export interface StreamResult {
  /** The full label set of the result stream (stream labels + structured metadata + parsed). */
  labels: Labels;
  entries: LogEntryResult[];
}

export interface SeriesResult {
  labels: Labels;
  /** [timestampMs, value] pairs, ascending. */
  samples: Array<[number, number]>;
}

export interface SampleResult {
  labels: Labels;
  timestampMs: number;
  value: number;
}

export interface QueryStatistics {
  /** Uncompressed bytes of lines read. */
  bytesProcessed: number;
  linesProcessed: number;
  blocksRead: number;
  blocksSkipped: number;
  execTimeSeconds: number;
}

export type QueryResult = (
  | { resultType: 'streams'; streams: StreamResult[]; stats: QueryStatistics }
  | { resultType: 'matrix'; series: SeriesResult[]; stats: QueryStatistics }
  | { resultType: 'vector'; samples: SampleResult[]; stats: QueryStatistics }
  | { resultType: 'scalar'; timestampMs: number; value: number; stats: QueryStatistics }
) & {
  /** Loki's `warnings`: what the answer lacks, e.g. entries of a stored block that could not be read. */
  warnings?: string[];
};

/** A query the user got wrong. Position is 1-based. The API answers 400 with `message`. */
export class QueryError extends Error {
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(message: string, line?: number, column?: number) {
    super(message);
    this.name = 'QueryError';
    this.line = line;
    this.column = column;
  }
}

/** A query that hit a limit (max entries, max series, timeout). */
export class QueryLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryLimitError';
  }
}
