// What one query evaluation carries: the source, limits, deadline and statistics.

import type { QueryStatistics } from '../api.ts';
import { QueryLimitError } from '../api.ts';
import type { BlockData, BlockRef, LogSource } from '../../store/types.ts';
import type { LogExpr, RangeAggregation } from '../syntax/ast.ts';
import type { Candidate, LogScanOptions, SampleSeries } from './scan-types.ts';
import type { ScanBudget } from './scan-budget.ts';

/** Loki's answer to a query that ran past query_timeout. */
export const QUERY_TIMEOUT_MESSAGE =
  'request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed';

/**
 * A scan on the main thread gives the event loop back after holding it this long, so pushes and
 * health checks interleave with it. Head blocks load without I/O, so without this a scan of a 64 MB
 * head never left the microtask queue: /ready p99 was 0.4 s and push p99 0.8 s under 2 query clients
 * (bench/query-isolation-bench.ts). A yield costs ~0.05 ms; every 10 ms is 0.5 % of the scan.
 */
const YIELD_AFTER_MS = 10;
/** Shared by every query on this thread: what matters is how long the loop went without a turn. */
let lastYieldMs = performance.now();

export interface EngineLimits {
  timeoutMs: number;
  maxEntriesLimitPerQuery: number;
  maxQuerySeries: number;
}

/** Moves part of a scan to worker threads; returns the blocks left for the main thread. */
export interface ScanOffload {
  threads: number;
  /** Whether a scan over these blocks is big enough to be worth the workers. */
  worthIt(refs: BlockRef[]): boolean;
  /** Scans one chunk of persisted blocks of a log query in a worker. */
  logs(context: QueryContext, expr: LogExpr, options: LogScanOptions, refs: BlockRef[]): Promise<Candidate[]>;
  samples(
    context: QueryContext,
    node: RangeAggregation,
    baseNs: bigint,
    stepsNs: bigint[],
    options: { startNs: bigint; endNs: bigint },
    refs: BlockRef[],
  ): Promise<{ remaining: BlockRef[]; done: Promise<SampleSeries[]> }>;
}

function releaseNothing(): void {}

export class QueryContext {
  /** Set when big scans may use worker threads. */
  offload: ScanOffload | undefined;
  /** The process's byte budget for decoded blocks (store.memory.scan_bytes), shared by all queries. */
  scanBudget: ScanBudget | undefined;
  readonly source: LogSource;
  readonly tenant: string;
  readonly limits: EngineLimits;
  readonly deadlineMs: number;
  readonly signal: AbortSignal | undefined;
  readonly stats: QueryStatistics = { bytesProcessed: 0, linesProcessed: 0, blocksRead: 0, blocksSkipped: 0, execTimeSeconds: 0 };
  /** The answer's warnings (Loki's `warnings`), in the order first seen. */
  readonly warnings = new Set<string>();

  constructor(source: LogSource, tenant: string, limits: EngineLimits, signal?: AbortSignal) {
    this.source = source;
    this.tenant = tenant;
    this.limits = limits;
    this.deadlineMs = Date.now() + limits.timeoutMs;
    this.signal = signal;
  }

  /** Throws when the query ran past its timeout or was cancelled. Called between blocks. */
  checkDeadline(): void {
    if (this.signal?.aborted) {
      const reason: unknown = this.signal.reason;
      throw reason instanceof Error && reason.name !== 'AbortError' && reason.name !== 'TimeoutError' ? reason : new QueryLimitError(QUERY_TIMEOUT_MESSAGE);
    }
    if (Date.now() > this.deadlineMs) throw new QueryLimitError(QUERY_TIMEOUT_MESSAGE);
  }

  /** Checks the deadline and, once the thread has been held YIELD_AFTER_MS, lets other work run. */
  async pause(): Promise<void> {
    this.checkDeadline();
    if (performance.now() - lastYieldMs < YIELD_AFTER_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    lastYieldMs = performance.now();
    this.checkDeadline();
  }

  /**
   * Holds `bytes` of the scan budget while blocks of that raw size are loaded and scanned; the result
   * gives them back. Without a budget it returns at once.
   */
  async holdScanBytes(bytes: number): Promise<() => void> {
    if (this.scanBudget === undefined) return releaseNothing;
    return this.scanBudget.acquire(bytes, this);
  }

  /** Records the warnings of loaded blocks the store could not read (they load empty). */
  noteUnreadable(blocks: readonly BlockData[]): void {
    for (const block of blocks) if (block.unreadable !== undefined) for (const message of block.unreadable) this.warnings.add(message);
  }

  checkSeries(count: number): void {
    if (count > this.limits.maxQuerySeries) {
      throw new QueryLimitError(`maximum of series (${this.limits.maxQuerySeries}) reached for a single query`);
    }
  }
}
