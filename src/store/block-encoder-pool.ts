// Encodes blocks on worker threads, so head cuts (zstd + token filters) use another core instead of
// stalling ingest acknowledgements and queries on the main thread. Falls back to encoding inline
// when workers are disabled or cannot start.

import { Worker } from 'node:worker_threads';
import type { BlockColumns } from './block.ts';
import { encodeStreamBlocks, type EncodedBlock } from './block-encoding.ts';

interface PendingTask {
  resolve: (blocks: EncodedBlock[]) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, PendingTask>;
}

type WorkerReply = { id: number; blocks: EncodedBlock[] } | { id: number; error: string };

export class BlockEncoderPool {
  private readonly workers: PoolWorker[] = [];
  private readonly size: number;
  private nextId = 0;
  private nextWorker = 0;
  private closed = false;

  /** size 0 encodes inline on the calling thread. */
  constructor(size: number) {
    this.size = size;
  }

  async encode(columns: BlockColumns, blockTargetBytes: number): Promise<EncodedBlock[]> {
    if (this.size === 0 || this.closed) return encodeStreamBlocks(columns, blockTargetBytes);
    const poolWorker = this.workerFor();
    if (poolWorker === undefined) return encodeStreamBlocks(columns, blockTargetBytes);
    const id = this.nextId++;
    return new Promise<EncodedBlock[]>((resolve, reject) => {
      poolWorker.pending.set(id, { resolve, reject });
      poolWorker.worker.ref();
      // Structured clone copies the columns: their buffers may be slices of Node's shared pool.
      poolWorker.worker.postMessage({ id, columns, blockTargetBytes });
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
    const worker = new Worker(new URL('./block-encoder-worker.ts', import.meta.url));
    worker.unref();
    const poolWorker: PoolWorker = { worker, pending: new Map() };
    worker.on('message', (reply: WorkerReply) => {
      const task = poolWorker.pending.get(reply.id);
      if (task === undefined) return;
      poolWorker.pending.delete(reply.id);
      if (poolWorker.pending.size === 0) worker.unref();
      if ('error' in reply) task.reject(new Error(`block encoder worker: ${reply.error}`));
      else task.resolve(reply.blocks.map((block) => ({ ...block, bytes: Buffer.from(block.bytes.buffer, block.bytes.byteOffset, block.bytes.byteLength) })));
    });
    const failAll = (error: Error): void => {
      for (const task of poolWorker.pending.values()) task.reject(error);
      poolWorker.pending.clear();
      const index = this.workers.indexOf(poolWorker);
      if (index >= 0) this.workers.splice(index, 1); // a fresh worker starts on the next encode
    };
    worker.on('error', (error) => failAll(error));
    worker.on('exit', (code) => failAll(new Error(`block encoder worker exited with code ${code}`)));
    return poolWorker;
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((poolWorker) => poolWorker.worker.terminate()));
  }
}
