// A small pool of scan workers shared by every engine in the process. Big metric scans split their
// persisted blocks into chunks of about CHUNK_RAW_BYTES and hand them to the pool; head blocks (in
// memory, no location) stay on the main thread, which scans them meanwhile.

import { Worker } from 'node:worker_threads';
import type { BlockReaderConfig, BlockRef } from '../../store/types.ts';
import { QueryError, QueryLimitError, type QueryStatistics } from '../api.ts';
import type { RangeAggregation } from '../syntax/ast.ts';
import type { QueryContext, ScanOffload } from './query-context.ts';
import type { SampleSeries } from './range-aggregation.ts';
import type { ScanReply, ScanTask } from './scan-worker.ts';
import { largestBlockBytes } from './scan-budget.ts';
import { frameKeyOf } from './frame-order.ts';
import type { Candidate } from './log-query.ts';

/**
 * Below this much raw text a scan stays on the main thread: messaging costs more. 16 MB is ~50 ms of
 * one core at the scan's ~0.3 GB/s, against ~1 ms per chunk of messaging once the pool is warm; at
 * 32 MB, one rank's share of issue 9's 244 MB log (about 30 MB) ran on one core.
 */
export const PARALLEL_SCAN_MIN_RAW_BYTES = 16 * 1024 * 1024;
/** About 8 blocks of the store's 2 MB target: small enough to balance, big enough to amortise. */
const CHUNK_RAW_BYTES = 16 * 1024 * 1024;
/**
 * A smaller scan is cut into this many chunks per worker, so the last chunk does not leave a worker
 * idle: 50 MB as 16+16+16+2 MB on 2 workers finishes after 32 MB of work, as eight 6 MB chunks after 25.
 */
const CHUNKS_PER_WORKER = 4;
/** Chunks never go below one block of the store's target size. */
const MIN_CHUNK_RAW_BYTES = 2 * 1024 * 1024;

type Pending = { resolve: (reply: ScanReply) => void };

class ScanPool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: ScanTask[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly busy = new Map<Worker, number>();
  private nextId = 1;

  constructor(size: number) {
    this.size = size;
  }

  /**
   * Starts every worker at once, when the first scan big enough for them comes (loading the engine's
   * modules takes 0.5–2 s of a busy machine). Not at engine creation: each idle worker holds ~25 MB
   * of RSS, which a server that only ingests should not pay. Idle workers are unref'd: they never
   * keep a process alive.
   */
  warm(): void {
    while (this.workers.length < this.size) {
      const worker = this.spawn();
      this.idle.push(worker);
      worker.unref();
    }
  }

  run(task: ScanTask): Promise<ScanReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      this.queue.push({ ...task, id });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop();
      if (!worker && this.workers.length < this.size) worker = this.spawn();
      if (!worker) return;
      const task = this.queue.shift()!;
      this.busy.set(worker, task.id);
      // A busy worker keeps the process alive until it answers; an idle one must not.
      worker.ref();
      worker.postMessage(task);
    }
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./scan-worker.ts', import.meta.url));
    worker.on('message', (reply: ScanReply) => {
      this.busy.delete(worker);
      this.idle.push(worker);
      worker.unref();
      const pending = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      pending?.resolve(reply);
      this.pump();
    });
    worker.on('error', (error) => this.retire(worker, error));
    worker.on('exit', () => this.retire(worker, new Error('scan worker exited')));
    this.workers.push(worker);
    return worker;
  }

  /** A crashed worker fails its task (not the process) and is replaced on demand. */
  private retire(worker: Worker, error: Error): void {
    const index = this.workers.indexOf(worker);
    if (index < 0) return;
    this.workers.splice(index, 1);
    const idleIndex = this.idle.indexOf(worker);
    if (idleIndex >= 0) this.idle.splice(idleIndex, 1);
    const taskId = this.busy.get(worker);
    this.busy.delete(worker);
    if (taskId !== undefined) {
      const pending = this.pending.get(taskId);
      this.pending.delete(taskId);
      pending?.resolve({ id: taskId, error: { name: 'Error', message: `scan worker failed: ${error.message}` } });
    }
    this.pump();
  }
}

const pools = new Map<number, ScanPool>();

function poolOf(size: number): ScanPool {
  let pool = pools.get(size);
  if (!pool) {
    pool = new ScanPool(size);
    pools.set(size, pool);
  }
  return pool;
}

