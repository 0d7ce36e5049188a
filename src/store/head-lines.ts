// A head's line bytes, stored in chunks instead of one buffer grown by doubling. Doubling kept up
// to twice the bytes held (plus the old copy while growing), and every growth freed a buffer of a
// new size, which left the allocator's heap fragmented: on the 244 MB bench the server's RSS
// climbed to ~650 MB with 16 MB of heads. Chunks hold what they hold plus at most one partly filled
// chunk, and the large ones are reused from a pool across cuts.
//
// Chunks grow 128 B, 256 B, … up to 64 KiB, then stay at 64 KiB, so a logical byte offset maps to
// its chunk in O(1) and a stream holding one short line costs 128 bytes. A line may span two
// chunks; readers that need it whole (duplicate checks, snapshots) copy it.

import { releaseOwnedMemory } from './owned-buffer.ts';

const MIN_CHUNK_BYTES = 128;
const MAX_CHUNK_BYTES = 64 * 1024;
/** Chunks of growing size before the fixed ones: 128 · 2^i for i < GROWING_CHUNKS. */
const GROWING_CHUNKS = Math.log2(MAX_CHUNK_BYTES / MIN_CHUNK_BYTES) + 1;
/** Bytes held by the growing chunks together (where the fixed-size chunks start). */
const GROWING_BYTES = MIN_CHUNK_BYTES * (2 ** GROWING_CHUNKS - 1);
/**
 * Released 64 KiB chunks kept for the next heads. Over the head budget, a cut releases the largest
 * heads (half the budget) and the heads left refill at the same pace; what the pool cannot keep is
 * freed at once and malloc hands the same memory to the next chunks, so the pool only saves
 * allocator calls, and every byte in it is resident memory no head uses.
 */
const POOL_MAX_BYTES = 4 * 1024 * 1024;

const pool: Buffer[] = [];
let scratch = Buffer.allocUnsafeSlow(MAX_CHUNK_BYTES);

function chunkIndexOf(offset: number): number {
  if (offset < GROWING_BYTES) return 31 - Math.clz32(Math.floor(offset / MIN_CHUNK_BYTES) + 1);
  return GROWING_CHUNKS + Math.floor((offset - GROWING_BYTES) / MAX_CHUNK_BYTES);
}

function chunkStartOf(index: number): number {
  if (index < GROWING_CHUNKS) return MIN_CHUNK_BYTES * (2 ** index - 1);
  return GROWING_BYTES + (index - GROWING_CHUNKS) * MAX_CHUNK_BYTES;
}

function chunkSizeOf(index: number): number {
  return index < GROWING_CHUNKS ? MIN_CHUNK_BYTES * 2 ** index : MAX_CHUNK_BYTES;
}

function allocateChunk(index: number): Buffer {
  const size = chunkSizeOf(index);
  if (size === MAX_CHUNK_BYTES) return pool.pop() ?? Buffer.allocUnsafeSlow(MAX_CHUNK_BYTES);
  // Small chunks come from Node's shared 8 KiB slabs: one ArrayBuffer per stream would cost the GC
  // a tracked backing store each for 100k+ streams.
  return Buffer.allocUnsafe(size);
}

export class HeadLines {
  /** Logical bytes held (every chunk before the last is full). */
  length = 0;
  private chunks: Buffer[] = [];

  /** Bytes of chunk memory held, for budgets. */
  capacityBytes(): number {
    return this.chunks.length === 0 ? 0 : chunkStartOf(this.chunks.length);
  }

  /** Chunk `index`, allocated when it is the next one (appends fill chunks in order). */
  private chunkAt(index: number): Buffer {
    if (index === this.chunks.length) {
      // The first chunk goes into an array of its own size: an empty array's first push reserves 17 slots.
      if (index === 0) this.chunks = [allocateChunk(0)];
      else this.chunks.push(allocateChunk(index));
    }
    return this.chunks[index]!;
  }

  appendBytes(source: Buffer, start: number, end: number): void {
    // Bounded: each pass copies at least one byte into a chunk.
    while (start < end) {
      const index = chunkIndexOf(this.length);
      const chunk = this.chunkAt(index);
      const local = this.length - chunkStartOf(index);
      const copied = source.copy(chunk, local, start, Math.min(end, start + chunk.length - local));
      start += copied;
      this.length += copied;
    }
  }

