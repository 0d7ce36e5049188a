// The embedded metrics store (MetricsStore in types.ts): a head with its WAL on local disk, immutable
// blocks on the object store, background compaction and retention.
//
// Durability and exactly-once: append() resolves after the WAL fsync. A flush cuts the whole head at
// WAL seq S (every record with a lower seq is in the cut), writes one block per tenant and block range
// (data, then meta.json), then the pointer object `<prefix>/flushed.json` = S, then deletes WAL
// segments holding only records below S. On open, blocks with walSeqEnd above the pointer come from
// an unfinished flush and are deleted, and the WAL's samples from seq S on are replayed. So each
// acknowledged sample is in exactly one place. Reads also deduplicate by timestamp, which covers
// the one window where a sample is in two blocks: a crash between a compaction's write and the
// deletion of its inputs.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ObjectNotFoundError, type ObjectStore } from '../objstore/object-store.ts';
import { BLOCK_FORMAT_VERSION, encodeBlock, type BlockMeta, type BlockSeriesInput } from './block.ts';
import { BlockReader } from './block-reader.ts';
import { compactionRangesMs, mergeSeries, planCompaction } from './compaction.ts';
import { ExemplarStorage, type SeriesExemplars } from './exemplar-storage.ts';
import { Head, seriesToColumns, type CutSeries } from './head.ts';
import { labelNamesOf, labelValuesOf, seriesKey } from './series-index.ts';
import { QueryScratch, selectHeadSamples } from './series-select.ts';
import type { AppendColumns, AppendSeries, Labels, MetricLabelMatcher, MetricsStore, RejectedSample, SelectScratch, SeriesSamples, SeriesSelectQuery } from './types.ts';
import { TsdbWal } from './wal.ts';
import type { WalExemplar } from './wal-record.ts';

export interface TsdbOptions {
  /** Local directory for the WAL. */
  walDirectory: string;
  objectStore: ObjectStore;
  /** Key prefix of blocks in the object store. */
  keyPrefix?: string;
  fsync?: boolean;
  blockRangeMs?: number;
  outOfOrderWindowMs?: number;
  /** Cut the head into blocks this long after the previous cut (when it holds samples). */
  headCutIntervalMs?: number;
  /** …or once it holds this many samples. */
  headMaxSamples?: number;
  /** Blocks wholly older than this are deleted; 0 keeps everything. */
  retentionMs?: number;
  /** How often the maintenance pass (cut, compaction, retention) runs; 0 = only when called. */
  maintenanceIntervalMs?: number;
  /** Exemplars kept in the ring (exemplar-storage.ts); 0 keeps none. */
  maxExemplars?: number;
  now?: () => number;
  /** Close the object store on close() (the server opens one for the TSDB alone). */
  ownsObjectStore?: boolean;
  onError?: (error: Error) => void;
}

export interface MetricMetadata {
  type: string;
  help: string;
  unit: string;
}

export interface TsdbStats {
  headSeries: number;
  headSamples: number;
  blocks: number;
  blockBytes: number;
  blockSamples: number;
  walSegments: number;
  walFsyncSeconds: number[];
}

const DEFAULT_BLOCK_RANGE_MS = 2 * 3_600_000;
const POINTER_NAME = 'flushed.json';
const HEAD_CHUNKS_FILE = 'head-chunks.tmp';

export class Tsdb implements MetricsStore {
  private readonly options: Required<Omit<TsdbOptions, 'onError'>> & Pick<TsdbOptions, 'onError'>;
  private readonly head: Head;
  private readonly exemplarStorage: ExemplarStorage;
  private wal!: TsdbWal;
  private blocks: BlockReader[] = [];
  private readonly metadata = new Map<string, Map<string, MetricMetadata>>();
  private lastCutAtMs: number;
  private exclusive: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly fsyncSeconds: number[] = [];

  private constructor(options: TsdbOptions) {
    this.options = {
      keyPrefix: 'tsdb',
      fsync: true,
      blockRangeMs: DEFAULT_BLOCK_RANGE_MS,
      outOfOrderWindowMs: 10 * 60_000,
      headCutIntervalMs: 3_600_000,
      headMaxSamples: 50_000_000,
      retentionMs: 0,
      maintenanceIntervalMs: 60_000,
      maxExemplars: 100_000,
      now: Date.now,
      ownsObjectStore: false,
      ...options,
    };
    // Beside the WAL segments (wal.ts lists only its own suffix); unlinked once open (head-chunks.ts).
    this.head = new Head({ blockRangeMs: this.options.blockRangeMs, outOfOrderWindowMs: this.options.outOfOrderWindowMs, chunksFile: join(this.options.walDirectory, HEAD_CHUNKS_FILE) });
    this.exemplarStorage = new ExemplarStorage(this.options.maxExemplars);
    this.lastCutAtMs = this.options.now();
  }

