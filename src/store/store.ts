// The store: WAL → per-stream head → immutable parts in day partitions, behind the LogStore contract.
// Structural changes (cuts, compaction, retention) run one at a time; appends and queries run beside
// them. See DESIGN.md "Storage recipe" for the model.

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { openObjectStore } from '../objstore/open-object-store.ts';
import { RawLineEntry } from '../push/raw-line-entry.ts';
import { rawColumnsOf, type RawStreamColumns } from '../push/raw-push-stream.ts';
import type { ObjectStore } from '../objstore/object-store.ts';
import { sliceColumns } from './block-slice.ts';
import { BlockEncoderPool } from './block-encoder-pool.ts';
import { planCompaction, runCompaction } from './compaction.ts';
import type { StoreOptions } from './config.ts';
import { StreamHead } from './head.ts';
import { compileMatcher, type CompiledMatcher } from './label-matcher.ts';
import { LabelIndex } from './label-index.ts';
import { dayOfNs, NS_PER_DAY, labelIndexKey, parseObjectKey, partDataKey, partIndexKey, TENANTS_PREFIX, type ParsedKey } from './object-keys.ts';
import { PartIndexError, type BlockMeta, type PartMeta } from './part-index.ts';
import { PartBuilder, type PartGroupMember } from './part-writer.ts';
import { groupItems, NO_STREAM_GROUPING, sliceMember, streamGroupKey, type StreamGrouping } from './stream-group.ts';
import { blockLocation, readPartIndex } from './part-reader.ts';
import { blockReaderOver, unreadablePartBlock, type BlockReader } from './block-reader.ts';
import { mergeBlockData } from './block-merge.ts';
import { Partition } from './partition.ts';
import { deletePartitionObjects, expiredPartitions, retentionCutoffNs } from './retention.ts';
import { streamFingerprint, streamId } from './stream-id.ts';
import { LabelInterner, StreamTable, type TableItem } from './stream-table.ts';
import { mayContain } from './token-filter.ts';
import { releaseOwnedMemory } from './owned-buffer.ts';
import type {
  AppendOptions,
  AppendStream,
  BlockQuery,
  BlockReaderConfig,
  BlockRef,
  IndexStats,
  LabelMatcher,
  LogStore,
  PushEntry,
  StoreMetrics,
  StreamInfo,
} from './types.ts';
import { Wal, type DurableRecord, type WriteHealth } from './wal.ts';
import { MAX_WAL_PAIRS, type WalRecord } from './wal-record.ts';

export type { StoreOptions } from './config.ts';

/**
 * Parts below this raw size (and below half a size-triggered head cut) are merged by compaction.
 * Parts from size-triggered cuts already hold full blocks, so re-encoding them would spend CPU for
 * little gain; the small parts from age-triggered cuts, shutdowns and many-stream heads are the
 * ones with small blocks worth merging.
 */
const SMALL_PART_BYTES = 256 * 1024 * 1024;
/** One compaction merges at most this much raw data (memory is bounded per stream, not by this). */
const MAX_MERGE_BYTES = 1024 * 1024 * 1024;
/**
 * One compaction merges at most this many raw bytes of any one stream: it holds that stream's
 * entries decoded, merged and re-encoded at once. Unbounded, the 1 GB bench log's first compaction
 * merged ~60 MB per stream and took the server from ~205 to 540-610 MB RSS (bench/server-rss-ab.ts
 * --size-mb 1024); 8 MB keeps that spike near 3 x 8 MB.
 */
const MAX_STREAM_MERGE_BYTES = 8 * 1024 * 1024;
/** Replaced parts stay readable this long, so queries that already picked their blocks finish. */
const DELETE_GRACE_MS = 30_000;
/** Backpressure: appends wait for the running cut when the head exceeds this many cut sizes. */
const HEAD_BACKPRESSURE_FACTOR = 2;
/**
 * Streams with fewer raw bytes than this in a cut are encoded on the main thread: below it, posting
 * to the encoder thread and back costs more than the encoding (tiny blocks skip zstd).
 */
const INLINE_ENCODE_MAX_BYTES = 64 * 1024;
/**
 * A cut copies each head's lines into one reused buffer up to this size, instead of a new buffer
 * per head: malloc returned each freed one to the kernel, and the next head's copy faulted in fresh
 * zeroed pages, about half the server's page faults on the 244 MB bench log (perf -e page-faults).
 * The buffer is freed after a full cut (POST /flush, the age cut); the budget cuts that run all
 * through heavy ingest keep it. Larger heads get a buffer of their own, as before.
 */
const MAX_CUT_LINES_BUFFER_BYTES = 8 * 1024 * 1024;
/** The reused buffer grows in these steps, so heads of about the same size fit the one before. */
const CUT_LINES_BUFFER_STEP_BYTES = 256 * 1024;
/** Cuts working on the main thread give the event loop back this often. */
const CUT_YIELD_INTERVAL_MS = 10;
/**
 * A stream group's shared frame holds about this many block targets of raw lines (4 MB by default).
 * On 48 MB of the 8-rank log, 8 and 16 MB frames stored the same (7.77% of raw, 4 KB slices); on
 * the 244 MB log through the server 4 MB frames stored 9.36% against 9.31% with 8 MB. A read of one
 * member decompresses its whole frame, and a cut builds each frame in one buffer: no larger.
 */
const FRAME_BLOCKS = 2;
/** How many part indexes open() loads at once. */
const OPEN_CONCURRENCY = 8;
const FSYNC_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export async function openStore(options: StoreOptions): Promise<LogStore> {
  return DiskLogStore.open(options);
}

interface PendingDelete {
  keys: string[];
  notBeforeMs: number;
}

interface PreparedLiteral {
  bytes: Buffer;
  caseInsensitive: boolean;
}

