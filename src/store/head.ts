// The in-memory head: per stream, the entries acknowledged since the last cut, kept as growing
// columns (timestamps, UTF-8 lines back to back in chunks, line ends), not as the decoded PushEntry
// objects: no per-entry objects outlive the push (the GC was 17% of ingest CPU before). Queries and
// cuts get the head as one block, copied out of the chunks.
// Entries may arrive in any order; the head remembers whether they are still sorted and sorts
// (stably) only when read or cut.

import type { RawStreamColumns } from '../push/raw-push-stream.ts';
import type { BlockColumns } from './block.ts';
import { HeadLines } from './head-lines.ts';
import { releaseOwnedMemory } from './owned-buffer.ts';
import type { GroupMember } from './stream-group.ts';
import type { BlockData, LabelPair, PushEntry, StreamInfo } from './types.ts';

/**
 * Small first allocations, grown by doubling: with 100k streams each holding a line or two, 64
 * entries and 4 KiB each cost ~5 KB per stream. Buffers below 4 KiB come from Node's shared pool.
 */
const INITIAL_ENTRIES = 4;
/**
 * Every head's first timestamp and line-end arrays are views into a shared slab: two ArrayBuffers
 * per head (each with its own backing store for the GC to track) made WAL replay of 100k+ streams
 * mostly garbage-collector time. A slab is freed once all heads using it were cut or grew out of it.
 */
const SLAB_BYTES = 64 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabOffset = 0;

function firstArrays(): { timestampsNs: BigInt64Array; lineEnds: Uint32Array } {
  const bytes = INITIAL_ENTRIES * (8 + 4);
  if (slabOffset + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabOffset = 0;
  }
  const timestampsNs = new BigInt64Array(slab, slabOffset, INITIAL_ENTRIES);
  const lineEnds = new Uint32Array(slab, slabOffset + INITIAL_ENTRIES * 8, INITIAL_ENTRIES);
  slabOffset += bytes;
  return { timestampsNs, lineEnds };
}

/**
 * A head's first line bytes go into a shared arena (a bump-allocated 64 KiB buffer) rather than a
 * HeadLines of its own: a stream with one short line then costs its bytes (rounded up) and three
 * fields, where a HeadLines cost a Buffer object, a chunk array and a 128-byte chunk, ~300 bytes
 * (bench/store-streams-bench.ts: 100k streams of one line). A head that outgrows its reservation
 * moves to a HeadLines. An arena is freed once every head using it was cut.
 */
const ARENA_BYTES = 64 * 1024;
/** Reservations are rounded up to this, so a second short line often fits without a move. */
const ARENA_ALIGN_BYTES = 16;
/** Heads whose first lines need more than this start with a HeadLines (they are not the many small ones). */
const ARENA_MAX_RESERVATION_BYTES = 1024;
let arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
let arenaOffset = 0;

/** Reserves `bytes` (rounded up) in the current arena: returns the arena and where the reservation starts. */
function reserveArena(bytes: number): number {
  if (arenaOffset + bytes > ARENA_BYTES) {
    arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
    arenaOffset = 0;
  }
  const start = arenaOffset;
  arenaOffset += bytes;
  return start;
}

/** Replaced arrays smaller than this are left to the garbage collector. */
const MIN_RELEASED_ARRAY_BYTES = 4096;

const CLOCK_BASE_MS = Date.now();
const EMPTY_TIMESTAMPS = new BigInt64Array(0);
const EMPTY_LINE_ENDS = new Uint32Array(0);
const EMPTY_LINES = Buffer.alloc(0);

