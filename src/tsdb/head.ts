// The head: the in-memory newest part of the TSDB. Per tenant, a series index; per series, closed
// Gorilla chunks, one open chunk being appended and a small sorted buffer of out-of-order samples.
// Samples are checked here as a Prometheus head checks them (append-time, before the WAL write):
// newer than the series' last sample → appended; same timestamp and same value → ignored; same
// timestamp, other value → duplicate_timestamp; older → accepted only inside the out-of-order window
// (relative to the tenant's newest sample), else out_of_order (window 0) or too_old.
// Chunks never cross a block-range boundary, so a cut hands whole chunks to the block writer.

import { ChunkEncoder, decodeChunkInto, SAMPLES_PER_CHUNK, sealChunk, sealChunkBytes } from './chunk.ts';
import { HeadChunks } from './head-chunks.ts';
import { OpenChunks, type OpenChunkReader } from './open-chunks.ts';
import { LabelSetMap, SeriesIndex } from './series-index.ts';
import type { AppendColumns, AppendSeries, Labels, MetricExemplar, MetricLabelMatcher, RejectedSample } from './types.ts';
import type { WalSamples, WalSeriesEntry } from './wal-record.ts';

export interface StoredChunk {
  minTimeMs: number;
  maxTimeMs: number;
  count: number;
  bytes: Uint8Array;
}

/**
 * What the read path (tsdb.ts' select, series-select.ts) sees of a head series. Read-only, and read
 * synchronously: the open chunk and the out-of-order buffer change with the next append.
 */
export interface HeadSeriesView {
  readonly labels: Labels;
  readonly chunks: readonly StoredChunk[];
  readonly open: OpenChunkReader | undefined;
  readonly oooTimesMs: readonly number[] | undefined;
  readonly oooValues: readonly number[] | undefined;
  readonly oooStale: readonly boolean[] | undefined;
}

interface MemSeries {
  id: number;
  tenant: string;
  labels: Labels;
  /** First and last of its sealed chunks in the head's HeadChunks (-1: none). */
  firstChunk: number;
  lastChunk: number;
  /**
   * Its slot in the head's OpenChunks: the open chunk (none when its count is 0; the end of the block
   * range it lies in follows from its minTimeMs), and the newest sample's time and value.
   */
  slot: number;
  /** Out-of-order samples (older than the newest sample), ascending by time; one field where three cost a series 16 bytes. */
  ooo: OutOfOrderSamples | undefined;
  /** Set when a sample arrived since the last cut; series without one are dropped at the cut. */
  touched: boolean;
}

interface OutOfOrderSamples {
  timesMs: number[];
  values: number[];
  stale: boolean[];
}

interface TenantHead {
  index: SeriesIndex;
  byLabels: LabelSetMap<MemSeries>;
  /** Interned label objects (AppendSeries.labelsInterned) of live series: a lookup by identity. */
  byLabelsObject: Map<Labels, MemSeries>;
  maxTimeMs: number;
}

export interface HeadOptions {
  blockRangeMs: number;
  outOfOrderWindowMs: number;
  /** Where sealed chunks' full pages go (head-chunks.ts); none keeps them in memory. */
  chunksFile?: string;
}

/** What append() accepted, to be written to the WAL before the caller is answered (and before the next append). */
export interface HeadAppendResult {
  newSeries: WalSeriesEntry[];
  samples: WalSamples;
  accepted: number;
  rejected: RejectedSample[];
}