export class DiskLogStore implements LogStore {
  private readonly options: StoreOptions;
  private readonly streamGrouping: StreamGrouping;
  readonly objectStore: ObjectStore;
  private readonly blockReader: BlockReader;
  private readonly encoder: BlockEncoderPool;
  private wal!: Wal;
  /** tenant → day → partition. */
  private readonly partitions = new Map<string, Map<number, Partition>>();
  /**
   * The streams cut by the last cuts, so a stream that keeps pushing across a cut is not hashed
   * again. Replaced at every full cut: a map of every stream ever seen grew without bound with
   * churning pods, and cost a map entry per stream (and WAL replay time) on top of `heads`.
   */
  private recentStreams = new StreamTable<TableItem>();
  private heads = new StreamTable<StreamHead>();
  private readonly interner = new LabelInterner();
  /**
   * The partition the last noted entries fell in: the streams of one push (and of a replay) mostly
   * share one day, and finding it costs a BigInt division and two map lookups per stream. Forgotten
   * when a partition is dropped.
   */
  private lastNotedPartition: Partition | undefined;
  /** The highest WAL seq any part held at open: replayed records above it skip the persisted check. */
  private maxPersistedSeq = -1n;
  private headBytes = 0;
  /** Raw bytes of the head generations being cut (still in memory until their parts are written). */
  private cuttingBytes = 0;
  /** Head generations being written into parts; still visible to queries until registered. */
  private readonly cutting: StreamHead[][] = [];
  /** The buffer cuts copy heads' lines into (MAX_CUT_LINES_BUFFER_BYTES). */
  private cutLines: Buffer | undefined;
  /** The buffer cuts build stream groups' frames in (cutFrameBuffer). */
  private cutFrame: Buffer | undefined;
  private structureChain: Promise<unknown> = Promise.resolve();
  private flushInFlight: Promise<void> | undefined;
  private readonly pendingDeletes: PendingDelete[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;
  private readonly fsyncBucketCounts = new Array<number>(FSYNC_BUCKETS_SECONDS.length).fill(0);
  private fsyncCount = 0;
  private fsyncSumSeconds = 0;
  /** Per tenant: entries dropped as exact duplicates of entries already held (head or compaction). */
  private readonly duplicatesDropped = new Map<string, number>();

  private constructor(options: StoreOptions, objectStore: ObjectStore) {
    this.options = options;
    this.streamGrouping = options.streamGrouping ?? NO_STREAM_GROUPING;
    this.objectStore = objectStore;
    this.blockReader = blockReaderOver(objectStore);
    // On one or two cores the thread only adds copies and its own heap: on the 244 MB bench log (2
    // cores) encoding inline took the same CPU (9.7 vs 9.6 s) and 324 instead of 375 MB peak RSS.
    this.encoder = new BlockEncoderPool(options.encoderThreads ?? (availableParallelism() > 2 ? 1 : 0), options.encoderBudgetBytes);
  }

  static async open(options: StoreOptions): Promise<DiskLogStore> {
    const objectStore = openObjectStore(options.objectStore ?? { backend: 'filesystem', directory: join(options.dataDir, 'objects') });
    const store = new DiskLogStore(options, objectStore);
    await store.loadParts();
    let maxPersistedSeq = -1n;
    for (const partition of store.allPartitions()) {
      for (const seq of partition.persistedSeq.values()) if (seq > maxPersistedSeq) maxPersistedSeq = seq;
    }
    store.maxPersistedSeq = maxPersistedSeq;
    const { wal, replayed } = await Wal.open(
      {
        directory: join(options.dataDir, 'wal'),
        fsync: options.walFsync,
        minimumNextSeq: maxPersistedSeq + 1n,
        onDurable: (record) => store.applyRecord(record, false),
        onFsync: (seconds) => store.observeFsync(seconds),
        replayLinesAsSpans: true,
        ...(options.walBufferBytes === undefined ? {} : { framePoolBytes: options.walBufferBytes }),
      },
      (record: WalRecord) => store.applyRecord(record, true),
    );
    store.wal = wal;
    for (const tail of replayed.corruptTails) {
      // Expected after a crash mid-write (the unacknowledged tail); anything else deserves a look.
      console.error(`rankscope store: WAL replay stopped early: ${tail}`);
    }
    store.startTimers();
    return store;
  }

  // ---- open ----------------------------------------------------------------------------------

  private async loadParts(): Promise<void> {
    const keys = await this.objectStore.list(TENANTS_PREFIX);
    const indexes: ParsedKey[] = [];
    const dataKeys = new Map<string, string>();
    const labelKeys: ParsedKey[] = [];
    for (const key of keys) {
      const parsed = parseObjectKey(key);
      if (parsed === undefined) continue;
      if (parsed.kind === 'part-index') indexes.push(parsed);
      else if (parsed.kind === 'part-data') dataKeys.set(key, key);
      else labelKeys.push(parsed);
    }
    const metas: PartMeta[] = [];
    for (let i = 0; i < indexes.length; i += OPEN_CONCURRENCY) {
      const batch = indexes.slice(i, i + OPEN_CONCURRENCY);
      const read = await Promise.all(
        batch.map((parsed) =>
          readPartIndex(this.objectStore, parsed.tenant, parsed.day, parsed.partId!).catch((error: unknown) => {
            if (!(error instanceof PartIndexError)) throw error;
            // A corrupt index: its part is left out (and its data object kept) rather than refusing
            // to start; entries still in the WAL are replayed, the operator has the files, and every
            // query over its day says so in its warnings.
            console.error(`rankscope store: part ${parsed.partId} of tenant ${parsed.tenant} skipped: ${error.message}`);
            this.partition(parsed.tenant, parsed.day).unreadableParts.set(parsed.partId!, error.message);
            dataKeys.delete(partDataKey(parsed.tenant, parsed.day, parsed.partId!));
            return undefined;
          }),
        ),
      );
      for (const meta of read) if (meta !== undefined) metas.push(meta);
    }
    // A compaction that crashed after writing its output but before deleting its inputs leaves both:
    // the output lists the inputs in `replaces`, so drop them now.
    const replaced = new Set<string>();
    for (const meta of metas) for (const id of meta.replaces) replaced.add(id);
    for (const meta of metas) {
      dataKeys.delete(partDataKey(meta.tenant, meta.day, meta.partId));
      if (replaced.has(meta.partId)) {
        await this.objectStore.delete(partIndexKey(meta.tenant, meta.day, meta.partId));
        await this.objectStore.delete(partDataKey(meta.tenant, meta.day, meta.partId));
        continue;
      }
      this.partition(meta.tenant, meta.day).addPart(meta);
    }
    // Data objects without an index are parts whose write was interrupted.
    for (const orphan of dataKeys.keys()) await this.objectStore.delete(orphan);
    for (const parsed of labelKeys) {
      const partition = this.partition(parsed.tenant, parsed.day);
      try {
        LabelIndex.deserialize(await this.objectStore.get(labelIndexKey(parsed.tenant, parsed.day)), partition.labelIndex);
        partition.persistedLabelVersion = partition.labelIndex.version;
      } catch (error) {
        // The parts' streams are already indexed from their part indexes; the next cut rewrites it.
        console.error(`rankscope store: label index of tenant ${parsed.tenant} day ${parsed.day} unreadable, rebuilt from parts: ${(error as Error).message}`);
        partition.persistedLabelVersion = -1;
      }
    }
  }

  private startTimers(): void {
    const cutCheckMs = Math.min(5000, Math.max(50, Math.floor(this.options.headCutAgeMs / 2)));
    this.timers.push(setInterval(() => this.checkHeadAge(), cutCheckMs).unref());
    const maintenanceMs = this.options.compactionIntervalMs > 0 ? this.options.compactionIntervalMs : 60_000;
    this.timers.push(
      setInterval(() => {
        const tasks: Array<Promise<void>> = [];
        if (this.options.compactionIntervalMs > 0) tasks.push(this.compact());
        if (this.options.retentionPeriodMs > 0) tasks.push(this.applyRetention());
        Promise.all(tasks).catch((error: unknown) => reportBackgroundError('maintenance', error));
      }, maintenanceMs).unref(),
    );
  }

  // ---- write path ----------------------------------------------------------------------------

  async append(tenant: string, streams: AppendStream[], options?: AppendOptions): Promise<void> {
    if (this.closed) throw new StoreError('store is closed');
    if (typeof tenant !== 'string' || tenant === '') throw new StoreError('append: tenant must be a non-empty string');
    const nonEmpty: AppendStream[] = [];
    for (let s = 0; s < streams.length; s++) {
      const stream = streams[s]!;
      if (Object.keys(stream.labels).length > MAX_WAL_PAIRS) throw new StoreError(`append: stream ${s} has more than ${MAX_WAL_PAIRS} labels`);
      // Decoded columns hold bigints and byte ranges by construction; only their metadata is checked.
      const columns = rawColumnsOf(stream);
      if (columns !== undefined) {
        const metadataColumn = columns.structuredMetadata;
        for (let i = 0; metadataColumn !== undefined && i < columns.count; i++) {
          if ((metadataColumn[i]?.length ?? 0) > MAX_WAL_PAIRS) throw new StoreError(`append: stream ${s} entry ${i} has more than ${MAX_WAL_PAIRS} structured metadata pairs`);
        }
        if (columns.count > 0) nonEmpty.push(stream);
        continue;
      }
      const entries = stream.entries;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        if (typeof entry.timestampNs !== 'bigint') throw new StoreError(`append: stream ${s} entry ${i}: timestampNs must be a bigint`);
        // A RawLineEntry's line is bytes until read: checking it would decode it.
        if (!(entry instanceof RawLineEntry) && typeof entry.line !== 'string') throw new StoreError(`append: stream ${s} entry ${i}: line must be a string`);
        if (entry.structuredMetadata !== undefined && entry.structuredMetadata.length > MAX_WAL_PAIRS) {
          throw new StoreError(`append: stream ${s} entry ${i} has more than ${MAX_WAL_PAIRS} structured metadata pairs`);
        }
      }
      if (entries.length > 0) nonEmpty.push(stream);
    }
    if (nonEmpty.length === 0) return;
    const headBudgetBytes = this.options.headBudgetBytes ?? Number.POSITIVE_INFINITY;
    // Bounded: each pass waits for a running cut, which empties heads; new appends wait their turn.
    // With a budget, heads and the generation being cut share it: appends wait for the cut once both
    // together hold it, so head memory stays near the budget instead of twice it plus a generation.
    while (
      this.flushInFlight !== undefined &&
      (this.headBytes >= Math.min(this.options.headCutBytes, headBudgetBytes) * HEAD_BACKPRESSURE_FACTOR || this.headBytes + this.cuttingBytes >= headBudgetBytes)
    ) {
      await this.flushInFlight;
    }
    // The body decodes to every stream given, empty ones too: logged as it is only when none was left out.
    const pushBody = nonEmpty.length === streams.length ? options?.pushBody : undefined;
    await this.wal.append(tenant, nonEmpty, this.streamIds(tenant, nonEmpty), pushBody);
    if (this.headBytes >= this.options.headCutBytes) this.scheduleFlush();
    else if (this.headBytes > headBudgetBytes) this.scheduleCut(() => this.cutLargest(headBudgetBytes));
  }