export class StreamHead {
  readonly tenant: string;
  readonly info: StreamInfo;
  /** streamFingerprint(tenant, labels): where the store's stream table files this head. */
  readonly fingerprint: number;
  count = 0;
  /** Bytes of line text held (UTF-8). */
  rawBytes = 0;
  sorted = true;
  minTimeNs = 0n;
  maxTimeNs = 0n;
  /** Lowest and highest WAL sequence numbers whose entries this head holds. */
  minSeq = -1n;
  maxSeq = -1n;
  /**
   * When the first entry of this head arrived, as ms after CLOCK_BASE_MS: a small integer for weeks
   * after start, stored in the object, where an epoch ms value needs a 16-byte number object per head.
   */
  private firstAppendSinceBaseMs = 0;
  /**
   * Allocated from the second entry on: a head of one entry is described by its fields (its
   * timestamp is minTimeNs, its line ends at rawBytes), and most heads of a many-stream tenant hold
   * one line between cuts.
   */
  private timestampsNs: BigInt64Array | undefined;
  private lineEnds: Uint32Array | undefined;
  /** The line bytes once they outgrew the arena reservation (or never fit one). */
  private lines: HeadLines | undefined;
  /**
   * Until then: the shared arena holding them from arenaStart, rawBytes of arenaCapacity used
   * (fields of the head rather than an object of their own: one object less per stream).
   */
  private arena: Buffer | undefined;
  private arenaStart = 0;
  private arenaCapacity = 0;
  private structuredMetadata: Array<LabelPair[] | undefined> | undefined;
  /** Set once columns() handed out views of timestampsNs and lineEnds (a query's or a cut's snapshot). */
  private arraysShared = false;

  constructor(tenant: string, info: StreamInfo, fingerprint = 0) {
    this.tenant = tenant;
    this.info = info;
    this.fingerprint = fingerprint;
  }

  /** When the first entry of this head arrived (wall clock), for the age-based cut. */
  get firstAppendMs(): number {
    return this.firstAppendSinceBaseMs + CLOCK_BASE_MS;
  }

  /**
   * Room for `bytes` more line bytes (rawBytes are held): a reservation in the arena for a new head
   * of short lines, else a HeadLines (the arena's bytes moved into it when they outgrow it).
   */
  private makeRoom(bytes: number): void {
    if (this.arena === undefined) {
      if (bytes > ARENA_MAX_RESERVATION_BYTES) {
        this.lines = new HeadLines();
        return;
      }
      const capacity = Math.ceil(bytes / ARENA_ALIGN_BYTES) * ARENA_ALIGN_BYTES;
      this.arenaStart = reserveArena(capacity);
      this.arena = arena;
      this.arenaCapacity = capacity;
      return;
    }
    if (this.rawBytes + bytes <= this.arenaCapacity) return;
    const grown = new HeadLines();
    grown.appendBytes(this.arena, this.arenaStart, this.arenaStart + this.rawBytes);
    this.lines = grown;
    this.arena = undefined;
  }

  /** Whether line bytes [aStart, aEnd) and [bStart, bEnd) are equal. */
  private linesEqual(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
    if (this.lines !== undefined) return this.lines.equal(aStart, aEnd, bStart, bEnd);
    if (aEnd - aStart !== bEnd - bStart) return false;
    const base = this.arenaStart;
    return this.arena!.compare(this.arena!, base + aStart, base + aEnd, base + bStart, base + bEnd) === 0;
  }

  /** Line bytes [start, end): a view, or a copy when they span two chunks. */
  private lineView(start: number, end: number): Buffer {
    if (this.lines !== undefined) return this.lines.view(start, end);
    return this.arena!.subarray(this.arenaStart + start, this.arenaStart + end);
  }

  /** Bytes of all entries' lines of a batch, for the first reservation. */
  private static batchBytes(entries: readonly PushEntry[] | RawStreamColumns, encoded: { spans: Uint32Array; firstSpan?: number } | undefined): number {
    let bytes = 0;
    if (!Array.isArray(entries)) return (entries as RawStreamColumns).lineBytes;
    if (encoded !== undefined) {
      const base = (encoded.firstSpan ?? 0) * 2;
      for (let i = 0; i < entries.length; i++) bytes += encoded.spans[base + i * 2 + 1]! - encoded.spans[base + i * 2]!;
    } else {
      for (let i = 0; i < entries.length; i++) bytes += Buffer.byteLength((entries as readonly PushEntry[])[i]!.line);
    }
    return bytes;
  }

