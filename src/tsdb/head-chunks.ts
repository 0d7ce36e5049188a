// The head's sealed chunks: their bytes bump-allocated in large pages, their times, counts and
// places in typed columns, and each series' chunks a linked list through `next`. The head cut takes
// every chunk out at once, so nothing is freed one by one: clear() drops the pages and the columns
// start over. A chunk as its own Buffer with a StoredChunk object cost ~200 bytes of objects and
// pool slack beside ~250 bytes of data (bench/tsdb-bench.ts heap snapshot, 20,000 series).

/** Page size: large enough that a chunk (at most a few KiB) rarely straddles the end of one. */
const PAGE_BYTES = 256 * 1024;
const INITIAL_CHUNKS = 1024;

export class HeadChunks {
  private pages: Uint8Array[] = [];
  private pageUsedBytes = PAGE_BYTES;
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

  /** Stores a chunk after `previous` (its series' last chunk, or -1); returns its index. */
  add(bytes: Uint8Array, minTimeMs: number, maxTimeMs: number, count: number, previous: number): number {
    if (this.pageUsedBytes + bytes.length > PAGE_BYTES) {
      this.pages.push(new Uint8Array(Math.max(PAGE_BYTES, bytes.length)));
      this.pageUsedBytes = 0;
    }
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

  /** The chunk's bytes: a view valid until clear() (a cut hands these views to the block writer). */
  bytes(index: number): Uint8Array {
    const start = this.offset[index]!;
    return this.pages[this.page[index]!]!.subarray(start, start + this.length[index]!);
  }

  /** Forgets every chunk (after a cut took them all). Views handed out stay readable. */
  clear(): void {
    this.pages = [];
    this.pageUsedBytes = PAGE_BYTES;
    this.size = 0;
    if (this.next.length > INITIAL_CHUNKS) {
      // The columns shrink back, so one large head does not pin its peak size for good.
      this.minTimeMs = new Float64Array(INITIAL_CHUNKS);
      this.maxTimeMs = new Float64Array(INITIAL_CHUNKS);
      this.count = new Uint32Array(INITIAL_CHUNKS);
      this.page = new Uint32Array(INITIAL_CHUNKS);
      this.offset = new Uint32Array(INITIAL_CHUNKS);
      this.length = new Uint32Array(INITIAL_CHUNKS);
      this.next = new Int32Array(INITIAL_CHUNKS);
    }
  }

  private grow(): void {
    const size = this.next.length * 2;
    const grow = <T extends Float64Array | Uint32Array | Int32Array>(from: T, to: T): T => {
      to.set(from);
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
