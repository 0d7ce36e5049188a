// Reads one block: its meta, its index (loaded on first use and kept), and the chunks of the series a
// query selects (one ranged read spanning them). A block just cut from the head is readable from
// memory until its objects are durable.

import type { ObjectStore } from '../objstore/object-store.ts';
import { chunkAt, decodeBlockIndex, decodePage, type BlockIndex, type BlockMeta, type ChunkRef } from './block.ts';
import { chunkSampleCount, decodeChunkInto } from './chunk.ts';
import type { StoredChunk } from './head.ts';
import { selectArena } from './series-select.ts';
import type { Labels, MetricLabelMatcher, SelectScratch, SeriesSamples } from './types.ts';

export function blockDirectory(prefix: string, tenant: string, id: string): string {
  return `${prefix}/${encodeURIComponent(tenant)}/${id}`;
}

export class BlockReader {
  readonly meta: BlockMeta;
  private readonly directory: string;
  private memoryData: Buffer | undefined;
  private index: BlockIndex | undefined;
  private loading: Promise<BlockIndex> | undefined;

  constructor(meta: BlockMeta, prefix: string, memoryData?: Buffer) {
    this.meta = meta;
    this.directory = blockDirectory(prefix, meta.tenant, meta.id);
    this.memoryData = memoryData;
  }

  get dataKey(): string {
    return `${this.directory}/data`;
  }

  get metaKey(): string {
    return `${this.directory}/meta.json`;
  }

  /** The data is durable: drop the in-memory copy (the index stays loaded). */
  persisted(): void {
    this.memoryData = undefined;
  }

  get inMemory(): boolean {
    return this.memoryData !== undefined;
  }

  /** Drops the decoded index (memory) when the block has not been read for a while. */
  unloadIndex(): void {
    if (this.memoryData === undefined) this.index = undefined;
  }

  overlaps(startMs: number, endMs: number): boolean {
    return this.meta.maxTimeMs >= startMs && this.meta.minTimeMs <= endMs;
  }

  async loadIndex(store: ObjectStore): Promise<BlockIndex> {
    if (this.index !== undefined) return this.index;
    this.loading ??= (async () => {
      const bytes = this.memoryData?.subarray(this.meta.indexOffset, this.meta.indexOffset + this.meta.indexLength)
        ?? (await store.getRange(this.dataKey, this.meta.indexOffset, this.meta.indexLength));
      this.index = decodeBlockIndex(bytes, this.meta);
      return this.index;
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /**
   * Returns a function giving each wanted chunk's bytes, after one ranged read spanning them all
   * (version 2: the pages holding them, each decompressed once; version 1: the chunks themselves).
   */
  private async chunkSource(store: ObjectStore, index: BlockIndex, refs: ChunkRef[]): Promise<(ref: ChunkRef) => Uint8Array> {
    if (refs.length === 0) return () => new Uint8Array(0);
    const pages = index.pages;
    let start = Infinity;
    let end = 0;
    for (const ref of refs) {
      const from = pages === undefined ? ref.offset : pages[ref.page]!.offset;
      const to = pages === undefined ? ref.offset + ref.length + 8 : pages[ref.page]!.offset + pages[ref.page]!.compressedLength;
      if (from < start) start = from;
      if (to > end) end = to;
    }
    const buffer = this.memoryData !== undefined ? this.memoryData.subarray(start, end) : await store.getRange(this.dataKey, start, end - start);
    if (pages === undefined) return (ref) => chunkAt(buffer, start, ref);
    const decoded = new Map<number, Buffer>();
    return (ref) => {
      let raw = decoded.get(ref.page);
      if (raw === undefined) {
        const page = pages[ref.page]!;
        raw = decodePage(buffer.subarray(page.offset - start, page.offset - start + page.compressedLength), page, ref.page);
        decoded.set(ref.page, raw);
      }
      return raw.subarray(ref.offset, ref.offset + ref.length);
    };
  }

  /** Matching series with their samples in [startMs, endMs] (with `newestOnly`, the newest one). */
  async select(store: ObjectStore, matchers: readonly MetricLabelMatcher[], startMs: number, endMs: number, newestOnly = false, scratch?: SelectScratch): Promise<SeriesSamples[]> {
    const index = await this.loadIndex(store);
    const ids = index.postings.select(matchers);
    const wanted: Array<{ id: number; refs: ChunkRef[] }> = [];
    const all: ChunkRef[] = [];
    for (const id of ids) {
      let refs = index.chunks[id]!.filter((ref) => ref.maxTimeMs >= startMs && ref.minTimeMs <= endMs);
      if (refs.length === 0) continue;
      // Chunks ascend: the newest sample in range is in the last chunk overlapping it.
      if (newestOnly) refs = refs.slice(-1);
      wanted.push({ id, refs });
      all.push(...refs);
    }
    const chunkBytes = await this.chunkSource(store, index, all);
    let capacity = 0;
    for (const ref of all) capacity += ref.count;
    // Decoded after the last await: the query's arena is not shared with another select meanwhile.
    const arena = selectArena(scratch, capacity);
    const out: SeriesSamples[] = [];
    for (const { id, refs } of wanted) {
      const from = arena.length;
      for (const ref of refs) {
        const bytes = chunkBytes(ref);
        if (chunkSampleCount(bytes) > ref.count) throw new Error(`block ${this.meta.id}: chunk at ${ref.offset} holds more samples than its index says`);
        arena.reserve(ref.count);
        arena.length = decodeChunkInto(bytes, arena.timestampsMs, arena.values, arena.stale, arena.length, startMs, endMs);
      }
      if (newestOnly) arena.keepNewest(from);
      const samples = arena.take(index.labels[id]!, from);
      if (samples !== undefined) out.push(samples);
    }
    return out;
  }

  /** Label sets of matching series (the block's time range is checked by the caller). */
  async seriesLabels(store: ObjectStore, matchers: readonly MetricLabelMatcher[]): Promise<Labels[]> {
    const index = await this.loadIndex(store);
    return index.postings.select(matchers).map((id) => index.labels[id]!);
  }

  /** The whole data object. */
  async readData(store: ObjectStore): Promise<Buffer> {
    return this.memoryData ?? (await store.get(this.dataKey));
  }

  /** Every series with all its chunks (for compaction). */
  async readAll(store: ObjectStore): Promise<Array<{ labels: Labels; chunks: StoredChunk[] }>> {
    const index = await this.loadIndex(store);
    const chunkBytes = await this.chunkSource(store, index, index.chunks.flat());
    return index.labels.map((labels, id) => ({
      labels,
      chunks: index.chunks[id]!.map((ref) => ({ minTimeMs: ref.minTimeMs, maxTimeMs: ref.maxTimeMs, count: ref.count, bytes: chunkBytes(ref) })),
    }));
  }
}