  static async open(options: TsdbOptions): Promise<Tsdb> {
    const tsdb = new Tsdb(options);
    await tsdb.load();
    return tsdb;
  }

  private get store(): ObjectStore {
    return this.options.objectStore;
  }

  private async load(): Promise<void> {
    const prefix = this.options.keyPrefix;
    let flushedSeq = 0;
    try {
      flushedSeq = (JSON.parse((await this.store.get(`${prefix}/${POINTER_NAME}`)).toString('utf8')) as { walSeqEnd: number }).walSeqEnd;
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) throw error;
    }
    for (const key of await this.store.list(`${prefix}/`)) {
      if (!key.endsWith('/meta.json')) continue;
      const meta = JSON.parse((await this.store.get(key)).toString('utf8')) as BlockMeta;
      const reader = new BlockReader(meta, prefix);
      if (meta.walSeqEnd > flushedSeq) {
        // Written by a flush that did not finish: its samples are still in the WAL.
        await this.store.delete(reader.metaKey);
        await this.store.delete(reader.dataKey);
        continue;
      }
      this.blocks.push(reader);
    }
    for (const key of await this.store.list(`${prefix}/`)) {
      if (!key.endsWith('/metadata.json')) continue;
      const tenant = decodeURIComponent(key.slice(prefix.length + 1, -'/metadata.json'.length));
      const entries = JSON.parse((await this.store.get(key)).toString('utf8')) as Record<string, MetricMetadata>;
      this.metadata.set(tenant, new Map(Object.entries(entries)));
    }
    let missing = 0;
    const { wal } = await TsdbWal.open(
      {
        directory: this.options.walDirectory,
        fsync: this.options.fsync,
        minimumNextSeq: flushedSeq,
        liveSeries: () => this.head.liveSeries(),
        liveExemplars: () => [...this.exemplarStorage.entries()].map(({ tenant, seriesLabels, exemplar }) => ({ tenant, seriesLabels, ...exemplar })),
        onFsync: (seconds) => {
          if (this.fsyncSeconds.length >= 1024) this.fsyncSeconds.shift();
          this.fsyncSeconds.push(seconds);
        },
      },
      {
        series: (entries) => this.head.replaySeries(entries),
        samples: (seq, samples) => {
          if (seq >= flushedSeq) missing += this.head.replaySamples(samples);
        },
        exemplars: (entries) => {
          for (const entry of entries) this.exemplarStorage.add(entry.tenant, entry.seriesLabels, entry);
        },
      },
    );
    if (missing > 0) this.options.onError?.(new Error(`TSDB WAL replay: ${missing} samples referred to unknown series and were skipped`));
    this.wal = wal;
    if (this.options.maintenanceIntervalMs > 0) {
      this.timer = setInterval(() => {
        this.maintain().catch((error: unknown) => this.options.onError?.(error as Error));
      }, this.options.maintenanceIntervalMs);
      this.timer.unref();
    }
  }

  append(tenant: string, series: AppendSeries[]): Promise<{ accepted: number; rejected: RejectedSample[]; exemplarsAccepted: number }> {
    return this.appendColumns(tenant, seriesToColumns(series));
  }

  /**
   * Not `async` on purpose: the checks, the head update and the WAL frame encoding happen now, and
   * only the outcome waits for the fsync, so the caller may reuse `columns` (remote_write decodes
   * every request into the same ones) as soon as this returns.
   */
  appendColumns(tenant: string, columns: AppendColumns): Promise<{ accepted: number; rejected: RejectedSample[]; exemplarsAccepted: number }> {
    if (this.closed) return Promise.reject(new Error('TSDB is closed'));
    const result = this.head.appendColumns(tenant, columns);
    const exemplars = columns.exemplars === undefined || columns.exemplars.size === 0 ? [] : this.appendExemplars(tenant, columns, result.rejected);
    const outcome = { accepted: result.accepted, rejected: result.rejected, exemplarsAccepted: exemplars.length };
    if (this.head.sampleCount >= this.options.headMaxSamples) this.maintain().catch((error: unknown) => this.options.onError?.(error as Error));
    if (result.samples.count === 0 && result.newSeries.length === 0 && exemplars.length === 0) return Promise.resolve(outcome);
    return this.wal.append({ series: result.newSeries, samples: result.samples, exemplars }).then(() => outcome);
  }

  /**
   * Stores the exemplars of series whose labels are valid; those refused (out of order, duplicate,
   * labels too long) are dropped silently, as Prometheus' appender drops them.
   */
  private appendExemplars(tenant: string, columns: AppendColumns, rejected: readonly RejectedSample[]): WalExemplar[] {
    const added: WalExemplar[] = [];
    const invalid = new Set(rejected.filter((sample) => sample.reason === 'invalid_labels').map((sample) => sample.labels));
    for (const [index, list] of columns.exemplars ?? []) {
      const labels = columns.labels[index]!;
      if (list.length === 0 || invalid.has(labels)) continue;
      const seriesLabels = withoutEmptyValues(labels);
      for (const exemplar of list) {
        if (!Number.isSafeInteger(exemplar.timestampMs)) continue;
        const exemplarLabels = withoutEmptyValues(exemplar.labels);
        const stored = { labels: exemplarLabels, value: exemplar.value, timestampMs: exemplar.timestampMs };
        if (this.exemplarStorage.add(tenant, seriesLabels, stored) === 'added') added.push({ tenant, seriesLabels, ...stored });
      }
    }
    return added;
  }

  /** Exemplars in [startMs, endMs] of series matching any of the matcher sets (Prometheus' query_exemplars). */
  exemplars(tenant: string, matcherSets: MetricLabelMatcher[][], startMs: number, endMs: number): SeriesExemplars[] {
    return this.exemplarStorage.select(tenant, matcherSets, startMs, endMs);
  }

  /** Remembers remote_write metadata (type, help, unit) per metric family. */
  setMetadata(tenant: string, family: string, metadata: MetricMetadata): void {
    let families = this.metadata.get(tenant);
    if (families === undefined) this.metadata.set(tenant, (families = new Map()));
    families.set(family, metadata);
  }

  getMetadata(tenant: string): Map<string, MetricMetadata> {
    return this.metadata.get(tenant) ?? new Map();
  }

  private tenantBlocks(tenant: string, startMs: number, endMs: number): BlockReader[] {
    return this.blocks.filter((block) => block.meta.tenant === tenant && block.overlaps(startMs, endMs));
  }

  async select(tenant: string, query: SeriesSelectQuery): Promise<SeriesSamples[]> {
    const { matchers, startMs, endMs } = query;
    const newestOnly = query.newestOnly === true;
    // Decoded before the first await: the head's open chunks change with the next append.
    const parts: SeriesSamples[][] = [selectHeadSamples(this.head.matchingSeries(tenant, matchers, startMs, endMs), startMs, endMs, newestOnly, query.scratch)];
    for (const block of this.tenantBlocks(tenant, startMs, endMs)) parts.push(await block.select(this.store, matchers, startMs, endMs, newestOnly, query.scratch));
    const merged = mergeSelections(parts);
    return newestOnly && parts.length > 1 ? merged.map(newestSample) : merged;
  }

  createScratch(): SelectScratch {
    return new QueryScratch();
  }

  async series(tenant: string, matcherSets: MetricLabelMatcher[][], startMs: number, endMs: number): Promise<Labels[]> {
    const byKey = new Map<string, Labels>();
    const blocks = this.tenantBlocks(tenant, startMs, endMs);
    for (const matchers of matcherSets) {
      for (const labels of this.head.seriesLabels(tenant, matchers, startMs, endMs)) byKey.set(seriesKey(labels), labels);
      for (const block of blocks) for (const labels of await block.seriesLabels(this.store, matchers)) byKey.set(seriesKey(labels), labels);
    }
    return [...byKey.values()];
  }

  async labelNames(tenant: string, startMs: number, endMs: number, matcherSets?: MetricLabelMatcher[][]): Promise<string[]> {
    return labelNamesOf(await this.series(tenant, matcherSets ?? [[{ name: '__name__', type: '=~', value: '.+' }]], startMs, endMs));
  }

  async labelValues(tenant: string, name: string, startMs: number, endMs: number, matcherSets?: MetricLabelMatcher[][]): Promise<string[]> {
    return labelValuesOf(await this.series(tenant, matcherSets ?? [[{ name, type: '=~', value: '.+' }]], startMs, endMs), name);
  }

  /** Runs `task` after every earlier flush/maintenance task (they change the block list). */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(task);
    this.exclusive = run.then(() => undefined, () => undefined);
    return run;
  }

  flush(): Promise<void> {
    return this.serialized(() => this.cutHead());
  }

  /** One maintenance pass: cut the head if due, compact, apply retention. */
  maintain(): Promise<void> {
    return this.serialized(async () => {
      const now = this.options.now();
      if (this.head.sampleCount > 0 && (now - this.lastCutAtMs >= this.options.headCutIntervalMs || this.head.sampleCount >= this.options.headMaxSamples)) {
        await this.cutHead();
      }
      await this.compact();
      await this.applyRetention(now);
    });
  }

  private async cutHead(): Promise<void> {
    const walSeqEnd = this.wal.nextSeq;
    const cut = this.head.cut();
    this.lastCutAtMs = this.options.now();
    const written: BlockReader[] = [];
    for (const [tenant, series] of cut) {
      for (const group of splitByRange(series, this.options.blockRangeMs)) {
        // The head's 120-sample chunks become block-sized ones (compaction.ts).
        const block = this.buildBlock(tenant, mergeSeries([group], this.options.blockRangeMs), walSeqEnd, 1);
        if (block !== undefined) written.push(block);
      }
    }
    // Readable from memory at once; durable below.
    this.blocks.push(...written);
    for (const block of this.blocks.filter((candidate) => candidate.inMemory)) await this.persist(block);
    for (const [tenant, families] of this.metadata) {
      await this.store.put(`${this.options.keyPrefix}/${encodeURIComponent(tenant)}/metadata.json`, Buffer.from(JSON.stringify(Object.fromEntries(families))));
    }
    await this.store.put(`${this.options.keyPrefix}/${POINTER_NAME}`, Buffer.from(JSON.stringify({ walSeqEnd })));
    await this.wal.rotate();
    await this.wal.truncateBefore(walSeqEnd);
  }

  private buildBlock(tenant: string, series: BlockSeriesInput[], walSeqEnd: number, level: number): BlockReader | undefined {
    const { data, meta } = encodeBlock(series);
    if (meta.stats.samples === 0) return undefined;
    const id = `${String(Math.max(0, meta.minTimeMs)).padStart(15, '0')}-${randomBytes(6).toString('hex')}`;
    return new BlockReader({ version: BLOCK_FORMAT_VERSION, id, tenant, walSeqEnd, level, ...meta }, this.options.keyPrefix, data);
  }

  private async persist(block: BlockReader): Promise<void> {
    await block.loadIndex(this.store);
    await this.store.put(block.dataKey, await block.readData(this.store));
    await this.store.put(block.metaKey, Buffer.from(JSON.stringify(block.meta)));
    block.persisted();
  }

  /** Merges blocks per tenant and window (see compaction.ts); returns how many merges ran. */
  async compact(): Promise<number> {
    let merges = 0;
    const tenants = new Set(this.blocks.map((block) => block.meta.tenant));
    const closedBeforeMs = Math.min(this.head.minTimeMs, this.options.now() - this.options.outOfOrderWindowMs);
    for (const tenant of tenants) {
      const metas = this.blocks.filter((block) => block.meta.tenant === tenant && !block.inMemory).map((block) => block.meta);
      for (const group of planCompaction(metas, compactionRangesMs(this.options.blockRangeMs), closedBeforeMs)) {
        const inputs = this.blocks.filter((block) => group.includes(block.meta));
        const series = await Promise.all(inputs.map((block) => block.readAll(this.store)));
        const merged = this.buildBlock(tenant, mergeSeries(series, this.options.blockRangeMs), Math.max(...group.map((meta) => meta.walSeqEnd)), Math.max(...group.map((meta) => meta.level)) + 1);
        if (merged !== undefined) {
          await this.persist(merged);
          this.blocks.push(merged);
        }
        this.blocks = this.blocks.filter((block) => !inputs.includes(block));
        for (const block of inputs) await this.deleteBlock(block);
        merges++;
      }
    }
    return merges;
  }

  private async deleteBlock(block: BlockReader): Promise<void> {
    await this.store.delete(block.metaKey);
    await this.store.delete(block.dataKey);
  }

  private async applyRetention(nowMs: number): Promise<void> {
    if (this.options.retentionMs <= 0) return;
    const horizonMs = nowMs - this.options.retentionMs;
    const expired = this.blocks.filter((block) => !block.inMemory && block.meta.maxTimeMs < horizonMs);
    if (expired.length === 0) return;
    this.blocks = this.blocks.filter((block) => !expired.includes(block));
    for (const block of expired) await this.deleteBlock(block);
  }

  /** Runs retention now (tests and the admin path). */
  retention(): Promise<void> {
    return this.serialized(() => this.applyRetention(this.options.now()));
  }

  blockMetas(): BlockMeta[] {
    return this.blocks.map((block) => block.meta);
  }

  stats(): TsdbStats {
    let blockBytes = 0;
    let blockSamples = 0;
    for (const block of this.blocks) {
      blockBytes += block.meta.dataBytes;
      blockSamples += block.meta.stats.samples;
    }
    return {
      headSeries: this.head.seriesCount,
      headSamples: this.head.sampleCount,
      blocks: this.blocks.length,
      blockBytes,
      blockSamples,
      walSegments: this.wal.segmentCount(),
      walFsyncSeconds: this.fsyncSeconds.slice(),
    };
  }

  /** Flushes the head into blocks and closes the WAL. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    try {
      await this.serialized(() => this.cutHead());
    } finally {
      await this.wal.close();
      this.head.close();
      if (this.options.ownsObjectStore) await this.store.close();
    }
  }
}

function withoutEmptyValues(labels: Labels): Labels {
  for (const name in labels) {
    if (labels[name] !== '') continue;
    const clean: Labels = {};
    for (const other in labels) if (labels[other] !== '') clean[other] = labels[other]!;
    return clean;
  }
  return labels;
}

/** Splits cut series by block range (each head chunk lies in one range). */
function splitByRange(series: CutSeries[], blockRangeMs: number): BlockSeriesInput[][] {
  const ranges = new Map<number, BlockSeriesInput[]>();
  for (const entry of series) {
    const byRange = new Map<number, BlockSeriesInput>();
    for (const chunk of entry.chunks) {
      const range = Math.floor(chunk.minTimeMs / blockRangeMs);
      let target = byRange.get(range);
      if (target === undefined) {
        target = { labels: entry.labels, chunks: [] };
        byRange.set(range, target);
        let list = ranges.get(range);
        if (list === undefined) ranges.set(range, (list = []));
        list.push(target);
      }
      target.chunks.push(chunk);
    }
  }
  return [...ranges.values()];
}