  /**
   * Appends entries, dropping exact duplicates (same timestamp and line bytes as an entry already in
   * the head or earlier in the batch: Loki's rule for retried pushes). Returns how many were dropped.
   * With `encoded`, line bytes are copied from the WAL frame (spans give each line's [start, end))
   * instead of encoding the strings again. `batch` is entries, or a decoded push stream's columns.
   */
  add(batch: readonly PushEntry[] | RawStreamColumns, seq: bigint, nowMs: number, encoded?: { frame: Buffer; spans: Uint32Array; firstSpan?: number }): number {
    // Either entries, or a decoded push's columns (no object per entry): read through these two.
    const columns = Array.isArray(batch) ? undefined : (batch as RawStreamColumns);
    const entries = columns === undefined ? (batch as readonly PushEntry[]) : undefined;
    const batchCount = columns !== undefined ? columns.count : entries!.length;
    const columnTimestamps = columns?.timestampsNs;
    if (batchCount === 0) return 0;
    const firstNs = columnTimestamps !== undefined ? columnTimestamps[0]! : entries![0]!.timestampNs;
    if (this.count === 0) {
      this.minTimeNs = firstNs;
      this.maxTimeNs = firstNs;
      this.minSeq = seq;
      this.firstAppendSinceBaseMs = nowMs - CLOCK_BASE_MS;
    }
    // An entry after everything held cannot be a duplicate (the common, in-order case). One at or
    // before the newest held entry is looked up by binary search, so the held entries must be sorted.
    let lookupStart = this.count;
    if (this.count > 0) {
      const newestNs = this.maxTimeNs;
      const overlaps = columns !== undefined ? columns.minTimestampNs <= newestNs : entries!.some((entry) => entry.timestampNs <= newestNs);
      if (overlaps) {
        if (!this.sorted) this.sortInPlace();
        lookupStart = 0;
      }
    }
    this.reserve(this.count + batchCount);
    const timestamps = this.timestampsNs;
    const lineEnds = this.lineEnds;
    if (this.lines === undefined) this.makeRoom(StreamHead.batchBytes(batch, encoded));
    // Either lines, or the arena from base (the reservation has room for the whole batch).
    const lines = this.lines;
    const arenaBuffer = this.arena;
    const base = this.arenaStart;
    // Line bytes come from the WAL frame (spans), else from the columns' source, else the strings.
    let lineSource = encoded?.frame;
    let spans = encoded?.spans;
    let spanBase = (encoded?.firstSpan ?? 0) * 2;
    if (spans === undefined && columns !== undefined) {
      lineSource = columns.source;
      spans = interleave(columns.lineStarts, columns.lineEnds, batchCount);
      spanBase = 0;
    }
    const metadataColumn = columns?.structuredMetadata;
    if (columns !== undefined && columns.increasing && metadataColumn === undefined && timestamps !== undefined && (this.count === 0 || firstNs > this.maxTimeNs)) {
      this.appendIncreasing(columns, lineSource!, spans!, spanBase, seq);
      return 0;
    }
    let count = this.count;
    let offset = this.rawBytes;
    let last = count > 0 ? this.maxTimeNs : firstNs;
    if (count > 0 && !this.sorted) last = timestamps![count - 1]!;
    let sorted = this.sorted;
    let minTimeNs = this.minTimeNs;
    let maxTimeNs = this.maxTimeNs;
    // [lookupStart, sortedEnd) is sorted and binary-searchable; entries of this batch appended after
    // it went out of order are found through `unsortedKeys` instead.
    let sortedEnd = count;
    let unsortedKeys: Set<string> | undefined;
    let dropped = 0;
    for (let i = 0; i < batchCount; i++) {
      const entry = entries?.[i];
      const timestampNs = columnTimestamps !== undefined ? columnTimestamps[i]! : entry!.timestampNs;
      const lineStart = offset;
      if (lines !== undefined) {
        if (spans !== undefined) lines.appendBytes(lineSource!, spans[spanBase + i * 2]!, spans[spanBase + i * 2 + 1]!);
        else lines.appendString(entry!.line);
        offset = lines.length;
      } else if (spans !== undefined) {
        const lineEnd = spans[spanBase + i * 2 + 1]!;
        const lineBegin = spans[spanBase + i * 2]!;
        lineSource!.copy(arenaBuffer!, base + offset, lineBegin, lineEnd);
        offset += lineEnd - lineBegin;
      } else {
        offset += arenaBuffer!.write(entry!.line, base + offset, 'utf8');
      }
      if (count > 0 && timestampNs <= maxTimeNs) {
        let duplicate = lookupStart < sortedEnd && timestampNs <= timestamps![sortedEnd - 1]! && this.holds(lookupStart, sortedEnd, timestampNs, lineStart, offset);
        if (!duplicate && unsortedKeys !== undefined) duplicate = unsortedKeys.has(entryKey(timestampNs, this.lineView(lineStart, offset)));
        if (duplicate) {
          lines?.truncate(lineStart);
          offset = lineStart;
          dropped++;
          continue;
        }
      }
      if (timestampNs < last) {
        sorted = false;
        unsortedKeys ??= new Set();
      }
      if (unsortedKeys !== undefined) unsortedKeys.add(entryKey(timestampNs, this.lineView(lineStart, offset)));
      else sortedEnd = count + 1;
      last = timestampNs;
      if (timestampNs < minTimeNs) minTimeNs = timestampNs;
      if (timestampNs > maxTimeNs) maxTimeNs = timestampNs;
      // Without arrays (a head of one entry) the fields below describe the entry.
      if (timestamps !== undefined) {
        timestamps[count] = timestampNs;
        lineEnds![count] = offset;
      }
      const metadata = metadataColumn !== undefined ? metadataColumn[i] : entry?.structuredMetadata;
      if (metadata !== undefined && metadata.length > 0) {
        this.structuredMetadata ??= [];
        this.structuredMetadata[count] = metadata;
      }
      count++;
    }
    this.count = count;
    this.rawBytes = offset;
    this.sorted = sorted;
    this.minTimeNs = minTimeNs;
    this.maxTimeNs = maxTimeNs;
    this.maxSeq = seq;
    return dropped;
  }