  /**
   * Appends `count` lines of `source` back to back, line i being bytes [spans[base + 2i],
   * spans[base + 2i + 1]), and writes each one's end (this.length after it) to lineEnds[endsAt + i].
   * Lines of a request body lie in order with a few bytes of framing between them: runs of them that
   * fit the current chunk are copied with their framing in one call and then moved down over it
   * (copyWithin), where a call per line cost ~145 ns from the decoder's buffer (2M lines on the
   * 244 MB bench log). A line that does not fit the chunk goes in as appendBytes does.
   */
  appendLines(source: Buffer, spans: Uint32Array, base: number, count: number, lineEnds: Uint32Array, endsAt: number): void {
    // Bounded: each pass appends at least one line.
    for (let first = 0; first < count; ) {
      const index = chunkIndexOf(this.length);
      const chunk = this.chunkAt(index);
      const local = this.length - chunkStartOf(index);
      const runStart = spans[base + first * 2]!;
      // A run: lines in source order, not overlapping, whose span of source fits the chunk's room.
      let last = first - 1;
      while (last + 1 < count) {
        const next = base + (last + 1) * 2;
        if ((last >= first && spans[next]! < spans[next - 1]!) || spans[next + 1]! - runStart > chunk.length - local) break;
        last++;
      }
      if (last < first) {
        this.appendBytes(source, runStart, spans[base + first * 2 + 1]!);
        lineEnds[endsAt + first] = this.length;
        first++;
        continue;
      }
      source.copy(chunk, local, runStart, spans[base + last * 2 + 1]!);
      const shift = local - runStart;
      let at = local;
      for (let i = first; i <= last; i++) {
        const start = spans[base + i * 2]!;
        const end = spans[base + i * 2 + 1]!;
        if (start + shift !== at) chunk.copyWithin(at, start + shift, end + shift);
        at += end - start;
        lineEnds[endsAt + i] = this.length + (at - local);
      }
      this.length += at - local;
      first = last + 1;
    }
  }

  /** Appends bytes [start, end) of `source`, chunk by chunk. */
  appendRange(source: HeadLines, start: number, end: number): void {
    // Bounded: each pass appends at least one byte (start < end and chunks cover [0, source.length)).
    while (start < end) {
      const index = chunkIndexOf(start);
      const chunkStart = chunkStartOf(index);
      const chunk = source.chunks[index]!;
      const stop = Math.min(end, chunkStart + chunk.length);
      this.appendBytes(chunk, start - chunkStart, stop - chunkStart);
      start = stop;
    }
  }

  /** Appends the UTF-8 bytes of `text`; returns how many. */
  appendString(text: string): number {
    const index = chunkIndexOf(this.length);
    if (index < this.chunks.length) {
      const chunk = this.chunks[index]!;
      const local = this.length - chunkStartOf(index);
      // Fits for sure (3 bytes per UTF-16 unit at most): write in place.
      if (chunk.length - local >= text.length * 3) {
        const written = chunk.write(text, local, 'utf8');
        this.length += written;
        return written;
      }
    }
    if (scratch.length < text.length * 3) scratch = Buffer.allocUnsafeSlow(text.length * 3);
    const written = scratch.write(text, 0, 'utf8');
    this.appendBytes(scratch, 0, written);
    return written;
  }

  /** Forgets bytes past `length` (a line dropped right after it was written). */
  truncate(length: number): void {
    this.length = length;
  }

  /** The bytes [start, end): a view when they sit in one chunk, else a copy. */
  view(start: number, end: number): Buffer {
    if (start === end) return Buffer.alloc(0);
    const index = chunkIndexOf(start);
    const chunkStart = chunkStartOf(index);
    const chunk = this.chunks[index]!;
    if (end - chunkStart <= chunk.length) return chunk.subarray(start - chunkStart, end - chunkStart);
    const copy = Buffer.allocUnsafe(end - start);
    this.copyTo(copy, 0, start, end);
    return copy;
  }

  /** Whether [aStart, aEnd) and [bStart, bEnd) hold the same bytes. */
  equal(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
    if (aEnd - aStart !== bEnd - bStart) return false;
    return this.view(aStart, aEnd).equals(this.view(bStart, bEnd));
  }

  /** Copies [start, end) into `target` at `targetStart`. */
  copyTo(target: Buffer, targetStart: number, start: number, end: number): void {
    // Bounded: each pass copies at least one byte (start < end and chunks cover [0, length)).
    while (start < end) {
      const index = chunkIndexOf(start);
      const chunkStart = chunkStartOf(index);
      const chunk = this.chunks[index]!;
      const copied = chunk.copy(target, targetStart, start - chunkStart, Math.min(chunk.length, end - chunkStart));
      start += copied;
      targetStart += copied;
    }
  }

  /** All bytes in one new buffer. */
  concat(): Buffer {
    const whole = this.length < 4096 ? Buffer.allocUnsafe(this.length) : Buffer.allocUnsafeSlow(this.length);
    this.copyTo(whole, 0, 0, this.length);
    return whole;
  }

  /**
   * Hands the large chunks back to the pool, and frees those the pool has no room for at once (they
   * were promoted with their head: left to the garbage collector, a flush's worth of them waited
   * for its next full collection). The lines must not be used afterwards.
   */
  release(): void {
    let pooledBytes = pool.length * MAX_CHUNK_BYTES;
    for (const chunk of this.chunks) {
      // Smaller chunks below half of Node's pool are slices of its shared slabs, which only the
      // garbage collector may free (releaseOwnedMemory leaves them); the 32 KiB ones are whole.
      if (pooledBytes >= POOL_MAX_BYTES || chunk.length !== MAX_CHUNK_BYTES) {
        releaseOwnedMemory(chunk);
        continue;
      }
      pool.push(chunk);
      pooledBytes += MAX_CHUNK_BYTES;
    }
    this.chunks = [];
    this.length = 0;
  }
}
