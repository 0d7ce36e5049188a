// The head's sealed chunks: their bytes bump-allocated in large pages, their times, counts and
// places in typed columns, and each series' chunks a linked list through `next`. The head cut takes
// every chunk out at once, so nothing is freed one by one: clear() drops the pages and the columns
// start over. A chunk as its own Buffer with a StoredChunk object cost ~200 bytes of objects and
// pool slack beside ~250 bytes of data (bench/tsdb-bench.ts heap snapshot, 20,000 series).
//
// With a file (the TSDB's, in its WAL directory), a page that is full is written there and dropped
// from memory, as Prometheus keeps its head chunks in memory-mapped files: sealed chunks were ~470
// bytes a series of the head's ~2,240 at 2 h of the tsdb bench's workload (bench/tsdb-head-memory.ts).
// Reads bring pages back into a small cache of recently read pages; the operating system's page cache
// keeps the file itself warm. The file holds nothing the WAL does not: it is unlinked as soon as it is
// opened (it disappears with the process, even after a crash) and truncated at every clear(). A write
// that fails keeps that page, and every later one, in memory.

import { closeSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { releaseOwnedMemory } from '../store/owned-buffer.ts';

/** Page size: large enough that a chunk (at most a few KiB) rarely straddles the end of one. */
const PAGE_BYTES = 256 * 1024;
const INITIAL_CHUNKS = 1024;
/**
 * Pages read back from the file and kept: a query over every series of a 100,000-series head reads
 * its chunks series by series, and one series' chunks lie in pages written at about the same time
 * as other series' chunks (they are sealed together), so a few pages in turn serve most reads.
 */
const CACHED_PAGES = 16;
/** bytesInPageOrder's sort key: page * POSITIONS + position in the request (pages < 2^27 keep it exact). */
const POSITIONS = 2 ** 26;

export class HeadChunks {
  /** Pages in memory (the page being filled, pages whose write failed, pages of a file-less store). */
  private pages: (Uint8Array | undefined)[] = [];
  /** Where each page starts in the file (-1: it was never written there). */
  private pageFileOffset: number[] = [];
  private pageBytes: number[] = [];
  /** 1 where a view of the page in memory was handed out (bytes()): such a page is left to the garbage collector. */
  private pageViewed: number[] = [];
  private pageUsedBytes = PAGE_BYTES;
  private fileBytes = 0;
  private file: number | undefined;
  private readonly filePath: string | undefined;
  /** Pages read back from the file, least recently used first. */
  private readonly cache = new Map<number, Uint8Array>();
  size = 0;
  minTimeMs = new Float64Array(INITIAL_CHUNKS);
  maxTimeMs = new Float64Array(INITIAL_CHUNKS);
  count = new Uint32Array(INITIAL_CHUNKS);
  /** Index of the chunk's page, byte offset in it and byte length. */
  private page = new Uint32Array(INITIAL_CHUNKS);
  private offset = new Uint32Array(INITIAL_CHUNKS);
  private length = new Uint32Array(INITIAL_CHUNKS);
  /** The series' next chunk, or -1. */
  next = new Int32Array(INITIAL_CHUNKS);

  /** `filePath`: where full pages go (created on first use, unlinked at once); none keeps them in memory. */
  constructor(filePath?: string) {
    this.filePath = filePath;
  }

  /** Bytes of chunk data held in memory (pages being filled, cached or kept), for tests and stats. */
  get memoryBytes(): number {
    let total = 0;
    for (const page of this.pages) total += page?.length ?? 0;
    for (const page of this.cache.values()) total += page.length;
    return total;
  }

  /** Stores a chunk after `previous` (its series' last chunk, or -1); returns its index. */
  add(bytes: Uint8Array, minTimeMs: number, maxTimeMs: number, count: number, previous: number): number {
    if (this.pageUsedBytes + bytes.length > PAGE_BYTES) this.startPage(bytes.length);
    const at = this.size++;
    if (at === this.next.length) this.grow();
    const pageIndex = this.pages.length - 1;
    this.pages[pageIndex]!.set(bytes, this.pageUsedBytes);
    this.page[at] = pageIndex;
    this.offset[at] = this.pageUsedBytes;
    this.length[at] = bytes.length;
    this.pageUsedBytes += bytes.length;
    this.minTimeMs[at] = minTimeMs;
    this.maxTimeMs[at] = maxTimeMs;
    this.count[at] = count;
    this.next[at] = -1;
    if (previous >= 0) this.next[previous] = at;
    return at;
  }

  /** The chunk's bytes: a view valid until clear() and after (a cut hands these views to the block writer). */
  bytes(index: number): Uint8Array {
    const start = this.offset[index]!;
    const page = this.page[index]!;
    if (this.pages[page] !== undefined) this.pageViewed[page] = 1;
    return this.pageData(page).subarray(start, start + this.length[index]!);
  }

  /** Whether some pages live only in the file (reads of their chunks go through the page cache). */
  get spilled(): boolean {
    return this.fileBytes > 0;
  }

  /**
   * The bytes of many chunks (as bytes()), read page by page. A query reads its chunks series by
   * series, and one series' chunks lie in different pages (every series seals at about the same
   * time), so in that order a query over more pages than the cache holds read a whole page from the
   * file for nearly every chunk: on the PromQL compare bench's 24 h workload (1,036 series, ~32
   * pages) 70% of a range query's CPU, 7-20x Prometheus' time. Page by page each is read once.
   */
  bytesInPageOrder(indexes: readonly number[]): Uint8Array[] {
    // Sort keys page * 2^26 + position: a plain numeric sort of a typed array, no comparator.
    const order = new Float64Array(indexes.length);
    for (let k = 0; k < indexes.length; k++) order[k] = this.page[indexes[k]!]! * POSITIONS + k;
    order.sort();
    const out = new Array<Uint8Array>(indexes.length);
    for (let j = 0; j < order.length; j++) {
      const k = order[j]! % POSITIONS;
      out[k] = this.bytes(indexes[k]!);
    }
    return out;
  }

  /** Forgets every chunk (after a cut took them all). Views handed out stay readable. */
  clear(): void {
    this.pages = [];
    this.pageFileOffset = [];
    this.pageBytes = [];
    this.pageViewed = [];
    this.cache.clear();
    this.pageUsedBytes = PAGE_BYTES;
    this.size = 0;
    if (this.file !== undefined && this.fileBytes > 0) {
      try {
        ftruncateSync(this.file, 0);
      } catch {
        // The space comes back when the file is closed; the next pages are written from offset 0.
      }
    }
    this.fileBytes = 0;
    if (this.next.length > INITIAL_CHUNKS) {
      // The columns shrink back, so one large head does not pin its peak size for good; the cut has
      // read them (views handed out are of pages, not columns), so they are freed now.
      for (const column of [this.minTimeMs, this.maxTimeMs, this.count, this.page, this.offset, this.length, this.next]) releaseOwnedMemory(column);
      this.minTimeMs = new Float64Array(INITIAL_CHUNKS);
      this.maxTimeMs = new Float64Array(INITIAL_CHUNKS);
      this.count = new Uint32Array(INITIAL_CHUNKS);
      this.page = new Uint32Array(INITIAL_CHUNKS);
      this.offset = new Uint32Array(INITIAL_CHUNKS);
      this.length = new Uint32Array(INITIAL_CHUNKS);
      this.next = new Int32Array(INITIAL_CHUNKS);
    }
  }

  /** Closes the file (the store keeps working in memory). */
  close(): void {
    if (this.file === undefined) return;
    // Pages still in the file are read back first, so views and chunks stay readable.
    for (let index = 0; index < this.pages.length; index++) this.pages[index] ??= this.pageData(index);
    closeSync(this.file);
    this.file = undefined;
    this.pageFileOffset.fill(-1);
  }

  /** Writes the full page out (when there is a file) and starts the next one. */
  private startPage(atLeastBytes: number): void {
    const last = this.pages.length - 1;
    if (last >= 0) this.spill(last);
    const bytes = Math.max(PAGE_BYTES, atLeastBytes);
    this.pages.push(new Uint8Array(bytes));
    this.pageFileOffset.push(-1);
    this.pageBytes.push(bytes);
    this.pageViewed.push(0);
    this.pageUsedBytes = 0;
  }

  private spill(index: number): void {
    if (this.filePath === undefined) return;
    const page = this.pages[index]!;
    const used = this.pageUsedBytes;
    try {
      if (this.file === undefined) {
        this.file = openSync(this.filePath, 'w+');
        unlinkSync(this.filePath);
      }
      let written = 0;
      // Bounded: each pass writes at least one byte or throws.
      while (written < used) {
        const wrote = writeSync(this.file, page, written, used - written, this.fileBytes + written);
        if (wrote <= 0) throw new Error('short write');
        written += wrote;
      }
    } catch {
      // Disk full, say: this page stays in memory. Later pages try again.
      return;
    }
    this.pageFileOffset[index] = this.fileBytes;
    this.pageBytes[index] = used;
    this.fileBytes += used;
    // A page nothing has a view of (an ingest-only head's pages: chunks are read by queries and cuts) is
    // freed now: a page lives for many scrapes, so it is promoted and would wait for V8's next full
    // collection (a 100,000-series head writes a 256 KiB page every ~40 s).
    if (this.pageViewed[index] === 0) releaseOwnedMemory(page);
    this.pages[index] = undefined;
  }

  private pageData(index: number): Uint8Array {
    const inMemory = this.pages[index];
    if (inMemory !== undefined) return inMemory;
    const cached = this.cache.get(index);
    if (cached !== undefined) {
      this.cache.delete(index);
      this.cache.set(index, cached);
      return cached;
    }
    const bytes = new Uint8Array(this.pageBytes[index]!);
    let read = 0;
    // Bounded: each pass reads at least one byte or throws.
    while (read < bytes.length) {
      const got = readSync(this.file!, bytes, read, bytes.length - read, this.pageFileOffset[index]! + read);
      if (got <= 0) throw new Error(`head chunk file ended at page ${index} (offset ${this.pageFileOffset[index]! + read})`);
      read += got;
    }
    if (this.cache.size >= CACHED_PAGES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(index, bytes);
    return bytes;
  }

  private grow(): void {
    const size = this.next.length * 2;
    // The old columns are freed now, not at V8's next full collection (the head reads its columns afresh each time).
    const grow = <T extends Float64Array | Uint32Array | Int32Array>(from: T, to: T): T => {
      to.set(from);
      releaseOwnedMemory(from);
      return to;
    };
    this.minTimeMs = grow(this.minTimeMs, new Float64Array(size));
    this.maxTimeMs = grow(this.maxTimeMs, new Float64Array(size));
    this.count = grow(this.count, new Uint32Array(size));
    this.page = grow(this.page, new Uint32Array(size));
    this.offset = grow(this.offset, new Uint32Array(size));
    this.length = grow(this.length, new Uint32Array(size));
    this.next = grow(this.next, new Int32Array(size));
  }
}