  /**
   * add() of columns whose timestamps increase and start after everything held (a shipper's batch
   * in log order, the common case): no entry can be a duplicate, and the order stays as it was. The
   * timestamps are copied in one go; add()'s loop handled each as a bigint, ~80 bytes of garbage
   * an entry (bench/ingest-flush-bench.ts' 244 MB log: a third of the server's young collections).
   * The arrays have room (add() reserved it). Line bytes come from `source` at `spans` (pairs from
   * `spanBase`); lines that lie back to back there (a version 3 WAL record's, all of a stream's), or
   * nearly so (a request body's), go in as one copy per run instead of a native call per line
   * (HeadLines.appendLines).
   */
  private appendIncreasing(columns: RawStreamColumns, source: Buffer, spans: Uint32Array, spanBase: number, seq: bigint): void {
    const batchCount = columns.count;
    const count = this.count;
    this.timestampsNs!.set(columns.timestampsNs.subarray(0, batchCount), count);
    const lineEnds = this.lineEnds!;
    const lines = this.lines;
    const arena = this.arena;
    const base = this.arenaStart;
    let offset = this.rawBytes;
    if (lines !== undefined) {
      lines.appendLines(source, spans, spanBase, batchCount, lineEnds, count);
      offset = lines.length;
    }
    // Bounded: each pass takes at least one line.
    for (let first = 0; lines === undefined && first < batchCount; ) {
      const runStart = spans[spanBase + first * 2]!;
      let last = first;
      while (last + 1 < batchCount && spans[spanBase + last * 2 + 1] === spans[spanBase + last * 2 + 2]) last++;
      const runEnd = spans[spanBase + last * 2 + 1]!;
      source.copy(arena!, base + offset, runStart, runEnd);
      for (let i = first; i <= last; i++) lineEnds[count + i] = offset + (spans[spanBase + i * 2 + 1]! - runStart);
      offset += runEnd - runStart;
      first = last + 1;
    }
    this.count = count + batchCount;
    this.rawBytes = offset;
    this.maxTimeNs = columns.maxTimestampNs;
    this.maxSeq = seq;
  }