  /**
   * Each stream's id, written into the WAL record so that replay need not hash the labels again:
   * from the head or the last cut when the stream has one, else hashed (once per new stream:
   * applyRecord takes it from the record).
   */
  private streamIds(tenant: string, streams: readonly AppendStream[]): string[] {
    const ids = new Array<string>(streams.length);
    for (let s = 0; s < streams.length; s++) {
      const labels = streams[s]!.labels;
      const fingerprint = streamFingerprint(tenant, labels);
      const known = this.heads.get(fingerprint, tenant, labels) ?? this.recentStreams.get(fingerprint, tenant, labels);
      ids[s] = known?.info.id ?? streamId(tenant, labels);
    }
    return ids;
  }

  /**
   * Puts a durable WAL record into the head. During replay, skips what parts already hold. When the
   * record carries its frame and line spans (appends, and replayed records whose lines were left
   * undecoded), line bytes are copied from the frame instead of encoding strings.
   */
  private applyRecord(record: DurableRecord | WalRecord, skipPersisted: boolean): void {
    const nowMs = Date.now();
    const frame = record.frame;
    // The index of each stream's first entry in the record's line spans (all streams' entries in order).
    let firstEntry = 0;
    for (let s = 0; s < record.streams.length; s++) {
      const stream = record.streams[s]!;
      // An append's decoded streams are read as columns (stream.entries would build an object per entry).
      const columns = rawColumnsOf(stream);
      const entryCount = columns !== undefined ? columns.count : stream.entries.length;
      const firstSpan = firstEntry;
      firstEntry += entryCount;
      if (entryCount === 0) continue;
      const fingerprint = streamFingerprint(record.tenant, stream.labels);
      let head = this.heads.get(fingerprint, record.tenant, stream.labels);
      let info = head?.info ?? this.recentStreams.get(fingerprint, record.tenant, stream.labels)?.info;
      if (info === undefined) {
        // Strings shared with other streams: a copy for an append (its labels belong to the
        // caller); a replayed record's labels as decoded, whose strings the decoder already shares
        // (wal-record.ts). The id from the record when it has one (version 2), else hashed.
        const labels = skipPersisted ? stream.labels : this.interner.labels(stream.labels);
        info = { id: record.ids?.[s] ?? streamId(record.tenant, labels), labels };
      }
      let entries: readonly PushEntry[] | RawStreamColumns = columns ?? stream.entries;
      let spans = record.lineSpans;
      if (skipPersisted && record.seq <= this.maxPersistedSeq && this.anyPersisted(record.tenant, info.id, record.seq, stream.entries)) {
        entries = this.unpersisted(record.tenant, info.id, record.seq, stream.entries, frame, spans, firstSpan);
        spans = undefined;
        if (entries.length === 0) continue;
      }
      if (head === undefined) {
        head = new StreamHead(record.tenant, info, fingerprint);
        this.heads.add(fingerprint, head);
      }
      const before = head.rawBytes;
      const dropped = head.add(entries, record.seq, nowMs, frame !== undefined && spans !== undefined ? { frame, spans, firstSpan } : undefined);
      // Replayed records were counted when they first arrived.
      if (dropped > 0 && !skipPersisted) this.duplicatesDropped.set(record.tenant, (this.duplicatesDropped.get(record.tenant) ?? 0) + dropped);
      this.headBytes += head.rawBytes - before;
      this.notePartitions(record.tenant, info, entries);
    }
  }