/** Merges per-source selections by label set; overlapping samples are deduplicated by timestamp. */
export function mergeSelections(parts: SeriesSamples[][]): SeriesSamples[] {
  const nonEmpty = parts.filter((part) => part.length > 0);
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  const byKey = new Map<string, SeriesSamples[]>();
  for (const part of nonEmpty) {
    for (const series of part) {
      const key = seriesKey(series.labels);
      const list = byKey.get(key);
      if (list === undefined) byKey.set(key, [series]);
      else list.push(series);
    }
  }
  const out: SeriesSamples[] = [];
  for (const list of byKey.values()) out.push(list.length === 1 ? list[0]! : mergeSamples(list));
  return out;
}

/** A series' last sample alone (head and blocks each gave their newest). */
function newestSample(series: SeriesSamples): SeriesSamples {
  const count = series.timestampsMs.length;
  if (count <= 1) return series;
  const newest: SeriesSamples = { labels: series.labels, timestampsMs: series.timestampsMs.subarray(count - 1), values: series.values.subarray(count - 1) };
  if (series.stale?.[count - 1] === 1) newest.stale = series.stale.subarray(count - 1);
  return newest;
}

function mergeSamples(list: SeriesSamples[]): SeriesSamples {
  let total = 0;
  for (const series of list) total += series.timestampsMs.length;
  const index: Array<[number, number]> = [];
  list.forEach((series, s) => {
    for (let i = 0; i < series.timestampsMs.length; i++) index.push([s, i]);
  });
  index.sort((a, b) => list[a[0]]!.timestampsMs[a[1]]! - list[b[0]]!.timestampsMs[b[1]]! || a[0] - b[0]);
  const timestampsMs = new Float64Array(total);
  const values = new Float64Array(total);
  const stale = new Uint8Array(total);
  let count = 0;
  for (const [s, i] of index) {
    const series = list[s]!;
    const t = series.timestampsMs[i]!;
    if (count > 0 && timestampsMs[count - 1] === t) continue;
    timestampsMs[count] = t;
    values[count] = series.values[i]!;
    stale[count] = series.stale?.[i] ?? 0;
    count++;
  }
  const merged: SeriesSamples = { labels: list[0]!.labels, timestampsMs: timestampsMs.subarray(0, count), values: values.subarray(0, count) };
  if (stale.subarray(0, count).includes(1)) merged.stale = stale.subarray(0, count);
  return merged;
}

export function openTsdb(options: TsdbOptions): Promise<Tsdb> {
  return Tsdb.open(options);
}
