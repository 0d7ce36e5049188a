// One partition, on the replica that holds its lease: a store over the partition's prefix of the
// shared object store (local disk holds only its scratch WAL, wiped on takeover), fed from the
// cluster WAL from the manifest's committed sequence on. Every commit interval the heads are cut into
// parts and the manifest records the sequence they cover; a new owner replays from there, and the
// entries it replays twice are exact duplicates the store drops. Queries for the partition are
// answered here (owner-queries.ts).

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectStore, ObjectStoreConfig } from '../objstore/object-store.ts';
import { openObjectStore } from '../objstore/open-object-store.ts';
import type { StoreOptions } from '../store/config.ts';
import { openStore } from '../store/store.ts';
import type { LogStore } from '../store/types.ts';
import { openTsdb, type Tsdb, type TsdbOptions } from '../tsdb/tsdb.ts';
import { fencedObjectStore } from './fenced-object-store.ts';
import { decodeMetricBatch, isMetricBatch } from './metric-batch.ts';
import type { PartitionMetrics } from './metric-queries.ts';
import { decodePushBatch } from './push-batch.ts';
import { partitionObjectStoreConfig, readManifest, writeManifest } from './partition-store.ts';
import type { Wal, WalBatch, WalReader } from './wal.ts';

export interface PartitionOwnerOptions {
  partition: number;
  replicaId: string;
  wal: Wal;
  /** The shared object store (manifests) and its config (the partition's store opens a prefix of it). */
  objectStore: ObjectStore;
  objectStoreConfig: ObjectStoreConfig;
  /** Local scratch directory for the partition's store; emptied on start. */
  localDir: string;
  /** Head, block and retention settings from the server config. */
  storeOptions: StoreOptions;
  commitIntervalMs: number;
  /** Metrics settings from the server config (tsdb.enabled); the WAL directory and object store are the owner's. */
  tsdbOptions?: Omit<TsdbOptions, 'walDirectory' | 'objectStore'>;
  /** Samples the partition's TSDB refused (out of order, too old, duplicate), counted: the push was acknowledged before. */
  onSamplesRejected?(count: number): void;
  /** Whether the lease is still ours; a manifest is written only while it is. */
  holdsLease(): boolean;
  onError(error: Error): void;
  /** The WAL reader stopped on an error (the head no longer follows the WAL): the partition must be given up. */
  onReadFailed(error: Error): void;
}

/** How often a read barrier looks again while the owner applies what it was handed. */
const BARRIER_POLL_MS = 2;
/** A head cut interval no owner reaches: heads are cut by commit() (or the head's sample limit). */
const HEAD_CUT_AT_COMMITS_ONLY_MS = 365 * 24 * 3_600_000;
/** A reader behind the partition's newest sequence without progress for this long is replaced: below a read barrier's deadline (request_timeout / 2), so queries wait instead of failing. */
const READER_STALL_MS = 2500;
const READER_STALL_CHECK_MS = 500;
/** How long a stop waits for the WAL reader to finish its batch and leave. */
const READER_STOP_TIMEOUT_MS = 10_000;

