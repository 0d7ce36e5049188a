// The read path's decoding: a selection's samples from head series and block chunks, decoded into one
// growing set of arrays per query (each series a view into it) rather than three fresh arrays per
// series, with chunks outside [startMs, endMs] skipped by their min/max time, decoding stopped past
// endMs, and, for an instant selector (`newestOnly`), one sample per series: the open chunk's newest
// sample is read from its encoder with no decoding at all. On the PromQL compare bench (instant
// queries over 2000 head series) the select path was about half the query time before this.

import { decodeChunkInto, SAMPLES_PER_CHUNK } from './chunk.ts';
import type { HeadSeriesView } from './head.ts';
import type { Labels, SelectScratch, SeriesSamples } from './types.ts';

/** Arrays shared by one selection's series; `length` samples are filled. */
export class SampleArena {
  timestampsMs: Float64Array;
  values: Float64Array;
  stale: Uint8Array;
  length = 0;

  /** `capacity`: the samples expected (counted from chunk headers), so that the arrays rarely grow. */
  constructor(capacity = 1024) {
    this.timestampsMs = new Float64Array(Math.max(16, capacity));
    this.values = new Float64Array(Math.max(16, capacity));
    this.stale = new Uint8Array(Math.max(16, capacity));
  }

  /** Room for `count` more samples. Views taken before a growth keep the old arrays (never written again). */
  reserve(count: number): void {
    const needed = this.length + count;
    if (needed <= this.timestampsMs.length) return;
    let capacity = this.timestampsMs.length * 2;
    while (capacity < needed) capacity *= 2;
    const timestampsMs = new Float64Array(capacity);
    const values = new Float64Array(capacity);
    const stale = new Uint8Array(capacity);
    timestampsMs.set(this.timestampsMs.subarray(0, this.length));
    values.set(this.values.subarray(0, this.length));
    stale.set(this.stale.subarray(0, this.length));
    this.timestampsMs = timestampsMs;
    this.values = values;
    this.stale = stale;
  }

  /** Samples the arrays hold. */
  get capacity(): number {
    return this.timestampsMs.length;
  }

  /** Keeps only the newest of the samples filled since `from`. */
  keepNewest(from: number): void {
    if (this.length - from <= 1) return;
    const last = this.length - 1;
    this.timestampsMs[from] = this.timestampsMs[last]!;
    this.values[from] = this.values[last]!;
    this.stale[from] = this.stale[last]!;
    this.length = from + 1;
  }

  /** The samples filled since `from` as one series, or undefined when there are none. */
  take(labels: Labels, from: number): SeriesSamples | undefined {
    if (this.length === from) return undefined;
    const samples: SeriesSamples = {
      labels,
      timestampsMs: this.timestampsMs.subarray(from, this.length),
      values: this.values.subarray(from, this.length),
    };
    const stale = this.stale.subarray(from, this.length);
    if (stale.includes(1)) samples.stale = stale;
    return samples;
  }
}

/**
 * Arenas kept between queries (QueryScratch): a range query over a few thousand series decodes
 * megabytes, and fresh zeroed arrays for each query (page faults on first touch, off-heap memory for
 * the collector) took about 2 of 22 ms CPU of the compare bench's range topk. At most this many are
 * kept, each up to POOLED_MAX_SAMPLES (17 bytes a sample: 34 MB), so idle memory stays bounded.
 */
const POOL_SIZE = 2;
const POOLED_MAX_SAMPLES = 2_000_000;
const pool: SampleArena[] = [];

/** One query's decoding memory: an arena its selects append to, back to the pool on release(). */
export class QueryScratch implements SelectScratch {
  private current: SampleArena | undefined;
  private released = false;

  /** The query's arena, with room for `count` more samples. */
  arena(count: number): SampleArena {
    if (this.released) throw new Error('query scratch used after release');
    this.current ??= pool.pop() ?? new SampleArena(count);
    this.current.reserve(count);
    return this.current;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const arena = this.current;
    this.current = undefined;
    if (arena === undefined || arena.capacity > POOLED_MAX_SAMPLES || pool.length >= POOL_SIZE) return;
    arena.length = 0;
    pool.push(arena);
  }
}

/** The arena a select decodes into: the query's scratch one when it has one, else a fresh one. */
export function selectArena(scratch: SelectScratch | undefined, count: number): SampleArena {
  return scratch instanceof QueryScratch ? scratch.arena(count) : new SampleArena(count);
}

