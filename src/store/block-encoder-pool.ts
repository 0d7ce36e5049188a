// Encodes blocks on worker threads, so head cuts (zstd + token filters) use another core instead of
// stalling ingest acknowledgements and queries on the main thread. Falls back to encoding inline
// when workers are disabled or cannot start.

import { Worker } from 'node:worker_threads';
import type { BlockColumns } from './block.ts';
import { blockRanges, encodeStreamBlocks, type EncodedBlock } from './block-encoding.ts';
import { sliceColumns } from './block-slice.ts';

/**
 * Raw bytes sent to the workers at once by default (the store's memory.encoder_bytes): a message
 * is a structured-clone copy, and sending a whole stream (tens of MB) doubled a cut's memory.
 */
const DEFAULT_BUDGET_BYTES = 4 * 1024 * 1024;
/**
 * An encoder thread with nothing to do for this long is stopped. An idle one holds ~29 MB of RSS
 * (its own V8 heap and the TypeScript loader; measured on Node 24), which a server that cuts every
 * few minutes paid all the time; starting one again costs a fraction of a second of CPU per cut.
 */
const DEFAULT_IDLE_STOP_MS = 30_000;

interface PendingTask {
  resolve: (blocks: EncodedBlock[]) => void;
  reject: (error: Error) => void;
  /** Encodes the task on the calling thread: what a task does when its worker dies under it. */
  encodeInline: () => void;
}

/** Worker deaths in a row (no reply in between) after which the pool encodes inline for good. */
const MAX_CONSECUTIVE_WORKER_DEATHS = 3;

interface PoolWorker {
  worker: Worker;
  pending: Map<number, PendingTask>;
}

type WorkerReply = { id: number; blocks: EncodedBlock[] } | { id: number; error: string };

export class BlockEncoderPool {
  private readonly workers: PoolWorker[] = [];
  private readonly size: number;
  private readonly budgetBytes: number;
  private readonly idleStopMs: number;
  private idleTimer: NodeJS.Timeout | undefined;
  private nextId = 0;
  private nextWorker = 0;
  private closed = false;
  private consecutiveWorkerDeaths = 0;
  private readonly workerUrl: URL | undefined;

  /**
   * size 0 encodes inline on the calling thread. Threads idle for `idleStopMs` are stopped (started
   * again when needed). `workerUrl` replaces the encoder worker's module (tests start one that dies).
   */
  constructor(size: number, budgetBytes = DEFAULT_BUDGET_BYTES, idleStopMs = DEFAULT_IDLE_STOP_MS, workerUrl?: URL) {
    this.size = size;
    this.workerUrl = workerUrl;
    this.budgetBytes = budgetBytes;
    this.idleStopMs = idleStopMs;
  }

  /** Encoder threads running now. */
  get threads(): number {
    return this.workers.length;
  }

  /** Encodes one stream's columns into blocks, sending at most the budget's worth at a time. */
  async encode(columns: BlockColumns, blockTargetBytes: number): Promise<EncodedBlock[]> {
    if (this.size === 0 || this.closed || this.consecutiveWorkerDeaths >= MAX_CONSECUTIVE_WORKER_DEATHS) return encodeStreamBlocks(columns, blockTargetBytes);
    const encoded: EncodedBlock[] = [];
    const ranges = blockRanges(columns, blockTargetBytes);
    // Bounded: every pass sends at least one block.
    for (let next = 0; next < ranges.length; ) {
      const batch: Array<Promise<EncodedBlock[]>> = [];
      let batchBytes = 0;
      while (next < ranges.length && (batch.length === 0 || batchBytes + rawBytesOf(columns, ranges[next]!) <= this.budgetBytes)) {
        const [first, last] = ranges[next++]!;
        batchBytes += rawBytesOf(columns, [first, last]);
        batch.push(this.encodeOnWorker(sliceColumns(columns, first, last), blockTargetBytes));
      }
      for (const blocks of await Promise.all(batch)) encoded.push(...blocks);
    }
    return encoded;
  }

