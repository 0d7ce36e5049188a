// Batches processed entries by size and age, writes each batch to the disk queue, and lets the sender
// deliver it. This is the one path from every source (file tails, pod logs, a wrapped command) to the
// server, shared by `rankscope agent` and `rankscope run`.

import { formatLabels } from '../push/labels.ts';
import type { Labels } from '../push/types.ts';
import type { ClientAuth, TlsConnectOptions } from './client-credentials.ts';
import { DiskQueue } from './disk-queue.ts';
import { AgentMetrics } from './metrics.ts';
import { PushBodyBuilder } from './push-encoder.ts';
import { pushUrlFor, Sender } from './sender.ts';

export interface ShipperOptions {
  serverUrl: string;
  tenant?: string;
  headers?: Record<string, string>;
  auth?: ClientAuth;
  tls?: TlsConnectOptions;
  timeoutMs?: number;
  batchMaxBytes: number;
  batchMaxWaitMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  queueDir: string;
  queueMaxBytes: number;
  log: (message: string) => void;
}

// Per-entry overhead in a protobuf push (timestamp, field tags, lengths): an upper bound used to
// decide, before adding an entry, whether it still fits the batch.
const ENTRY_OVERHEAD_BYTES = 16;

export class Shipper {
  readonly metrics: AgentMetrics;
  readonly queue: DiskQueue;
  readonly sender: Sender;
  private readonly options: ShipperOptions;
  private readonly batch = new PushBodyBuilder();
  private batchStartedAtMs = 0;
  private readonly batchWrittenListeners: (() => void)[] = [];
  private readonly countQueuedEntries: (by: number) => void;
  private readonly countDroppedEntries: (by: number, labels: Record<string, string>) => void;

  constructor(options: ShipperOptions, metrics = new AgentMetrics()) {
    this.options = options;
    this.metrics = metrics;
    const pushUrl = pushUrlFor(options.serverUrl);
    this.queue = new DiskQueue(options.queueDir, `${pushUrl} tenant=${options.tenant ?? ''}`, options.queueMaxBytes);
    if (this.queue.adoptedBatches > 0) {
      options.log(`adopted ${this.queue.adoptedBatches} queued batches (${this.queue.depthEntries} entries) left by an earlier process`);
    }
    this.sender = new Sender(
      this.queue,
      {
        pushUrl,
        ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
        headers: options.headers ?? {},
        ...(options.auth !== undefined ? { auth: options.auth } : {}),
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
        timeoutMs: options.timeoutMs ?? 10_000,
        minBackoffMs: options.minBackoffMs,
        maxBackoffMs: options.maxBackoffMs,
        log: options.log,
      },
      metrics,
    );
    this.countQueuedEntries = metrics.counter('rankscope_agent_queued_entries_total', 'Entries written to the disk queue.');
    this.countDroppedEntries = metrics.counter('rankscope_agent_dropped_entries_total', 'Entries dropped, by reason.');
    metrics.gauge('rankscope_agent_batch_entries', 'Entries in the batch being built (not on disk yet).', () => [{ labels: {}, value: this.batch.entryCount }]);
    metrics.gauge('rankscope_agent_queue_depth_batches', 'Batches on disk waiting to be sent.', () => [{ labels: {}, value: this.queue.depthBatches }]);
    metrics.gauge('rankscope_agent_queue_depth_entries', 'Entries on disk waiting to be sent.', () => [{ labels: {}, value: this.queue.depthEntries }]);
    metrics.gauge('rankscope_agent_queue_depth_bytes', 'Bytes on disk waiting to be sent.', () => [{ labels: {}, value: this.queue.depthBytes }]);
    this.sender.start();
  }

  /** Called after every batch is on disk: the moment read positions may be committed. */
  onBatchWritten(listener: () => void): void {
    this.batchWrittenListeners.push(listener);
  }

  /**
   * Adds an entry. `streamKey` must identify `labels` (formatLabels(labels) if the caller has no
   * cheaper key). A batch that would grow past the size limit is written out first, so the entry
   * lands in the next batch and positions committed with this batch never cover it.
   */
  add(streamKey: string | undefined, labels: Labels, timestampNs: bigint, line: string, nowMs = Date.now()): void {
    const lineBytes = Buffer.byteLength(line);
    const entryBytes = lineBytes + ENTRY_OVERHEAD_BYTES;
    if (this.batch.entryCount > 0 && this.batch.sizeBytes + entryBytes > this.options.batchMaxBytes) this.flush();
    if (this.batch.entryCount === 0) this.batchStartedAtMs = nowMs;
    this.batch.add(streamKey ?? formatLabels(labels), labels, timestampNs, line, lineBytes);
  }

  /** Writes the batch out when it is older than the batch wait. */
  tick(nowMs = Date.now()): void {
    if (this.batch.entryCount > 0 && nowMs - this.batchStartedAtMs >= this.options.batchMaxWaitMs) this.flush();
  }

  /** Writes the current batch (if any) to the disk queue, then tells listeners and the sender. */
  flush(): void {
    if (this.batch.entryCount > 0) {
      const entries = this.batch.entryCount;
      const body = this.batch.finish();
      if (this.queue.append(body, entries)) this.countQueuedEntries(entries);
      else {
        this.countDroppedEntries(entries, { reason: 'queue_full' });
        this.options.log(`disk queue full (${this.options.queueMaxBytes} bytes): dropped a batch of ${entries} entries`);
      }
    }
    for (const listener of this.batchWrittenListeners) listener();
    this.sender.notify();
  }

  /**
   * Flushes the batch, waits up to `drainTimeoutMs` for the queue to empty, then stops. What is not
   * delivered stays on disk for the next process with the same queue dir.
   */
  async close(drainTimeoutMs: number): Promise<boolean> {
    this.flush();
    const drained = drainTimeoutMs > 0 ? await this.sender.drain(drainTimeoutMs) : this.queue.depthBatches === 0;
    await this.sender.stop();
    this.queue.close();
    return drained;
  }
}