/** One series' chunks as cut from the head, each lying inside one block range. */
export interface CutSeries {
  labels: Labels;
  chunks: StoredChunk[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/**
 * Room in a new open chunk's buffer beyond its series' previous chunk's size. At 1.1, ~6% of the
 * tsdb bench's open chunks outgrew it (and then doubled once); the buffer is ~10% slack otherwise.
 */
const OPEN_CHUNK_ROOM = 1.1;
/** A brand-new series may start this far behind the tenant's newest sample even with no OOO window. */
const NEW_SERIES_GRACE_MS = 60 * 60_000;

export class Head {
  private readonly options: HeadOptions;
  private readonly tenants = new Map<string, TenantHead>();
  private readonly byId = new Map<number, MemSeries>();
  private readonly chunks: HeadChunks;
  private readonly openChunks = new OpenChunks();
  private nextId = 1;
  sampleCount = 0;
  minTimeMs = Infinity;
  private walSamples: WalSamples = { ids: new Uint32Array(256), timestampsMs: new Float64Array(256), values: new Float64Array(256), stale: new Uint8Array(256), count: 0 };

  constructor(options: HeadOptions) {
    this.options = options;
    this.chunks = new HeadChunks(options.chunksFile);
  }

  /** Closes the sealed chunks' file (the head stays readable from memory). */
  close(): void {
    this.chunks.close();
  }

  get seriesCount(): number {
    return this.byId.size;
  }

  private tenant(name: string): TenantHead {
    let head = this.tenants.get(name);
    if (head === undefined) {
      head = { index: new SeriesIndex(), byLabels: new LabelSetMap(), byLabelsObject: new Map(), maxTimeMs: -Infinity };
      this.tenants.set(name, head);
    }
    return head;
  }

  private createSeries(tenant: TenantHead, tenantName: string, labels: Labels, id = this.nextId++): MemSeries {
    if (id >= this.nextId) this.nextId = id + 1;
    const series: MemSeries = {
      id, tenant: tenantName, labels, firstChunk: -1, lastChunk: -1, slot: this.openChunks.create(), ooo: undefined, touched: true,
    };
    tenant.byLabels.add(series);
    tenant.index.add(id, labels);
    this.byId.set(id, series);
    return series;
  }

  /** Checks and applies samples; the caller writes the result to the WAL. */
  append(tenantName: string, input: readonly AppendSeries[]): HeadAppendResult {
    return this.appendColumns(tenantName, seriesToColumns(input));
  }

  /**
   * Checks and applies samples given as columns; the caller writes the result to the WAL before the
   * next append (`samples` is scratch memory the next append reuses: a request's accepted samples
   * then leave no garbage behind).
   */
  appendColumns(tenantName: string, columns: AppendColumns): HeadAppendResult {
    const tenant = this.tenant(tenantName);
    const newSeries: WalSeriesEntry[] = [];
    const seriesCount = columns.seriesCount;
    const samples = this.walScratch(seriesCount === 0 ? 0 : columns.sampleEnd[seriesCount - 1]!);
    const rejected: RejectedSample[] = [];
    const { timestampsMs: times, values, stale: staleFlags } = columns;
    let from = 0;
    for (let i = 0; i < seriesCount; i++) {
      const to = columns.sampleEnd[i]!;
      const entryLabels = columns.labels[i]!;
      const interned = columns.interned[i] === 1;
      const first = from;
      from = to;
      let series = interned ? tenant.byLabelsObject.get(entryLabels) : undefined;
      let labels: Labels;
      if (series !== undefined) labels = series.labels;
      else {
        const clean = cleanLabels(entryLabels);
        if (clean === undefined) {
          for (let j = first; j < to; j++) rejected.push({ labels: entryLabels, timestampMs: times[j]!, reason: 'invalid_labels' });
          continue;
        }
        labels = clean;
        series = tenant.byLabels.get(labels);
        if (series !== undefined && interned) tenant.byLabelsObject.set(entryLabels, series);
      }
      for (let j = first; j < to; j++) {
        const timestampMs = times[j]!;
        if (!Number.isSafeInteger(timestampMs)) {
          rejected.push({ labels, timestampMs, reason: 'too_old' });
          continue;
        }
        const stale = staleFlags[j] === 1;
        const value = values[j]!;
        const floor = tenant.maxTimeMs - Math.max(this.options.outOfOrderWindowMs, series === undefined || this.openChunks.maxTimeMs[series.slot] === -Infinity ? NEW_SERIES_GRACE_MS : 0);
        if (series === undefined) {
          if (timestampMs < floor) {
            rejected.push({ labels, timestampMs, reason: 'too_old' });
            continue;
          }
          series = this.createSeries(tenant, tenantName, labels);
          if (interned) tenant.byLabelsObject.set(entryLabels, series);
          newSeries.push({ id: series.id, tenant: tenantName, labels });
        }
        const outcome = this.place(tenant, series, timestampMs, value, stale, floor);
        if (outcome === 'appended') {
          const at = samples.count++;
          samples.ids[at] = series.id;
          samples.timestampsMs[at] = timestampMs;
          samples.values[at] = value;
          samples.stale[at] = stale ? 1 : 0;
        } else if (outcome !== 'ignored') {
          rejected.push({ labels, timestampMs, reason: outcome });
        }
      }
    }
    return { newSeries, samples, accepted: samples.count, rejected };
  }

  /** The WAL sample scratch, emptied, with room for `count` samples. */
  private walScratch(count: number): WalSamples {
    let scratch = this.walSamples;
    if (scratch.ids.length < count) {
      const size = Math.max(count, scratch.ids.length * 2);
      scratch = this.walSamples = { ids: new Uint32Array(size), timestampsMs: new Float64Array(size), values: new Float64Array(size), stale: new Uint8Array(size), count: 0 };
    }
    scratch.count = 0;
    return scratch;
  }

  /** Replays WAL series definitions (ids kept, so later samples resolve). */
  replaySeries(entries: readonly WalSeriesEntry[]): void {
    for (const entry of entries) {
      if (this.byId.has(entry.id)) continue;
      const tenant = this.tenant(entry.tenant);
      const existing = tenant.byLabels.get(entry.labels);
      if (existing !== undefined) {
        // The same label set under a second id (re-created after a cut): both ids map to one series.
        this.byId.set(entry.id, existing);
        if (entry.id >= this.nextId) this.nextId = entry.id + 1;
        continue;
      }
      this.createSeries(tenant, entry.tenant, entry.labels, entry.id);
    }
  }

  /** Replays WAL samples (accepted once): duplicates are ignored, nothing is rejected. Returns how
   * many referred to an unknown series. */
  replaySamples(walSamples: WalSamples): number {
    let missing = 0;
    const { ids, timestampsMs, values, stale, count } = walSamples;
    for (let i = 0; i < count; i++) {
      const series = this.byId.get(ids[i]!);
      if (series === undefined) {
        missing++;
        continue;
      }
      this.place(this.tenants.get(series.tenant)!, series, timestampsMs[i]!, values[i]!, stale[i] === 1, -Infinity);
    }
    return missing;
  }

  private place(tenant: TenantHead, series: MemSeries, timestampMs: number, value: number, stale: boolean, floorMs: number): 'appended' | 'ignored' | RejectedSample['reason'] {
    series.touched = true;
    const openChunks = this.openChunks;
    const maxTimeMs = openChunks.maxTimeMs[series.slot]!;
    if (timestampMs > maxTimeMs) {
      this.appendInOrder(series, timestampMs, value, stale);
      if (timestampMs > tenant.maxTimeMs) tenant.maxTimeMs = timestampMs;
      return 'appended';
    }
    if (timestampMs === maxTimeMs) {
      return sameValue(openChunks.lastValue(series.slot), openChunks.lastStale(series.slot), value, stale) ? 'ignored' : 'duplicate_timestamp';
    }
    if (this.options.outOfOrderWindowMs <= 0 && floorMs !== -Infinity) return 'out_of_order';
    if (timestampMs < floorMs) return 'too_old';
    const existing = this.findSample(series, timestampMs);
    if (existing !== undefined) return sameValue(existing.value, existing.stale, value, stale) ? 'ignored' : 'duplicate_timestamp';
    this.insertOutOfOrder(series, timestampMs, value, stale);
    return 'appended';
  }

  private appendInOrder(series: MemSeries, timestampMs: number, value: number, stale: boolean): void {
    const openChunks = this.openChunks;
    const open = series.slot;
    let expectedBytes = 0;
    const range = this.options.blockRangeMs;
    let count = openChunks.count[open]!;
    if (count > 0) {
      const minTimeMs = openChunks.minTimeMs[open]!;
      if (count >= SAMPLES_PER_CHUNK || timestampMs >= (Math.floor(minTimeMs / range) + 1) * range) {
        series.lastChunk = this.chunks.add(sealChunkBytes(openChunks.bytes(open), count), minTimeMs, openChunks.maxTimeMs[open]!, count, series.lastChunk);
        if (series.firstChunk < 0) series.firstChunk = series.lastChunk;
        // The next chunk likely takes about as many bytes (a little more room: one allocation).
        if (count >= SAMPLES_PER_CHUNK) expectedBytes = Math.ceil(openChunks.byteLength(open) * OPEN_CHUNK_ROOM) + 8;
        openChunks.endChunk(open);
        count = 0;
      }
    }
    if (count === 0) openChunks.startChunk(open, expectedBytes);
    openChunks.append(open, timestampMs, value, stale);
    this.sampleCount++;
    if (timestampMs < this.minTimeMs) this.minTimeMs = timestampMs;
  }

  private insertOutOfOrder(series: MemSeries, timestampMs: number, value: number, stale: boolean): void {
    const ooo = (series.ooo ??= { timesMs: [], values: [], stale: [] });
    const { timesMs: times, values, stale: flags } = ooo;
    let at = times.length;
    while (at > 0 && times[at - 1]! > timestampMs) at--;
    times.splice(at, 0, timestampMs);
    values.splice(at, 0, value);
    flags.splice(at, 0, stale);
    this.sampleCount++;
    if (timestampMs < this.minTimeMs) this.minTimeMs = timestampMs;
  }

  private findSample(series: MemSeries, timestampMs: number): { value: number; stale: boolean } | undefined {
    const ooo = series.ooo;
    if (ooo !== undefined) {
      const at = ooo.timesMs.indexOf(timestampMs);
      if (at >= 0) return { value: ooo.values[at]!, stale: ooo.stale[at]! };
    }
    const decoded = decodeSeries(this.chunks, this.openChunks, series, timestampMs, timestampMs);
    if (decoded.count === 0) return undefined;
    return { value: decoded.values[0]!, stale: decoded.stale[0] === 1 };
  }

  /**
   * The read path's entry point: the tenant's series matching the matchers, decoded by the caller,
   * listing only the sealed chunks that overlap [startMs, endMs] (each listed chunk is a view made per
   * query: an instant selector over 2 h of head data needs one of four).
   */
  matchingSeries(tenantName: string, matchers: readonly MetricLabelMatcher[], startMs = -Infinity, endMs = Infinity): HeadSeriesView[] {
    const tenant = this.tenants.get(tenantName);
    if (tenant === undefined) return [];
    const stored = this.chunks;
    // With pages in the file, every listed chunk's bytes are read up front in page order (HeadChunks.bytesInPageOrder).
    const listed: SealedChunkView[] | undefined = stored.spilled ? [] : undefined;
    const views = tenant.index.select(matchers).map((id) => {
      const series = this.byId.get(id)!;
      // Sealed chunks live in the head's pages (HeadChunks), maybe in its file: their bytes are read
      // when the caller asks, so chunks outside the query's window stay where they are.
      const chunks: StoredChunk[] = [];
      for (let at = series.firstChunk; at >= 0; at = stored.next[at]!) {
        if (stored.maxTimeMs[at]! < startMs || stored.minTimeMs[at]! > endMs) continue;
        const view = new SealedChunkView(stored, at);
        chunks.push(view);
        listed?.push(view);
      }
      const ooo = series.ooo;
      const open = this.openChunks.count[series.slot]! > 0 ? this.openChunks.view(series.slot) : undefined;
      return { labels: series.labels, chunks, open, oooTimesMs: ooo?.timesMs, oooValues: ooo?.values, oooStale: ooo?.stale };
    });
    if (listed !== undefined && listed.length > 1) {
      const read = stored.bytesInPageOrder(listed.map((view) => view.index));
      for (let k = 0; k < listed.length; k++) listed[k]!.read = read[k];
    }
    return views;
  }

  /** Label sets of series with head samples overlapping [startMs, endMs] (matched by the index). */
  seriesLabels(tenantName: string, matchers: readonly MetricLabelMatcher[], startMs: number, endMs: number): Labels[] {
    const tenant = this.tenants.get(tenantName);
    if (tenant === undefined) return [];
    const out: Labels[] = [];
    for (const id of tenant.index.select(matchers)) {
      const series = this.byId.get(id)!;
      if (overlaps(this.chunks, this.openChunks, series, startMs, endMs)) out.push(series.labels);
    }
    return out;
  }

  tenantNames(): string[] {
    return [...this.tenants.keys()];
  }

  /** Every live series, for the WAL segment preamble. */
  liveSeries(): WalSeriesEntry[] {
    const out: WalSeriesEntry[] = [];
    for (const [id, series] of this.byId) if (series.id === id) out.push({ id, tenant: series.tenant, labels: series.labels });
    return out;
  }

  /**
   * Takes every sample out of the head, per tenant, leaving each series' last timestamp and value
   * (so ordering checks still hold), and drops series that received nothing since the last cut.
   */
  cut(): Map<string, CutSeries[]> {
    const out = new Map<string, CutSeries[]>();
    for (const [tenantName, tenant] of this.tenants) {
      const cutSeries: CutSeries[] = [];
      const dropped = new Set<number>();
      for (const series of [...tenant.byLabels.values()]) {
        if (!series.touched) {
          dropped.add(series.id);
          tenant.byLabels.delete(series);
          this.openChunks.release(series.slot);
          continue;
        }
        series.touched = false;
        if (series.firstChunk < 0 && this.openChunks.count[series.slot] === 0 && series.ooo === undefined) continue;
        cutSeries.push({ labels: series.labels, chunks: this.takeChunks(series) });
      }
      tenant.index.remove(dropped);
      if (dropped.size > 0) for (const [object, series] of tenant.byLabelsObject) if (dropped.has(series.id)) tenant.byLabelsObject.delete(object);
      for (const [id, series] of this.byId) if (dropped.has(series.id)) this.byId.delete(id);
      if (cutSeries.length > 0) out.set(tenantName, cutSeries);
      if (tenant.byLabels.size === 0) this.tenants.delete(tenantName);
    }
    this.chunks.clear();
    this.sampleCount = 0;
    this.minTimeMs = Infinity;
    return out;
  }

  private takeChunks(series: MemSeries): StoredChunk[] {
    let chunks: StoredChunk[] = [];
    const stored = this.chunks;
    for (let at = series.firstChunk; at >= 0; at = stored.next[at]!) chunks.push({ minTimeMs: stored.minTimeMs[at]!, maxTimeMs: stored.maxTimeMs[at]!, count: stored.count[at]!, bytes: stored.bytes(at) });
    const openChunks = this.openChunks;
    const open = series.slot;
    if (openChunks.count[open]! > 0) {
      const count = openChunks.count[open]!;
      chunks.push({ minTimeMs: openChunks.minTimeMs[open]!, maxTimeMs: openChunks.maxTimeMs[open]!, count, bytes: sealChunkBytes(openChunks.bytes(open), count) });
    }
    if (series.ooo !== undefined) {
      // Rare: merge the out-of-order samples in and re-encode, one chunk list per block range.
      const decoded = decodeSeries(stored, openChunks, series, -Infinity, Infinity);
      chunks = encodeChunks(decoded.timestampsMs.subarray(0, decoded.count), decoded.values.subarray(0, decoded.count), decoded.stale.subarray(0, decoded.count), this.options.blockRangeMs);
    }
    series.firstChunk = -1;
    series.lastChunk = -1;
    openChunks.endChunk(open);
    series.ooo = undefined;
    return chunks;
  }
}

/** A sealed head chunk as the read path sees it: times and count now, bytes on first use (synchronously, before the next cut). */
class SealedChunkView implements StoredChunk {
  readonly minTimeMs: number;
  readonly maxTimeMs: number;
  readonly count: number;
  readonly index: number;
  /** The bytes when read ahead (matchingSeries, in page order). */
  read: Uint8Array | undefined;
  private readonly store: HeadChunks;

  constructor(store: HeadChunks, index: number) {
    this.store = store;
    this.index = index;
    this.minTimeMs = store.minTimeMs[index]!;
    this.maxTimeMs = store.maxTimeMs[index]!;
    this.count = store.count[index]!;
    this.read = undefined;
  }

  get bytes(): Uint8Array {
    return this.read ?? this.store.bytes(this.index);
  }
}

function overlaps(chunks: HeadChunks, openChunks: OpenChunks, series: MemSeries, startMs: number, endMs: number): boolean {
  for (let at = series.firstChunk; at >= 0; at = chunks.next[at]!) if (chunks.maxTimeMs[at]! >= startMs && chunks.minTimeMs[at]! <= endMs) return true;
  const open = series.slot;
  if (openChunks.count[open]! > 0 && openChunks.maxTimeMs[open]! >= startMs && openChunks.minTimeMs[open]! <= endMs) return true;
  return series.ooo?.timesMs.some((t) => t >= startMs && t <= endMs) ?? false;
}

function sameValue(a: number, aStale: boolean, b: number, bStale: boolean): boolean {
  if (aStale || bStale) return aStale === bStale;
  // Prometheus compares the float bits: NaN equals NaN, 0 differs from -0.
  return a === b ? a !== 0 || Object.is(a, b) : a !== a && b !== b;
}

/** Drops empty-valued labels (Prometheus treats them as absent); undefined when the set is invalid. */
function cleanLabels(labels: Labels): Labels | undefined {
  let clean: Labels | undefined;
  let count = 0;
  for (const name in labels) {
    const value = labels[name]!;
    if (!LABEL_NAME.test(name) && name !== '__name__') return undefined;
    if (value === '') {
      clean ??= { ...labels };
      delete clean[name];
      continue;
    }
    count++;
  }
  const result = clean ?? labels;
  if (count === 0) return undefined;
  const name = result.__name__;
  if (name !== undefined && !METRIC_NAME.test(name)) return undefined;
  return result;
}

interface DecodedRun {
  timestampsMs: Float64Array;
  values: Float64Array;
  stale: Uint8Array;
  count: number;
}

function decodeSeries(chunks: HeadChunks, openChunks: OpenChunks, series: MemSeries, startMs: number, endMs: number): DecodedRun {
  let capacity = series.ooo?.timesMs.length ?? 0;
  const parts: Uint8Array[] = [];
  for (let at = series.firstChunk; at >= 0; at = chunks.next[at]!) {
    if (chunks.maxTimeMs[at]! < startMs || chunks.minTimeMs[at]! > endMs) continue;
    parts.push(chunks.bytes(at));
    capacity += chunks.count[at]!;
  }
  const open = series.slot;
  if (openChunks.count[open]! > 0 && openChunks.maxTimeMs[open]! >= startMs && openChunks.minTimeMs[open]! <= endMs) {
    parts.push(openChunks.bytes(open));
    capacity += openChunks.count[open]!;
  }
  let timestampsMs: Float64Array = new Float64Array(capacity);
  let values: Float64Array = new Float64Array(capacity);
  let stale: Uint8Array = new Uint8Array(capacity);
  let count = 0;
  for (const bytes of parts) count = decodeChunkInto(bytes, timestampsMs, values, stale, count, startMs, endMs);
  const ooo = series.ooo;
  if (ooo !== undefined) {
    const merged = mergeSorted({ timestampsMs, values, stale, count }, ooo.timesMs, ooo.values, ooo.stale, startMs, endMs);
    timestampsMs = merged.timestampsMs;
    values = merged.values;
    stale = merged.stale;
    count = merged.count;
  }
  return { timestampsMs, values, stale, count };
}

function mergeSorted(run: DecodedRun, times: number[], vals: number[], flags: boolean[], startMs: number, endMs: number): DecodedRun {
  const total = run.count + times.length;
  const out: DecodedRun = { timestampsMs: new Float64Array(total), values: new Float64Array(total), stale: new Uint8Array(total), count: 0 };
  let i = 0;
  let j = 0;
  while (i < run.count || j < times.length) {
    const takeRun = j >= times.length || (i < run.count && run.timestampsMs[i]! <= times[j]!);
    const at = out.count;
    if (takeRun) {
      out.timestampsMs[at] = run.timestampsMs[i]!;
      out.values[at] = run.values[i]!;
      out.stale[at] = run.stale[i]!;
      i++;
    } else {
      const t = times[j]!;
      j++;
      if (t < startMs || t > endMs) continue;
      out.timestampsMs[at] = t;
      out.values[at] = vals[j - 1]!;
      out.stale[at] = flags[j - 1]! ? 1 : 0;
    }
    out.count++;
  }
  return out;
}

/** Encodes ascending samples into chunks of up to `samplesPerChunk` that do not cross a range boundary. */
export function encodeChunks(timestampsMs: Float64Array, values: Float64Array, stale: Uint8Array, blockRangeMs: number, samplesPerChunk = SAMPLES_PER_CHUNK): StoredChunk[] {
  const chunks: StoredChunk[] = [];
  let encoder: ChunkEncoder | undefined;
  let rangeEndMs = 0;
  for (let i = 0; i < timestampsMs.length; i++) {
    const t = timestampsMs[i]!;
    if (encoder !== undefined && (encoder.count >= samplesPerChunk || t >= rangeEndMs)) {
      chunks.push({ minTimeMs: encoder.minTimeMs, maxTimeMs: encoder.maxTimeMs, count: encoder.count, bytes: sealChunk(encoder) });
      encoder = undefined;
    }
    if (encoder === undefined) {
      encoder = new ChunkEncoder();
      rangeEndMs = (Math.floor(t / blockRangeMs) + 1) * blockRangeMs;
    }
    encoder.append(t, values[i]!, stale[i] === 1);
  }
  if (encoder !== undefined) chunks.push({ minTimeMs: encoder.minTimeMs, maxTimeMs: encoder.maxTimeMs, count: encoder.count, bytes: sealChunk(encoder) });
  return chunks;
}

/** AppendSeries as columns (the scrape, Pushgateway and ruler path; remote_write decodes into columns). */
export function seriesToColumns(input: readonly AppendSeries[]): AppendColumns {
  let total = 0;
  for (const entry of input) total += entry.samples.length;
  const columns: AppendColumns & { exemplars: Map<number, readonly MetricExemplar[]> } = {
    seriesCount: input.length,
    labels: input.map((entry) => entry.labels),
    interned: new Uint8Array(input.length),
    sampleEnd: new Uint32Array(input.length),
    timestampsMs: new Float64Array(total),
    values: new Float64Array(total),
    stale: new Uint8Array(total),
    exemplars: new Map<number, readonly MetricExemplar[]>(),
  };
  let at = 0;
  input.forEach((entry, i) => {
    if (entry.labelsInterned === true) columns.interned[i] = 1;
    for (const sample of entry.samples) {
      columns.timestampsMs[at] = sample.timestampMs;
      columns.values[at] = sample.value;
      columns.stale[at] = sample.stale === true ? 1 : 0;
      at++;
    }
    columns.sampleEnd[i] = at;
    if (entry.exemplars !== undefined && entry.exemplars.length > 0) columns.exemplars.set(i, entry.exemplars);
  });
  return columns;
}