  /** Whether parts already hold some of these entries (replay of a WAL older than the last cut). */
  private anyPersisted(tenant: string, id: string, seq: bigint, entries: readonly PushEntry[]): boolean {
    const days = this.partitions.get(tenant);
    if (days === undefined) return false;
    for (let i = 0; i < entries.length; i++) {
      const partition = days.get(dayOfNs(entries[i]!.timestampNs));
      if (partition !== undefined && partition.isPersisted(id, seq)) return true;
    }
    return false;
  }

  /** The entries parts do not hold yet, with their lines as strings (taken from the frame when undecoded). */
  private unpersisted(tenant: string, id: string, seq: bigint, entries: readonly PushEntry[], frame: Buffer | undefined, spans: Uint32Array | undefined, firstSpan: number): PushEntry[] {
    const days = this.partitions.get(tenant);
    const kept: PushEntry[] = [];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const partition = days?.get(dayOfNs(entry.timestampNs));
      if (partition !== undefined && partition.isPersisted(id, seq)) continue;
      const span = (firstSpan + i) * 2;
      kept.push(frame !== undefined && spans !== undefined ? { ...entry, line: frame.toString('utf8', spans[span]!, spans[span + 1]!) } : entry);
    }
    return kept;
  }

  /** Registers the stream in each day partition its entries fall in (label index + time range). */
  private notePartitions(tenant: string, info: StreamInfo, batch: readonly PushEntry[] | RawStreamColumns): void {
    const columns = Array.isArray(batch) ? undefined : (batch as RawStreamColumns);
    if (columns !== undefined && columns.count > 0) {
      // Within one day (the usual push): the columns' range says it all.
      const day = dayOfNs(columns.minTimestampNs);
      if (day === dayOfNs(columns.maxTimestampNs)) {
        const last = this.lastNotedPartition;
        const partition = last !== undefined && last.tenant === tenant && last.day === day ? last : this.partition(tenant, day);
        this.lastNotedPartition = partition;
        partition.noteStream(info, columns.minTimestampNs, columns.maxTimestampNs);
        return;
      }
    }
    const entries = columns === undefined ? (batch as readonly PushEntry[]) : undefined;
    const timestamps = columns?.timestampsNs;
    const count = columns !== undefined ? columns.count : entries!.length;
    let partition: Partition | undefined;
    let minTimeNs = 0n;
    let maxTimeNs = 0n;
    for (let i = 0; i < count; i++) {
      const timestampNs = timestamps !== undefined ? timestamps[i]! : entries![i]!.timestampNs;
      if (partition === undefined || timestampNs < partition.startNs || timestampNs >= partition.endNs) {
        if (partition !== undefined) partition.noteStream(info, minTimeNs, maxTimeNs);
        const last = this.lastNotedPartition;
        partition = last !== undefined && last.tenant === tenant && timestampNs >= last.startNs && timestampNs < last.endNs ? last : this.partition(tenant, dayOfNs(timestampNs));
        this.lastNotedPartition = partition;
        minTimeNs = timestampNs;
        maxTimeNs = timestampNs;
        continue;
      }
      if (timestampNs < minTimeNs) minTimeNs = timestampNs;
      else if (timestampNs > maxTimeNs) maxTimeNs = timestampNs;
    }
    if (partition !== undefined) partition.noteStream(info, minTimeNs, maxTimeNs);
  }

  private partition(tenant: string, day: number): Partition {
    let days = this.partitions.get(tenant);
    if (days === undefined) {
      days = new Map();
      this.partitions.set(tenant, days);
    }
    let partition = days.get(day);
    if (partition === undefined) {
      partition = new Partition(tenant, day);
      days.set(day, partition);
    }
    return partition;
  }

  private *allPartitions(): Generator<Partition> {
    for (const days of this.partitions.values()) yield* days.values();
  }

  private observeFsync(seconds: number): void {
    this.fsyncCount++;
    this.fsyncSumSeconds += seconds;
    for (let i = 0; i < FSYNC_BUCKETS_SECONDS.length; i++) if (seconds <= FSYNC_BUCKETS_SECONDS[i]!) this.fsyncBucketCounts[i]!++;
  }

  // ---- cuts ----------------------------------------------------------------------------------

  private checkHeadAge(): void {
    if (this.heads.size === 0 || this.flushInFlight !== undefined) return;
    const cutBeforeMs = Date.now() - this.options.headCutAgeMs;
    for (const head of this.heads.values()) {
      if (head.firstAppendMs <= cutBeforeMs) {
        this.scheduleFlush();
        return;
      }
    }
  }

  private scheduleFlush(): void {
    this.scheduleCut(() => this.cutHeads());
  }

  private scheduleCut(cut: () => Promise<void>): void {
    if (this.flushInFlight !== undefined || this.closed) return;
    this.flushInFlight = this.exclusive(cut)
      .catch((error: unknown) => reportBackgroundError('head cut', error))
      .finally(() => {
        this.flushInFlight = undefined;
      });
  }

  flush(): Promise<void> {
    return this.exclusive(() => this.cutHeads());
  }

  private async cutHeads(): Promise<void> {
    if (this.heads.size > 0) {
      // Records after this point land in a new segment, so older segments can go once persisted.
      await this.wal.rotate();
      this.cutting.push([...this.heads.values()]);
      this.cuttingBytes += this.headBytes;
      const recent = new StreamTable<TableItem>();
      for (const head of this.heads.values()) recent.add(head.fingerprint, { tenant: head.tenant, info: head.info });
      this.recentStreams = recent;
      this.heads = new StreamTable();
      this.headBytes = 0;
    }
    try {
      await this.persistCutting();
    } finally {
      if (this.cutLines !== undefined) releaseOwnedMemory(this.cutLines);
      this.cutLines = undefined;
      if (this.cutFrame !== undefined) releaseOwnedMemory(this.cutFrame);
      this.cutFrame = undefined;
    }
  }

  /** Raw bytes of lines a stream group's shared frame holds (FRAME_BLOCKS block targets). */
  private get frameTargetBytes(): number {
    return this.options.blockTargetBytes * FRAME_BLOCKS;
  }

  /**
   * A buffer of at least `bytes` to build a stream group's frame's lines in during a cut, reused like
   * cutLinesBuffer's, up to twice a frame's target size.
   */
  private cutFrameBuffer(bytes: number): Buffer | undefined {
    const limit = 2 * this.frameTargetBytes;
    if (bytes > limit) return undefined;
    if (this.cutFrame === undefined || this.cutFrame.length < bytes) {
      if (this.cutFrame !== undefined) releaseOwnedMemory(this.cutFrame);
      this.cutFrame = Buffer.allocUnsafeSlow(Math.min(limit, Math.ceil(bytes / CUT_LINES_BUFFER_STEP_BYTES) * CUT_LINES_BUFFER_STEP_BYTES));
    }
    return this.cutFrame;
  }

  /** A buffer of at least `bytes` for a head's lines during a cut, or undefined past the reuse limit. */
  private cutLinesBuffer(bytes: number): Buffer | undefined {
    if (bytes > MAX_CUT_LINES_BUFFER_BYTES) return undefined;
    if (this.cutLines === undefined || this.cutLines.length < bytes) {
      if (this.cutLines !== undefined) releaseOwnedMemory(this.cutLines);
      this.cutLines = Buffer.allocUnsafeSlow(Math.min(MAX_CUT_LINES_BUFFER_BYTES, Math.ceil(bytes / CUT_LINES_BUFFER_STEP_BYTES) * CUT_LINES_BUFFER_STEP_BYTES));
    }
    return this.cutLines;
  }

  /**
   * Over the head budget: cuts the largest heads (the ones whose blocks come out fullest) until the
   * rest hold at most half the budget, so memory stays bounded without cutting every small stream.
   */
  private async cutLargest(headBudgetBytes: number): Promise<void> {
    if (this.headBytes <= headBudgetBytes) return;
    await this.wal.rotate();
    // A stream group's heads are cut together, so their lines share frames (stream-group.ts).
    const groupBytes = (group: StreamHead[]): number => group.reduce((sum, head) => sum + head.rawBytes, 0);
    const largestFirst = this.groupHeads([...this.heads.values()])
      .map((group) => ({ group, bytes: groupBytes(group) }))
      .sort((a, b) => b.bytes - a.bytes);
    const chosen: StreamHead[] = [];
    for (const { group } of largestFirst) {
      if (this.headBytes <= headBudgetBytes / 2) break;
      for (const head of group) {
        chosen.push(head);
        if (this.recentStreams.get(head.fingerprint, head.tenant, head.info.labels) === undefined) this.recentStreams.add(head.fingerprint, { tenant: head.tenant, info: head.info });
        this.heads.delete(head.fingerprint, head);
        this.headBytes -= head.rawBytes;
        this.cuttingBytes += head.rawBytes;
      }
    }
    this.cutting.push(chosen);
    await this.persistCutting();
  }

  /** Writes every generation being cut into parts, then truncates the WAL below the heads left. */
  private async persistCutting(): Promise<void> {
    // Oldest first; a generation that failed before is retried here.
    while (this.cutting.length > 0) await this.writeGeneration(this.cutting[0]!);
    await this.persistLabelIndexes();
    let keepFromSeq = this.wal.peekNextSeq();
    for (const head of this.heads.values()) if (head.minSeq >= 0n && head.minSeq < keepFromSeq) keepFromSeq = head.minSeq;
    await this.wal.truncateBefore(keepFromSeq);
  }

  private async writeGeneration(heads: StreamHead[]): Promise<void> {
    const cutoffNs = retentionCutoffNs(Date.now(), this.options.retentionPeriodMs);
    const builders = new Map<string, PartBuilder>();
    const expired = new Set<Partition>();
    let lastYieldMs = performance.now();
    const yieldNow = async (): Promise<void> => {
      if (performance.now() - lastYieldMs < CUT_YIELD_INTERVAL_MS) return;
      await yieldToEventLoop();
      lastYieldMs = performance.now();
    };
    const builderFor = (tenant: string, day: number): PartBuilder | undefined => {
      const partition = this.partition(tenant, day);
      if (cutoffNs !== undefined && partition.endNs <= cutoffNs) {
        expired.add(partition);
        return undefined;
      }
      const builderKey = `${tenant}\u0000${day}`;
      let builder = builders.get(builderKey);
      if (builder === undefined) {
        builder = new PartBuilder(tenant, day, this.options.blockTargetBytes);
        builders.set(builderKey, builder);
      }
      return builder;
    };
    for (const group of this.groupHeads(heads)) {
      if (group.length > 1) {
        await this.writeGroup(group, builderFor);
        await yieldNow();
        continue;
      }
      const head = group[0]!;
      // Every block is encoded (awaited) before the next head reuses the buffer.
      const columns = head.columnsForCut(this.cutLinesBuffer(head.rawBytes));
      for (const [first, last] of dayRanges(columns.timestampsNs)) {
        const builder = builderFor(head.tenant, dayOfNs(columns.timestampsNs[first]!));
        if (builder === undefined) continue;
        // Large streams are encoded on a worker thread when there is one. Small ones inline: a
        // round trip to the worker per stream made a SIGTERM flush of 100k one-line heads overrun the
        // 30 s shutdown timeout. Inline work gives the event loop back every few milliseconds so
        // acknowledgements and queries get through.
        const slice = sliceColumns(columns, first, last);
        if (slice.lines.length >= INLINE_ENCODE_MAX_BYTES) await builder.addStream(head.info, head.maxSeq, slice, this.encoder);
        else await builder.addStream(head.info, head.maxSeq, slice);
        await yieldNow();
      }
      // The sorted copy of the head's lines is spent: every block was encoded from it (or copied
      // for the encoder thread). The reused buffer stays for the next head.
      if (columns.lines.buffer !== this.cutLines?.buffer) releaseOwnedMemory(columns.lines);
    }
    const written: PartMeta[] = [];
    for (const builder of builders.values()) written.push(await builder.write(this.objectStore));
    // Register the parts and drop the generation from `cutting` in one synchronous step, so a query
    // never sees an entry both in a part and in a head (nor in neither).
    for (const part of written) this.partition(part.tenant, part.day).addPart(part);
    this.cutting.splice(this.cutting.indexOf(heads), 1);
    for (const head of heads) this.cuttingBytes -= head.rawBytes;
    // Queries copied what they took from these heads, so their line chunks can serve new heads.
    for (const head of heads) head.release();
    // Late entries for already-expired days were dropped; forget partitions that only they created.
    for (const partition of expired) {
      if (partition.parts.length > 0) continue;
      this.partitions.get(partition.tenant)?.delete(partition.day);
      if (this.lastNotedPartition === partition) this.lastNotedPartition = undefined;
    }
  }

  /** The heads of a cut in stream groups (stream-group.ts): one tenant each, singletons for the rest. */
  private groupHeads(heads: readonly StreamHead[]): StreamHead[][] {
    const grouping = this.streamGrouping;
    return groupItems(
      heads,
      (head) => {
        const key = streamGroupKey(head.info.labels, grouping);
        return key === undefined ? undefined : `${head.tenant}\u0000${key}`;
      },
      grouping.maxMembers,
    );
  }

  /**
   * Writes one stream group's heads as shared frames, day by day (a frame never spans two days). The
   * lines go from each head's chunks straight into the frame being built (StreamHead.cutSource): a
   * copy of the whole group first, then the frame, held twice the group's bytes at the cut's peak.
   */
  private async writeGroup(heads: readonly StreamHead[], builderFor: (tenant: string, day: number) => PartBuilder | undefined): Promise<void> {
    const byDay = new Map<number, PartGroupMember[]>();
    for (const head of heads) {
      const member = head.cutSource();
      for (const [first, last] of dayRanges(member.timestampsNs)) {
        const day = dayOfNs(member.timestampsNs[first]!);
        let members = byDay.get(day);
        if (members === undefined) byDay.set(day, (members = []));
        members.push({ info: head.info, walSeq: head.maxSeq, member: sliceMember(member, first, last) });
      }
    }
    for (const [day, members] of byDay) builderFor(heads[0]!.tenant, day)?.addGroup(members, this.frameTargetBytes, this.streamGrouping.layout, (bytes) => this.cutFrameBuffer(bytes));
  }

  private async persistLabelIndexes(): Promise<void> {
    for (const partition of this.allPartitions()) {
      if (partition.labelIndex.version === partition.persistedLabelVersion) continue;
      const version = partition.labelIndex.version;
      await this.objectStore.put(labelIndexKey(partition.tenant, partition.day), partition.labelIndex.serialize());
      partition.persistedLabelVersion = version;
    }
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.structureChain.then(task, task);
    this.structureChain = run.catch(() => undefined);
    return run;
  }

  // ---- compaction and retention --------------------------------------------------------------

  compact(): Promise<void> {
    return this.exclusive(async () => {
      await this.runPendingDeletes(Date.now());
      for (const partition of [...this.allPartitions()]) {
        const plan = planCompaction(partition, Math.min(SMALL_PART_BYTES, this.options.headCutBytes / 2), MAX_MERGE_BYTES, this.options.blockTargetBytes, MAX_STREAM_MERGE_BYTES);
        if (plan === undefined) continue;
        const { part, duplicatesDropped } = await runCompaction(plan, this.objectStore, this.options.blockTargetBytes, this.encoder, { grouping: this.streamGrouping, frameTargetBytes: this.frameTargetBytes });
        if (duplicatesDropped > 0) this.duplicatesDropped.set(partition.tenant, (this.duplicatesDropped.get(partition.tenant) ?? 0) + duplicatesDropped);
        const replacedIds = new Set(plan.parts.map((p) => p.partId));
        partition.removeParts(replacedIds);
        partition.addPart(part);
        this.pendingDeletes.push({
          keys: plan.parts.flatMap((p) => [partIndexKey(p.tenant, p.day, p.partId), partDataKey(p.tenant, p.day, p.partId)]),
          notBeforeMs: Date.now() + DELETE_GRACE_MS,
        });
      }
    });
  }

  private async runPendingDeletes(nowMs: number): Promise<void> {
    const due = this.pendingDeletes.filter((pending) => pending.notBeforeMs <= nowMs);
    for (const pending of due) {
      for (const key of pending.keys) await this.objectStore.delete(key);
      this.pendingDeletes.splice(this.pendingDeletes.indexOf(pending), 1);
    }
  }

  applyRetention(nowMs: number = Date.now()): Promise<void> {
    return this.exclusive(async () => {
      const cutoffNs = retentionCutoffNs(nowMs, this.options.retentionPeriodMs);
      if (cutoffNs === undefined) return;
      for (const partition of expiredPartitions([...this.allPartitions()], cutoffNs)) {
        this.partitions.get(partition.tenant)?.delete(partition.day);
        if (this.lastNotedPartition === partition) this.lastNotedPartition = undefined;
        await deletePartitionObjects(this.objectStore, partition.tenant, partition.day);
      }
      // Expired entries still in a head are dropped at the next cut (see writeGeneration).
    });
  }

  // ---- read path -----------------------------------------------------------------------------

  private partitionsInRange(tenant: string, startNs: bigint, endNs: bigint): Partition[] {
    const days = this.partitions.get(tenant);
    if (days === undefined) return [];
    const found: Partition[] = [];
    for (const partition of days.values()) if (partition.startNs < endNs && partition.endNs > startNs) found.push(partition);
    return found;
  }

  async series(tenant: string, matchers: LabelMatcher[], startNs: bigint, endNs: bigint): Promise<StreamInfo[]> {
    return this.matchStreams(tenant, matchers.map(compileMatcher), startNs, endNs);
  }

  private matchStreams(tenant: string, compiled: CompiledMatcher[], startNs: bigint, endNs: bigint): StreamInfo[] {
    const found = new Map<string, StreamInfo>();
    for (const partition of this.partitionsInRange(tenant, startNs, endNs)) {
      for (const id of partition.labelIndex.match(compiled)) {
        if (found.has(id)) continue;
        const range = partition.labelIndex.timeRange(id);
        if (range === undefined || range.maxTimeNs < startNs || range.minTimeNs >= endNs) continue;
        found.set(id, partition.labelIndex.info(id)!);
      }
    }
    return [...found.values()];
  }

  async selectBlocks(query: BlockQuery): Promise<BlockRef[]> {
    const refs = this.readableBlocks(query);
    // Parts whose index is unreadable: an empty ref each, whose load carries the warning.
    for (const partition of this.partitionsInRange(query.tenant, query.startNs, query.endNs)) {
      for (const [partId, reason] of partition.unreadableParts) refs.push(unreadablePartRef(partition, partId, reason, query.startNs, query.endNs));
    }
    return refs;
  }

  private readableBlocks(query: BlockQuery): BlockRef[] {
    const { tenant, startNs, endNs } = query;
    const compiled = query.matchers.map(compileMatcher);
    const literals: PreparedLiteral[] = [];
    for (const required of query.requiredLiterals ?? []) {
      if (required.literal.length > 0) literals.push({ bytes: Buffer.from(required.literal, 'utf8'), caseInsensitive: required.caseInsensitive });
    }
    const candidates: Candidate[] = [];
    const matchedIds = new Set<string>();
    for (const partition of this.partitionsInRange(tenant, startNs, endNs)) {
      const ids = partition.labelIndex.match(compiled);
      if (ids.size === 0) continue;
      for (const id of ids) matchedIds.add(id);
      for (const part of partition.parts) {
        if (part.maxTimeNs < startNs || part.minTimeNs >= endNs) continue;
        if (ids.size < part.blocksByStream.size) {
          for (const id of ids) {
            const blocks = part.blocksByStream.get(id);
            if (blocks !== undefined) for (const block of blocks) this.considerBlock(part, block, startNs, endNs, literals, candidates);
          }
        } else {
          for (const block of part.blocks) if (ids.has(block.streamId)) this.considerBlock(part, block, startNs, endNs, literals, candidates);
        }
      }
    }
    if (matchedIds.size > 0) {
      for (const head of this.heads.values()) this.considerHead(head, tenant, matchedIds, startNs, endNs, candidates);
      for (const generation of this.cutting) for (const head of generation) this.considerHead(head, tenant, matchedIds, startNs, endNs, candidates);
    }
    return mergeOverlapping(candidates);
  }

  private considerBlock(part: PartMeta, block: BlockMeta, startNs: bigint, endNs: bigint, literals: PreparedLiteral[], candidates: Candidate[]): void {
    if (block.maxTimeNs < startNs || block.minTimeNs >= endNs) return;
    for (const literal of literals) if (!mayContain(block.filter, literal.bytes, literal.caseInsensitive)) return;
    const stream = part.streams.get(block.streamId)!.info;
    const location = blockLocation(part, block);
    const reader = this.blockReader;
    candidates.push({
      source: part,
      ref: {
        stream,
        minTimeNs: block.minTimeNs,
        maxTimeNs: block.maxTimeNs,
        entryCount: block.entryCount,
        rawBytes: block.rawBytes,
        location,
        load: () => reader.read(location, stream),
      },
    });
  }

  private considerHead(head: StreamHead, tenant: string, matchedIds: Set<string>, startNs: bigint, endNs: bigint, candidates: Candidate[]): void {
    if (head.tenant !== tenant || !matchedIds.has(head.info.id) || head.count === 0) return;
    if (head.maxTimeNs < startNs || head.minTimeNs >= endNs) return;
    // Snapshot now: later appends must not change what this ref returns.
    const data = head.toBlockData();
    candidates.push({
      source: head,
      ref: {
        stream: head.info,
        minTimeNs: head.minTimeNs,
        maxTimeNs: head.maxTimeNs,
        entryCount: data.timestampsNs.length,
        rawBytes: data.lines.length,
        load: () => Promise.resolve(data),
      },
    });
  }

  async labelNames(tenant: string, startNs: bigint, endNs: bigint, matchers: LabelMatcher[] = []): Promise<string[]> {
    const names = new Set<string>();
    for (const stream of this.matchStreams(tenant, matchers.map(compileMatcher), startNs, endNs)) {
      for (const name in stream.labels) names.add(name);
    }
    return [...names].sort();
  }

  async labelValues(tenant: string, name: string, startNs: bigint, endNs: bigint, matchers: LabelMatcher[] = []): Promise<string[]> {
    const values = new Set<string>();
    for (const stream of this.matchStreams(tenant, matchers.map(compileMatcher), startNs, endNs)) {
      const value = stream.labels[name];
      if (value !== undefined) values.add(value);
    }
    return [...values].sort();
  }

  async stats(tenant: string, matchers: LabelMatcher[], startNs: bigint, endNs: bigint): Promise<IndexStats> {
    const streams = this.matchStreams(tenant, matchers.map(compileMatcher), startNs, endNs);
    const blocks = this.readableBlocks({ tenant, matchers, startNs, endNs });
    let entries = 0;
    let bytes = 0;
    for (const block of blocks) {
      entries += block.entryCount;
      bytes += block.rawBytes;
    }
    return { streams: streams.length, chunks: blocks.length, entries, bytes };
  }

  writeHealth(): Promise<WriteHealth> {
    return this.wal.writeHealth();
  }

  metrics(): StoreMetrics {
    let parts = 0;
    let diskBytes = 0;
    for (const partition of this.allPartitions()) {
      parts += partition.parts.length;
      for (const part of partition.parts) diskBytes += part.dataBytes + part.indexBytes;
    }
    let headStreams = this.heads.size;
    for (const generation of this.cutting) headStreams += generation.length;
    return {
      walFsyncSeconds: {
        count: this.fsyncCount,
        sum: this.fsyncSumSeconds,
        buckets: FSYNC_BUCKETS_SECONDS.map((bound, i): [number, number] => [bound, this.fsyncBucketCounts[i]!]),
      },
      parts,
      headStreams,
      headBytes: this.headBytes,
      cuttingBytes: this.cuttingBytes,
      diskBytes,
      duplicateEntriesDiscarded: [...this.duplicatesDropped],
    };
  }

  blockReaderConfig(): BlockReaderConfig {
    return { objectStore: this.options.objectStore ?? { backend: 'filesystem', directory: join(this.options.dataDir, 'objects') } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.wal.idle();
    if (this.flushInFlight !== undefined) await this.flushInFlight;
    await this.flush();
    await this.exclusive(() => this.runPendingDeletes(Number.POSITIVE_INFINITY));
    await this.wal.close();
    await this.encoder.close();
    await this.objectStore.close();
  }
}

