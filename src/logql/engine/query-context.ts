// What one query evaluation carries: the source, limits, deadline and statistics.

import type { QueryStatistics } from '../api.ts';
import { QueryLimitError } from '../api.ts';
import type { LogSource } from '../../store/types.ts';

export interface EngineLimits {
  timeoutMs: number;
  maxEntriesLimitPerQuery: number;
  maxQuerySeries: number;
}

export class QueryContext {
  readonly source: LogSource;
  readonly tenant: string;
  readonly limits: EngineLimits;
  readonly deadlineMs: number;
  readonly signal: AbortSignal | undefined;
  readonly stats: QueryStatistics = { bytesProcessed: 0, linesProcessed: 0, blocksRead: 0, blocksSkipped: 0, execTimeSeconds: 0 };

  constructor(source: LogSource, tenant: string, limits: EngineLimits, signal?: AbortSignal) {
    this.source = source;
    this.tenant = tenant;
    this.limits = limits;
    this.deadlineMs = Date.now() + limits.timeoutMs;
    this.signal = signal;
  }

  /** Throws when the query ran past its timeout or was cancelled. Called between blocks. */
  checkDeadline(): void {
    if (this.signal?.aborted) throw new QueryLimitError('query cancelled');
    if (Date.now() > this.deadlineMs) {
      throw new QueryLimitError(`query timed out after ${this.limits.timeoutMs / 1000}s (query_timeout)`);
    }
  }

  checkSeries(count: number): void {
    if (count > this.limits.maxQuerySeries) {
      throw new QueryLimitError(`maximum of series (${this.limits.maxQuerySeries}) reached for a single query`);
    }
  }
}