  /** Whether sorted entries [from, to) hold one with this timestamp and the bytes lines[start, end). */
  private holds(from: number, to: number, timestampNs: bigint, start: number, end: number): boolean {
    const timestamps = this.timestampsNs!;
    let low = from;
    let high = to;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (timestamps[middle]! < timestampNs) low = middle + 1;
      else high = middle;
    }
    const lineEnds = this.lineEnds!;
    const length = end - start;
    for (let i = low; i < to && timestamps[i] === timestampNs; i++) {
      const heldStart = i === 0 ? 0 : lineEnds[i - 1]!;
      if (lineEnds[i]! - heldStart === length && this.linesEqual(start, end, heldStart, lineEnds[i]!)) return true;
    }
    return false;
  }

  /** Room for `entries` entries in the arrays; a head that will hold one entry gets none. */
  private reserve(entries: number): void {
    if (entries <= 1) return;
    if (this.timestampsNs === undefined) {
      if (entries <= INITIAL_ENTRIES) {
        const { timestampsNs, lineEnds } = firstArrays();
        this.timestampsNs = timestampsNs;
        this.lineEnds = lineEnds;
      } else {
        this.timestampsNs = new BigInt64Array(capacityFor(entries));
        this.lineEnds = new Uint32Array(this.timestampsNs.length);
      }
      if (this.count === 1) {
        this.timestampsNs[0] = this.minTimeNs;
        this.lineEnds![0] = this.rawBytes;
      }
      return;
    }
    if (entries <= this.timestampsNs.length) return;
    const capacity = capacityFor(entries, this.timestampsNs.length * 2);
    const timestamps = new BigInt64Array(capacity);
    timestamps.set(this.timestampsNs.subarray(0, this.count));
    const lineEnds = new Uint32Array(capacity);
    lineEnds.set(this.lineEnds!.subarray(0, this.count));
    this.replaceArrays(timestamps, lineEnds);
  }

  /**
   * Swaps in grown or sorted arrays and frees the old ones at once when no snapshot holds a view of
   * them: they are promoted with the head, so the garbage collector would free them only at its next
   * full collection (growth by doubling left ~57 MB of them over the 244 MB bench log, most of it
   * waiting seconds). Slab views are never freed here (other heads share the slab).
   */
  private replaceArrays(timestampsNs: BigInt64Array, lineEnds: Uint32Array): void {
    const oldTimestamps = this.timestampsNs;
    const oldLineEnds = this.lineEnds;
    this.timestampsNs = timestampsNs;
    this.lineEnds = lineEnds;
    if (this.arraysShared) {
      this.arraysShared = false;
      return;
    }
    // Small arrays live in V8's heap (reading `.buffer` would move them out only to free them).
    if (oldTimestamps !== undefined && oldTimestamps.byteLength >= MIN_RELEASED_ARRAY_BYTES) releaseOwnedMemory(oldTimestamps);
    if (oldLineEnds !== undefined && oldLineEnds.byteLength >= MIN_RELEASED_ARRAY_BYTES) releaseOwnedMemory(oldLineEnds);
  }

  /**
   * The head's entries sorted by timestamp (stable: equal timestamps keep arrival order). Lines are
   * a copy; the other columns are views, which later appends never change inside the returned range
   * (growing and sorting swap in new arrays), so a returned snapshot stays valid.
   */
  columns(): BlockColumns {
    return this.sortedColumns(true);
  }

  /**
   * columns() for the cut that encodes this head and then releases it: its views do not keep
   * release() from freeing the arrays (the cut is done with them by then), a query's snapshot does.
   * With `linesInto` (at least rawBytes long), the lines are copied there and the columns' lines are
   * a view of it, so a cut can reuse one buffer for every head it encodes.
   */
  columnsForCut(linesInto?: Buffer): BlockColumns {
    return this.sortedColumns(false, linesInto);
  }

  /**
   * columnsForCut without copying the lines: the sorted timestamps and line ends, and a copy of any
   * byte range of the sorted lines on demand. A stream group's cut (stream-group.ts) copies its
   * members' lines straight into each shared frame, instead of into a buffer per head first.
   */
  cutSource(): GroupMember {
    const columns = this.sortedColumns(false, EMPTY_LINES);
    return {
      timestampsNs: columns.timestampsNs,
      lineEnds: columns.lineEnds,
      ...(columns.structuredMetadata === undefined ? {} : { structuredMetadata: columns.structuredMetadata }),
      copyLines: (target, targetStart, start, end) => {
        if (this.lines !== undefined) this.lines.copyTo(target, targetStart, start, end);
        else if (this.arena !== undefined) this.arena.copy(target, targetStart, this.arenaStart + start, this.arenaStart + end);
      },
    };
  }

  private sortedColumns(share: boolean, linesInto?: Buffer): BlockColumns {
    if (!this.sorted) this.sortInPlace();
    // EMPTY_LINES: the caller copies the lines itself (cutSource).
    const lines = linesInto === EMPTY_LINES ? EMPTY_LINES : linesInto !== undefined && linesInto.length >= this.rawBytes ? this.copyLinesInto(linesInto) : this.concatLines();
    const columns: BlockColumns =
      this.timestampsNs === undefined
        ? {
            // No arrays: at most one entry, described by the fields.
            timestampsNs: this.count === 0 ? EMPTY_TIMESTAMPS : BigInt64Array.of(this.minTimeNs),
            lines,
            lineEnds: this.count === 0 ? EMPTY_LINE_ENDS : Uint32Array.of(this.rawBytes),
          }
        : {
            // Views: the arrays may no longer be freed when they are replaced (see replaceArrays).
            timestampsNs: (share ? this.shareArrays() : this.timestampsNs).subarray(0, this.count),
            lines,
            lineEnds: this.lineEnds!.subarray(0, this.count),
          };
    if (this.structuredMetadata !== undefined) {
      // A dense copy: the sparse array has holes where entries carry no metadata.
      const metadata = new Array<LabelPair[] | undefined>(this.count);
      for (let i = 0; i < this.count; i++) metadata[i] = this.structuredMetadata[i];
      columns.structuredMetadata = metadata;
    }
    return columns;
  }

  private shareArrays(): BigInt64Array {
    this.arraysShared = true;
    return this.timestampsNs!;
  }

  /**
   * Hands the line chunks back for reuse, once the head was cut into a part, and frees its arrays
   * unless a query's snapshot holds them. The head must not be used afterwards.
   */
  release(): void {
    this.lines?.release();
    this.lines = undefined;
    this.arena = undefined;
    if (!this.arraysShared && this.timestampsNs !== undefined) {
      const timestampsNs = this.timestampsNs;
      const lineEnds = this.lineEnds!;
      this.timestampsNs = EMPTY_TIMESTAMPS;
      this.lineEnds = EMPTY_LINE_ENDS;
      if (timestampsNs.byteLength >= MIN_RELEASED_ARRAY_BYTES) releaseOwnedMemory(timestampsNs);
      if (lineEnds.byteLength >= MIN_RELEASED_ARRAY_BYTES) releaseOwnedMemory(lineEnds);
    }
  }

  /** All line bytes copied to the start of `target` (at least rawBytes long): a view of them there. */
  private copyLinesInto(target: Buffer): Buffer {
    if (this.lines !== undefined) this.lines.copyTo(target, 0, 0, this.rawBytes);
    else if (this.arena !== undefined) this.arena.copy(target, 0, this.arenaStart, this.arenaStart + this.rawBytes);
    return target.subarray(0, this.rawBytes);
  }

  /** All line bytes in one new buffer. */
  private concatLines(): Buffer {
    if (this.lines !== undefined) return this.lines.concat();
    if (this.arena === undefined) return Buffer.alloc(0);
    const whole = Buffer.allocUnsafe(this.rawBytes);
    this.arena.copy(whole, 0, this.arenaStart, this.arenaStart + this.rawBytes);
    return whole;
  }

  toBlockData(): BlockData {
    return { stream: this.info, ...this.columns() };
  }

  private sortInPlace(): void {
    // Out of order needs two entries, so the arrays exist.
    const count = this.count;
    const timestamps = this.timestampsNs!;
    const lineEnds = this.lineEnds!;
    const order = sortedOrder(timestamps, count);
    const sortedTimestamps = new BigInt64Array(timestamps.length);
    const sortedEnds = new Uint32Array(lineEnds.length);
    const sortedLines = new HeadLines();
    const metadata = this.structuredMetadata;
    const sortedMetadata: Array<LabelPair[] | undefined> | undefined = metadata === undefined ? undefined : [];
    let offset = 0;
    // A head is a few sorted runs (pushes that landed out of order), so the sorted order is long
    // stretches of entries that stay next to each other: each stretch's lines move as one copy. A
    // copy (and a view) per line was most of the sort, and sorts ran on every late push.
    for (let i = 0; i < count; ) {
      let last = i;
      while (last + 1 < count && order[last + 1] === order[last]! + 1) last++;
      const first = order[i]!;
      this.appendLinesTo(sortedLines, first === 0 ? 0 : lineEnds[first - 1]!, lineEnds[order[last]!]!);
      for (; i <= last; i++) {
        const from = order[i]!;
        sortedTimestamps[i] = timestamps[from]!;
        offset += lineEnds[from]! - (from === 0 ? 0 : lineEnds[from - 1]!);
        sortedEnds[i] = offset;
        if (sortedMetadata !== undefined && metadata![from] !== undefined) sortedMetadata[i] = metadata![from];
      }
    }
    this.replaceArrays(sortedTimestamps, sortedEnds);
    this.lines?.release();
    this.lines = sortedLines;
    this.arena = undefined;
    this.structuredMetadata = sortedMetadata;
    this.sorted = true;
  }

  /** Appends line bytes [start, end) of this head to `target`, without a view or copy of its own. */
  private appendLinesTo(target: HeadLines, start: number, end: number): void {
    if (this.lines !== undefined) target.appendRange(this.lines, start, end);
    else target.appendBytes(this.arena!, this.arenaStart + start, this.arenaStart + end);
  }
}