function reportBackgroundError(task: string, error: unknown): void {
  console.error(`rankscope store: background ${task} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
}

/** A candidate block and where it comes from: a part, or a head (each is duplicate-free on its own). */
interface Candidate {
  source: object;
  ref: BlockRef;
}

/**
 * Makes every answer count a retried push once: blocks of one stream from different sources (head,
 * parts) that overlap in time become one ref whose load merges them and drops exact duplicates.
 * Blocks of one source never hold duplicates of each other (heads drop them on append; a part is
 * cut from one head or written by compaction's merge), so the usual case, where a stream's sources
 * follow each other in time, passes through untouched.
 */
export function mergeOverlapping(candidates: Candidate[]): BlockRef[] {
  const byStream = new Map<string, Candidate[]>();
  let multiSource = false;
  for (const candidate of candidates) {
    const list = byStream.get(candidate.ref.stream.id);
    if (list === undefined) byStream.set(candidate.ref.stream.id, [candidate]);
    else {
      if (list[0]!.source !== candidate.source) multiSource = true;
      list.push(candidate);
    }
  }
  if (!multiSource) return candidates.map((candidate) => candidate.ref);
  const refs: BlockRef[] = [];
  for (const list of byStream.values()) {
    if (list.length === 1 || list.every((candidate) => candidate.source === list[0]!.source)) {
      for (const candidate of list) refs.push(candidate.ref);
      continue;
    }
    list.sort((a, b) => (a.ref.minTimeNs < b.ref.minTimeNs ? -1 : a.ref.minTimeNs > b.ref.minTimeNs ? 1 : 0));
    let cluster: Candidate[] = [];
    let clusterMaxNs = 0n;
    const emit = (): void => {
      // Touching time ranges count as overlap: duplicates share their timestamp.
      if (cluster.length > 1 && cluster.some((candidate) => candidate.source !== cluster[0]!.source)) refs.push(mergedRef(cluster.map((candidate) => candidate.ref)));
      else for (const candidate of cluster) refs.push(candidate.ref);
    };
    for (const candidate of list) {
      if (cluster.length > 0 && candidate.ref.minTimeNs > clusterMaxNs) {
        emit();
        cluster = [];
      }
      if (cluster.length === 0 || candidate.ref.maxTimeNs > clusterMaxNs) clusterMaxNs = candidate.ref.maxTimeNs;
      cluster.push(candidate);
    }
    emit();
  }
  return refs;
}

/** Entry ranges [first, last) of sorted timestamps, one per UTC day: a block never spans two partitions. */
function dayRanges(timestampsNs: BigInt64Array): Array<[first: number, last: number]> {
  const ranges: Array<[number, number]> = [];
  let first = 0;
  while (first < timestampsNs.length) {
    const endNs = (BigInt(dayOfNs(timestampsNs[first]!)) + 1n) * NS_PER_DAY;
    let last = first + 1;
    while (last < timestampsNs.length && timestampsNs[last]! < endNs) last++;
    ranges.push([first, last]);
    first = last;
  }
  return ranges;
}

/** Stands for a part left out because its index is unreadable, over the query's part of its day. */
function unreadablePartRef(partition: Partition, partId: string, reason: string, startNs: bigint, endNs: bigint): BlockRef {
  const data = unreadablePartBlock(partition.tenant, partition.day, partId, reason);
  return {
    stream: data.stream,
    minTimeNs: startNs > partition.startNs ? startNs : partition.startNs,
    maxTimeNs: endNs < partition.endNs ? endNs - 1n : partition.endNs - 1n,
    entryCount: 0,
    rawBytes: 0,
    load: () => Promise.resolve(data),
  };
}

function mergedRef(members: BlockRef[]): BlockRef {
  const stream = members[0]!.stream;
  let minTimeNs = members[0]!.minTimeNs;
  let maxTimeNs = members[0]!.maxTimeNs;
  let entryCount = 0;
  let rawBytes = 0;
  for (const member of members) {
    if (member.minTimeNs < minTimeNs) minTimeNs = member.minTimeNs;
    if (member.maxTimeNs > maxTimeNs) maxTimeNs = member.maxTimeNs;
    entryCount += member.entryCount;
    rawBytes += member.rawBytes;
  }
  const ref: BlockRef = {
    stream,
    minTimeNs,
    maxTimeNs,
    entryCount,
    rawBytes,
    load: async () => mergeBlockData(await Promise.all(members.map((member) => member.load())), stream),
  };
  if (members.every((member) => member.location !== undefined)) {
    const [first, ...rest] = members.map((member) => member.location!);
    ref.location = { ...first!, mergeWith: rest };
  }
  return ref;
}