  private async encodeOnWorker(columns: BlockColumns, blockTargetBytes: number): Promise<EncodedBlock[]> {
    const poolWorker = this.workerFor();
    if (poolWorker === undefined) return encodeStreamBlocks(columns, blockTargetBytes);
    const id = this.nextId++;
    if (this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    return new Promise<EncodedBlock[]>((resolve, reject) => {
      const encodeInline = (): void => {
        try {
          resolve(encodeStreamBlocks(columns, blockTargetBytes));
        } catch (error) {
          reject(error as Error);
        }
      };
      poolWorker.pending.set(id, { resolve, reject, encodeInline });
      poolWorker.worker.ref();
      // A structured clone copies a view's whole ArrayBuffer (here the head's, many blocks long), so
      // copy each column into its own exact-size buffer and move those to the worker instead.
      const lines = new Uint8Array(columns.lines.length);
      lines.set(columns.lines);
      const timestampsNs = columns.timestampsNs.slice();
      const lineEnds = columns.lineEnds.slice();
      const message = { id, columns: { ...columns, lines, timestampsNs, lineEnds }, blockTargetBytes };
      poolWorker.worker.postMessage(message, [lines.buffer as ArrayBuffer, timestampsNs.buffer as ArrayBuffer, lineEnds.buffer as ArrayBuffer]);
    });
  }

  private workerFor(): PoolWorker | undefined {
    while (this.workers.length < this.size) {
      try {
        this.workers.push(this.startWorker());
      } catch {
        return undefined;
      }
    }
    const chosen = this.workers[this.nextWorker % this.workers.length]!;
    this.nextWorker++;
    return chosen;
  }

  private startWorker(): PoolWorker {
    // The default spelled out as `new Worker(new URL(...))`: scripts/command-bundle.mjs bundles workers by that form.
    const worker = this.workerUrl === undefined ? new Worker(new URL('./block-encoder-worker.ts', import.meta.url)) : new Worker(this.workerUrl);
    worker.unref();
    const poolWorker: PoolWorker = { worker, pending: new Map() };
    worker.on('message', (reply: WorkerReply) => {
      const task = poolWorker.pending.get(reply.id);
      if (task === undefined) return;
      poolWorker.pending.delete(reply.id);
      this.consecutiveWorkerDeaths = 0;
      if (poolWorker.pending.size === 0) {
        worker.unref();
        this.stopWhenIdle();
      }
      if ('error' in reply) task.reject(new Error(`block encoder worker: ${reply.error}`));
      else task.resolve(reply.blocks.map((block) => ({ ...block, bytes: Buffer.from(block.bytes.buffer, block.bytes.byteOffset, block.bytes.byteLength) })));
    });
    // A worker that dies (crash, out of memory, a module that fails to load) takes no data with it:
    // the main thread still holds each pending task's columns and encodes them itself, so a cut (and
    // POST /flush) completes. After a few deaths in a row the pool stops starting workers.
    const workerDied = (): void => {
      const index = this.workers.indexOf(poolWorker);
      if (index < 0) return; // stopped on purpose (idle or close): nothing was pending
      this.workers.splice(index, 1); // a fresh worker starts on the next encode
      this.consecutiveWorkerDeaths++;
      const tasks = [...poolWorker.pending.values()];
      poolWorker.pending.clear();
      for (const task of tasks) task.encodeInline();
    };
    worker.on('error', workerDied);
    worker.on('exit', workerDied);
    return poolWorker;
  }

  /** Stops every thread once none has had work for idleStopMs. */
  private stopWhenIdle(): void {
    if (this.idleTimer !== undefined || this.workers.some((poolWorker) => poolWorker.pending.size > 0)) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.workers.some((poolWorker) => poolWorker.pending.size > 0)) return;
      // Removed first, so their exit events find nothing to fail and the next encode starts fresh ones.
      for (const poolWorker of this.workers.splice(0)) void poolWorker.worker.terminate();
    }, this.idleStopMs);
    this.idleTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((poolWorker) => poolWorker.worker.terminate()));
  }
}

function rawBytesOf(columns: BlockColumns, [first, last]: [number, number]): number {
  return columns.lineEnds[last - 1]! - (first === 0 ? 0 : columns.lineEnds[first - 1]!);
}