/**
 * Indexes of timestamps[0, count) in stable sorted order. A head is a few sorted runs (pushes in
 * flight land slightly out of order), so this merges the runs as they are (natural merge sort,
 * O(n log runs)) instead of a comparison sort over bigints through a closure, which cost a
 * measurable share of ingest when every late push sorted its head again.
 */
export function sortedOrder(timestamps: BigInt64Array, count: number): Uint32Array {
  let order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  const runStarts: number[] = [0];
  for (let i = 1; i < count; i++) if (timestamps[i]! < timestamps[i - 1]!) runStarts.push(i);
  if (runStarts.length === 1) return order;
  let starts = runStarts;
  let spare = new Uint32Array(count);
  // Bounded: each pass halves the number of runs.
  while (starts.length > 1) {
    const merged: number[] = [];
    for (let r = 0; r < starts.length; r += 2) {
      const leftStart = starts[r]!;
      const middle = r + 1 < starts.length ? starts[r + 1]! : count;
      const rightEnd = r + 2 < starts.length ? starts[r + 2]! : count;
      merged.push(leftStart);
      let left = leftStart;
      let right = middle;
      let out = leftStart;
      while (left < middle && right < rightEnd) {
        // Ties take the left (earlier) entry: stable.
        if (timestamps[order[right]!]! < timestamps[order[left]!]!) spare[out++] = order[right++]!;
        else spare[out++] = order[left++]!;
      }
      while (left < middle) spare[out++] = order[left++]!;
      while (right < rightEnd) spare[out++] = order[right++]!;
    }
    [order, spare] = [spare, order];
    starts = merged;
  }
  return order;
}

/** Array capacity for `entries`: a power of two, at least `minimum`. */
function capacityFor(entries: number, minimum = INITIAL_ENTRIES): number {
  let capacity = minimum;
  while (capacity < entries) capacity *= 2;
  return capacity;
}

/** [start0, end0, start1, end1, …] of `count` lines: the spans form of a columns' line ranges. */
function interleave(starts: Uint32Array, ends: Uint32Array, count: number): Uint32Array {
  const spans = new Uint32Array(count * 2);
  for (let i = 0; i < count; i++) {
    spans[i * 2] = starts[i]!;
    spans[i * 2 + 1] = ends[i]!;
  }
  return spans;
}

/** A set key for one entry: its timestamp and its line bytes (latin1 keeps every byte distinct). */
function entryKey(timestampNs: bigint, line: Buffer): string {
  return `${timestampNs}\u0000${line.toString('latin1')}`;
}