/** The promise's value, or an error once `deadlineMs` passes. */
function withDeadline<T>(promise: Promise<T>, deadlineMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('deadline passed')), Math.max(0, deadlineMs - Date.now()));
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export class PartitionOwner {
  readonly partition: number;
  private appliedSeq: number;
  private committedSeq: number;
  private reader: WalReader | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private committing: Promise<void> | undefined;
  private stopped = false;
  private lastMaintenanceMs = Date.now();
  /** The partition's newest sequence when this ownership began: queries wait until it is applied. */
  private catchUpToSeq = 0;
  /** When the last batch was applied (or the ownership began): a catch-up without progress is stuck. */
  private lastProgressMs = Date.now();
  /** The newest partition sequence a barrier or the catch-up learned of: a reader behind it should move. */
  private knownTargetSeq = 0;
  private behindSinceMs = Date.now();
  private readerGeneration = 0;
  private lastReaderStartMs = Date.now();
  private applyChain: Promise<void> = Promise.resolve();
  /** Since when read barriers fail without a success in between (undefined while they succeed). */
  private barrierFailingSinceMs: number | undefined;
  private readonly caughtUpWaiters: Array<() => void> = [];

  private readonly options: PartitionOwnerOptions;
  readonly store: LogStore;
  /** The partition's metrics, when the server keeps metrics. */
  readonly tsdb: Tsdb | undefined;
  /** Smallest sample timestamp applied since the running (or last) head cut began. */
  private pendingMinMs = Infinity;
  /** Smallest sample timestamp of the head cut in progress, until its blocks are durable. */
  private flushingMinMs = Infinity;

  private constructor(options: PartitionOwnerOptions, store: LogStore, tsdb: Tsdb | undefined, committedSeq: number) {
    this.options = options;
    this.store = store;
    this.tsdb = tsdb;
    this.partition = options.partition;
    this.appliedSeq = committedSeq;
    this.committedSeq = committedSeq;
  }

  static async start(options: PartitionOwnerOptions): Promise<PartitionOwner> {
    // The scratch WAL of an earlier ownership is stale: the cluster WAL is the truth.
    await rm(options.localDir, { recursive: true, force: true });
    const manifest = await readManifest(options.objectStore, options.partition);
    const store = await openStore({
      ...options.storeOptions,
      dataDir: options.localDir,
      walFsync: false,
      objectStore: partitionObjectStoreConfig(options.objectStoreConfig, options.partition),
      // Compaction runs from the commit loop, under this partition's lease; retention runs on the
      // store's own timer, which only the owner's store has.
      compactionIntervalMs: 0,
      encoderThreads: 0,
    });
    let tsdb: Tsdb | undefined;
    if (options.tsdbOptions !== undefined) {
      const partitionStore = openObjectStore(partitionObjectStoreConfig(options.objectStoreConfig, options.partition));
      try {
        tsdb = await openTsdb({
          ...options.tsdbOptions,
          walDirectory: join(options.localDir, 'tsdb-wal'),
          objectStore: fencedObjectStore(partitionStore, () => options.holdsLease(), `partition ${options.partition} metrics`),
          ownsObjectStore: true,
          fsync: false,
          // The head is cut at commits only, so the owner knows which samples blocks hold (coverFromMs).
          headCutIntervalMs: HEAD_CUT_AT_COMMITS_ONLY_MS,
          onError: options.onError,
        });
      } catch (error) {
        await partitionStore.close();
        await store.close();
        throw error;
      }
    }
    const owner = new PartitionOwner(options, store, tsdb, manifest?.committedSeq ?? 0);
    owner.catchUpToSeq = await options.wal.lastSeq(options.partition);
    owner.knownTargetSeq = owner.catchUpToSeq;
    owner.startReader(owner.committedSeq + 1);
    owner.timers.push(setInterval(() => void owner.commit().catch((error: unknown) => options.onError(error as Error)), options.commitIntervalMs).unref());
    owner.timers.push(setInterval(() => owner.restartReaderIfStalled(), READER_STALL_CHECK_MS).unref());
    return owner;
  }

  /**
   * How long this owner has been unable to serve: a catch-up after a takeover that applies nothing,
   * or read barriers that keep failing (its WAL reader lost its consumer). 0 while healthy.
   */
  unhealthyForMs(nowMs: number): number {
    const stalledMs = this.appliedSeq >= this.catchUpToSeq ? 0 : nowMs - this.lastProgressMs;
    const barrierMs = this.barrierFailingSinceMs === undefined ? 0 : nowMs - this.barrierFailingSinceMs;
    return Math.max(stalledMs, barrierMs);
  }

  /** The last WAL sequence applied to the head; queries see everything up to it. */
  get appliedSequence(): number {
    return this.appliedSeq;
  }

  /** A reader from `fromSeq`; batches go through one chain, so an old reader and its successor never apply at once. */
  private startReader(fromSeq: number): void {
    const generation = ++this.readerGeneration;
    this.lastReaderStartMs = Date.now();
    this.reader = this.options.wal.read(
      this.options.partition,
      fromSeq,
      (batch) => {
        if (generation !== this.readerGeneration) return Promise.resolve();
        const applied = this.applyChain.then(() => this.apply(batch));
        this.applyChain = applied.catch(() => undefined);
        return applied;
      },
      (error) => {
        if (generation === this.readerGeneration) this.options.onReadFailed(error);
      },
    );
  }

  /**
   * A reader whose consumer sat on a NATS node that died can stay silent although the partition has
   * newer batches (measured: queries failed 9-13 s after a node kill until the owner gave up).
   * Behind a known target and without progress for READER_STALL_MS, the reader is replaced by one
   * starting after the last applied batch; the old one is stopped without waiting for it.
   */
  private restartReaderIfStalled(): void {
    const nowMs = Date.now();
    if (this.stopped || this.appliedSeq >= this.knownTargetSeq) return;
    if (nowMs - Math.max(this.lastProgressMs, this.behindSinceMs, this.lastReaderStartMs) < READER_STALL_MS) return;
    const stale = this.reader;
    this.options.onError(new Error(`partition ${this.partition}: the WAL reader made no progress for ${nowMs - this.lastProgressMs} ms at sequence ${this.appliedSeq} of ${this.knownTargetSeq}; starting a new one`));
    this.startReader(this.appliedSeq + 1);
    void stale?.stop().catch(() => undefined);
  }

  private async apply(batch: WalBatch): Promise<void> {
    if (batch.seq <= this.appliedSeq) return;
    if (isMetricBatch(batch.payload)) await this.applyMetrics(batch.payload);
    else {
      const { tenant, streams } = decodePushBatch(batch.payload);
      await this.store.append(tenant, streams);
    }
    this.appliedSeq = batch.seq;
    this.lastProgressMs = Date.now();
    if (this.appliedSeq >= this.catchUpToSeq) for (const resolve of this.caughtUpWaiters.splice(0)) resolve();
  }

  private async applyMetrics(payload: Uint8Array): Promise<void> {
    const { tenant, series } = decodeMetricBatch(payload);
    if (this.tsdb === undefined) {
      this.options.onError(new Error(`partition ${this.partition}: a metrics batch arrived but this replica keeps no metrics (tsdb.enabled: false); dropped`));
      return;
    }
    for (const entry of series) for (const sample of entry.samples) if (sample.timestampMs < this.pendingMinMs) this.pendingMinMs = sample.timestampMs;
    const { rejected } = await this.tsdb.append(tenant, series);
    if (rejected.length > 0) this.options.onSamplesRejected?.(rejected.length);
  }

  /** The partition's metrics as owner queries read them (metric-queries.ts). */
  metrics(): PartitionMetrics | undefined {
    const tsdb = this.tsdb;
    if (tsdb === undefined) return undefined;
    return {
      select: (tenant, query) => tsdb.select(tenant, query),
      series: (tenant, matcherSets, startMs, endMs) => tsdb.series(tenant, matcherSets, startMs, endMs),
      blockMetas: () => tsdb.blockMetas(),
      coverFromMs: () => Math.min(this.pendingMinMs, this.flushingMinMs),
      exemplars: (tenant, matcherSets, startMs, endMs) => tsdb.exemplars(tenant, matcherSets, startMs, endMs),
    };
  }

  /**
   * Resolves once every batch the WAL acknowledged before this call is applied (a read barrier: a
   * query answered after it sees every push acknowledged before the query). Throws at the deadline.
   */
  async readBarrier(deadlineMs: number): Promise<void> {
    // The partition's newest sequence, asked once (the stream's leader answers; a NATS node that just
    // died is waited out up to the deadline), then the wait is local: no question per poll, and none
    // to the consumer, which may sit on the dead node while the reader recreates it.
    let targetSeq: number | undefined;
    let lastError: Error | undefined;
    for (;;) {
      if (targetSeq === undefined) {
        try {
          targetSeq = await withDeadline(this.options.wal.lastSeq(this.partition), deadlineMs);
          if (targetSeq > this.knownTargetSeq) {
            // Behind from now on (not since the last batch applied, which may be long ago when idle).
            if (this.appliedSeq >= this.knownTargetSeq) this.behindSinceMs = Date.now();
            this.knownTargetSeq = targetSeq;
          }
        } catch (error) {
          lastError = error as Error;
        }
      }
      if (targetSeq !== undefined && this.appliedSeq >= targetSeq) {
        this.barrierFailingSinceMs = undefined;
        return;
      }
      if (this.stopped) throw new Error(`partition ${this.partition} is being handed over`);
      if (Date.now() >= deadlineMs) {
        this.barrierFailingSinceMs ??= Date.now();
        throw new Error(`partition ${this.partition} did not catch up with the WAL in time${lastError === undefined ? ` (applied ${this.appliedSeq} of ${targetSeq})` : ` (${lastError.message})`}`);
      }
      await new Promise((resolve) => setTimeout(resolve, BARRIER_POLL_MS));
    }
  }

  /** Resolves once the owner holds everything the WAL held for the partition when it took over. */
  caughtUp(): Promise<void> {
    if (this.appliedSeq >= this.catchUpToSeq) return Promise.resolve();
    return new Promise((resolve) => this.caughtUpWaiters.push(resolve));
  }

  /** Cuts the heads into parts and records the sequence they cover. One commit runs at a time. */
  commit(): Promise<void> {
    this.committing ??= this.runCommit().finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  private async runCommit(): Promise<void> {
    const seq = this.appliedSeq;
    if (seq > this.committedSeq) {
      await this.store.flush();
      if (this.tsdb !== undefined) await this.flushMetrics();
      if (!this.options.holdsLease()) return;
      await writeManifest(this.options.objectStore, { partition: this.partition, committedSeq: seq, owner: this.options.replicaId, committedAtMs: Date.now() });
      this.committedSeq = seq;
    }
    const maintenanceMs = this.options.storeOptions.compactionIntervalMs;
    if (!this.stopped && maintenanceMs > 0 && Date.now() - this.lastMaintenanceMs >= maintenanceMs && this.options.holdsLease()) {
      this.lastMaintenanceMs = Date.now();
      await this.store.compact();
    }
  }

  private async flushMetrics(): Promise<void> {
    // Samples applied from here on are the next cut's; until this cut's blocks are durable, its
    // samples are still the owner's to answer.
    this.flushingMinMs = Math.min(this.flushingMinMs, this.pendingMinMs);
    this.pendingMinMs = Infinity;
    try {
      await this.tsdb!.flush();
    } catch (error) {
      this.pendingMinMs = Math.min(this.pendingMinMs, this.flushingMinMs);
      throw error;
    } finally {
      this.flushingMinMs = Infinity;
    }
  }

  /**
   * Stops reading. With `commit`, cuts and records what was read first (a graceful hand-over: the
   * next owner starts at once from the manifest). Closing the store writes its heads either way.
   */
  async stop(commit: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const resolve of this.caughtUpWaiters.splice(0)) resolve();
    for (const timer of this.timers) clearInterval(timer);
    // A reader stuck on an unreachable NATS node must not hold the hand-over up forever.
    if (this.reader !== undefined && !(await withDeadline(this.reader.stop().then(() => true), Date.now() + READER_STOP_TIMEOUT_MS).catch(() => false))) {
      this.options.onError(new Error(`partition ${this.partition}: the WAL reader did not stop within ${READER_STOP_TIMEOUT_MS} ms; closing anyway`));
    }
    if (this.committing !== undefined) await this.committing.catch(() => undefined);
    if (commit) await this.commit();
    try {
      // After a lost lease the fenced object store refuses the final cut's writes; the WAL has them.
      await this.tsdb?.close().catch((error: unknown) => this.options.onError(error as Error));
    } finally {
      await this.store.close();
    }
  }
}
