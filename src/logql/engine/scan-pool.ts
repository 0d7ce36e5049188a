// A small pool of scan workers shared by every engine in the process. Big metric scans split their
// persisted blocks into chunks of about CHUNK_RAW_BYTES and hand them to the pool; head blocks (in
// memory, no location) stay on the main thread, which scans them meanwhile.

import { Worker } from 'node:worker_threads';
import type { ObjectStoreConfig } from '../../objstore/open-object-store.ts';
import type { BlockRef } from '../../store/types.ts';
import { QueryError, QueryLimitError } from '../api.ts';
import type { RangeAggregation } from '../syntax/ast.ts';
import type { QueryContext, ScanOffload } from './query-context.ts';
import type { SampleSeries } from './range-aggregation.ts';
import type { SampleScanReply, SampleScanTask } from './scan-worker.ts';

/** Below this much raw text a scan stays on the main thread: worker start and messaging cost more. */
export const PARALLEL_SCAN_MIN_RAW_BYTES = 32 * 1024 * 1024;
/** About 8 blocks of the store's 2 MB target: small enough to balance, big enough to amortise. */
const CHUNK_RAW_BYTES = 16 * 1024 * 1024;

type Pending = { resolve: (reply: SampleScanReply) => void };

class ScanPool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: SampleScanTask[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly busy = new Map<Worker, number>();
  private nextId = 1;

  constructor(size: number) {
    this.size = size;
  }

  run(task: Omit<SampleScanTask, 'id'>): Promise<SampleScanReply> {
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
    worker.on('message', (reply: SampleScanReply) => {
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
  throw new Error(error.message);
}

/** An offload that sends persisted blocks of big scans to `threads` workers. */
export function workerOffload(objectStore: ObjectStoreConfig, threads: number, minRawBytes = PARALLEL_SCAN_MIN_RAW_BYTES): ScanOffload {
  return {
    async samples(context: QueryContext, node: RangeAggregation, baseNs, options, refs: BlockRef[]) {
      const located = refs.filter((ref) => ref.location !== undefined);
      const locatedBytes = located.reduce((sum, ref) => sum + ref.rawBytes, 0);
      if (threads < 2 || located.length === 0 || locatedBytes < minRawBytes) return { remaining: refs, done: Promise.resolve([]) };
      const pool = poolOf(threads);
      const chunks: BlockRef[][] = [];
      let chunk: BlockRef[] = [];
      let chunkBytes = 0;
      for (const ref of located) {
        chunk.push(ref);
        chunkBytes += ref.rawBytes;
        if (chunkBytes >= CHUNK_RAW_BYTES) {
          chunks.push(chunk);
          chunk = [];
          chunkBytes = 0;
        }
      }
      if (chunk.length > 0) chunks.push(chunk);
      const replies = chunks.map((blocks) =>
        pool.run({
          objectStore,
          node,
          baseNs,
          startNs: options.startNs,
          endNs: options.endNs,
          blocks: blocks.map((ref) => ({ location: ref.location!, stream: ref.stream })),
        }),
      );
      const done = (async () => {
        const series: SampleSeries[] = [];
        for (const reply of await Promise.all(replies)) {
          if ('error' in reply) rethrow(reply.error);
          context.stats.blocksRead += reply.stats.blocksRead;
          context.stats.linesProcessed += reply.stats.linesProcessed;
          context.stats.bytesProcessed += reply.stats.bytesProcessed;
          series.push(...reply.series);
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