/** Head series' samples in [startMs, endMs] (with `newestOnly`, just the newest one). */
export function selectHeadSamples(series: readonly HeadSeriesView[], startMs: number, endMs: number, newestOnly: boolean, scratch?: SelectScratch): SeriesSamples[] {
  const arena = selectArena(scratch, newestOnly ? series.length + SAMPLES_PER_CHUNK : overlappingSamples(series, startMs, endMs));
  const out: SeriesSamples[] = [];
  for (const entry of series) {
    const from = arena.length;
    if (newestOnly && entry.oooTimesMs === undefined) newestFromHead(entry, startMs, endMs, arena);
    else {
      const merged = decodeHeadSeries(entry, startMs, endMs, arena);
      if (merged !== undefined) {
        if (newestOnly) merged.keepNewest(0);
        const samples = merged.take(entry.labels, 0);
        if (samples !== undefined) out.push(samples);
        continue;
      }
      if (newestOnly) arena.keepNewest(from);
    }
    const samples = arena.take(entry.labels, from);
    if (samples !== undefined) out.push(samples);
  }
  return out;
}

/** An upper bound of the samples a selection decodes: the counts of the chunks overlapping the range. */
function overlappingSamples(series: readonly HeadSeriesView[], startMs: number, endMs: number): number {
  let total = 0;
  for (const entry of series) {
    for (const chunk of entry.chunks) if (chunk.maxTimeMs >= startMs && chunk.minTimeMs <= endMs) total += chunk.count;
    const open = entry.open;
    if (open !== undefined && open.maxTimeMs >= startMs && open.minTimeMs <= endMs) total += open.count;
  }
  return total;
}

/**
 * The newest sample in [startMs, endMs] of a series with no out-of-order samples: chunks ascend, so it
 * lies in the newest chunk starting at or before endMs, or nowhere.
 */
function newestFromHead(series: HeadSeriesView, startMs: number, endMs: number, arena: SampleArena): void {
  const open = series.open;
  if (open !== undefined && open.count > 0 && open.minTimeMs <= endMs) {
    if (open.maxTimeMs <= endMs) {
      if (open.maxTimeMs < startMs) return;
      arena.reserve(1);
      open.newestInto(arena.timestampsMs, arena.values, arena.stale, arena.length);
      arena.length++;
      return;
    }
    const from = arena.length;
    arena.reserve(open.count);
    arena.length = open.decodeInto(arena.timestampsMs, arena.values, arena.stale, from, startMs, endMs);
    arena.keepNewest(from);
    return;
  }
  const chunks = series.chunks;
  for (let k = chunks.length - 1; k >= 0; k--) {
    const chunk = chunks[k]!;
    if (chunk.minTimeMs > endMs) continue;
    if (chunk.maxTimeMs < startMs) return;
    const from = arena.length;
    arena.reserve(chunk.count);
    arena.length = decodeChunkInto(chunk.bytes, arena.timestampsMs, arena.values, arena.stale, from, startMs, endMs);
    arena.keepNewest(from);
    return;
  }
}

/**
 * Decodes a head series' chunks overlapping [startMs, endMs] into the arena. With out-of-order samples
 * (rare) the merge goes to a separate arena, which is returned.
 */
function decodeHeadSeries(series: HeadSeriesView, startMs: number, endMs: number, arena: SampleArena): SampleArena | undefined {
  const from = arena.length;
  for (const chunk of series.chunks) {
    if (chunk.maxTimeMs < startMs || chunk.minTimeMs > endMs) continue;
    arena.reserve(chunk.count);
    arena.length = decodeChunkInto(chunk.bytes, arena.timestampsMs, arena.values, arena.stale, arena.length, startMs, endMs);
  }
  const open = series.open;
  if (open !== undefined && open.count > 0 && open.maxTimeMs >= startMs && open.minTimeMs <= endMs) {
    arena.reserve(open.count);
    arena.length = open.decodeInto(arena.timestampsMs, arena.values, arena.stale, arena.length, startMs, endMs);
  }
  const times = series.oooTimesMs;
  if (times === undefined) return undefined;
  const values = series.oooValues!;
  const flags = series.oooStale!;
  const merged = new SampleArena();
  merged.reserve(arena.length - from + times.length);
  let i = from;
  let j = 0;
  // Bounded: each pass consumes one sample of either list.
  while (i < arena.length || j < times.length) {
    const takeChunk = j >= times.length || (i < arena.length && arena.timestampsMs[i]! <= times[j]!);
    const at = merged.length;
    if (takeChunk) {
      merged.timestampsMs[at] = arena.timestampsMs[i]!;
      merged.values[at] = arena.values[i]!;
      merged.stale[at] = arena.stale[i]!;
      i++;
    } else {
      const t = times[j]!;
      j++;
      if (t < startMs || t > endMs) continue;
      merged.timestampsMs[at] = t;
      merged.values[at] = values[j - 1]!;
      merged.stale[at] = flags[j - 1]! ? 1 : 0;
    }
    merged.length++;
  }
  arena.length = from;
  return merged;
}