function rethrow(error: { name: string; message: string }): never {
  if (error.name === 'QueryError') throw new QueryError(error.message);
  if (error.name === 'QueryLimitError') throw new QueryLimitError(error.message);
  // Keep the name (a corrupt block's BlockDecodeError, say) for the log.
  const failure = new Error(error.message);
  failure.name = error.name;
  throw failure;
}

function addStats(context: QueryContext, stats: QueryStatistics, warnings: readonly string[]): void {
  context.stats.blocksRead += stats.blocksRead;
  context.stats.linesProcessed += stats.linesProcessed;
  context.stats.bytesProcessed += stats.bytesProcessed;
  for (const warning of warnings) context.warnings.add(warning);
}

/** An offload that sends persisted blocks of big scans to `threads` workers. */
export function workerOffload(blockReader: BlockReaderConfig, threads: number, minRawBytes = PARALLEL_SCAN_MIN_RAW_BYTES): ScanOffload {
  const worthIt = (refs: BlockRef[]) => {
    let locatedBytes = 0;
    let located = 0;
    for (const ref of refs) {
      if (ref.location === undefined) continue;
      located++;
      locatedBytes += ref.rawBytes;
    }
    const worth = threads > 1 && located > 0 && locatedBytes >= minRawBytes;
    if (worth) poolOf(threads).warm();
    return worth;
  };
  const describe = (refs: BlockRef[]) => refs.map((ref) => ({ location: ref.location!, stream: ref.stream }));
  return {
    threads,
    worthIt,
    async logs(context, expr, options, refs): Promise<Candidate[]> {
      const release = await context.holdScanBytes(largestBlockBytes(refs));
      const reply = await poolOf(threads)
        .run({ kind: 'logs', id: 0, blockReader, expr, options, blocks: describe(refs) })
        .finally(release);
      if ('error' in reply) rethrow(reply.error);
      addStats(context, reply.stats, reply.warnings);
      return 'candidates' in reply ? reply.candidates : [];
    },
    async samples(context: QueryContext, node: RangeAggregation, baseNs, stepsNs, options, refs: BlockRef[]) {
      if (!worthIt(refs)) return { remaining: refs, done: Promise.resolve([]) };
      const located = refs.filter((ref) => ref.location !== undefined);
      const pool = poolOf(threads);
      const locatedBytes = located.reduce((sum, ref) => sum + ref.rawBytes, 0);
      const chunkTargetBytes = Math.max(MIN_CHUNK_RAW_BYTES, Math.min(CHUNK_RAW_BYTES, Math.ceil(locatedBytes / (threads * CHUNKS_PER_WORKER))));
      const chunks: BlockRef[][] = [];
      let chunk: BlockRef[] = [];
      let chunkBytes = 0;
      // A stream group's shared frame is decompressed once per worker that reads one of its members
      // (store/part-reader.ts), so a chunk never ends between members of one frame.
      for (let i = 0; i < located.length; i++) {
        const ref = located[i]!;
        chunk.push(ref);
        chunkBytes += ref.rawBytes;
        const frame = frameKeyOf(ref);
        if (chunkBytes >= chunkTargetBytes && (frame === undefined || frame !== frameKeyOf(located[i + 1]))) {
          chunks.push(chunk);
          chunk = [];
          chunkBytes = 0;
        }
      }
      if (chunk.length > 0) chunks.push(chunk);
      const replies = chunks.map(async (blocks) => {
        const release = await context.holdScanBytes(largestBlockBytes(blocks));
        return pool.run({ kind: 'samples', id: 0, blockReader, node, baseNs, stepsNs, startNs: options.startNs, endNs: options.endNs, blocks: describe(blocks) }).finally(release);
      });
      const done = (async () => {
        const series: SampleSeries[] = [];
        for (const reply of await Promise.all(replies)) {
          if ('error' in reply) rethrow(reply.error);
          addStats(context, reply.stats, reply.warnings);
          if ('series' in reply) series.push(...reply.series);
        }
        context.checkDeadline();
        return series;
      })();
      // Keep an unhandled rejection from surfacing before the caller awaits `done`.
      done.catch(() => undefined);
      return { remaining: refs.filter((ref) => ref.location === undefined), done };
    },
  };
}
