// The head's open chunks as columns: one slot a head series, the XOR encoder's state in typed arrays
// indexed by slot and the bits in ranges of shared slabs. A slot outlives its chunks: its newest
// sample's time and value bits stay when a chunk is sealed or cut (the head's ordering and duplicate
// checks read them), so a series needs no numbers of its own in a JS object. The chunk layout is
// chunk.ts' (ChunkEncoder, which transient encoders keep using; test/tsdb/open-chunks.test.ts holds
// the two byte for byte). A ChunkEncoder, its BitWriter, checkpoint object and boxed doubles cost a
// series ~400 bytes of JS heap, and the heap's own slack about as much again in RSS; a slot costs
// ~100 bytes of columns (bench/tsdb-rss-probe.ts).
//
// Buffers: a slot's buffer is a range of a 64 KiB slab in one of a few size classes, taken from the
// class's free list (zeroed again) or cut from the slab being filled (fresh, so zeroed); bits are ORed
// in place. A released or outgrown buffer goes back to its class's free list. The head caps an open
// chunk at OPEN_CHUNK_MAX_BYTES, so its series seal chunks at different times: with slabs freed only
// once all their ranges were, a slab held ~1.6x its live bytes (bench: 360 bytes of slabs a series for
// 230 of buffers); with free lists, slabs hold what the busiest moment needed. A buffer larger than
// the largest class (not one the head makes) is a slab of its own, dropped when released.

import { CHECKPOINT_SAMPLE, clz64, ctz64, decodeXorInto, floatBitsInto, floatFromBits, NAN_HI, SAMPLES_PER_CHUNK, shiftedHigh, shiftedLow, SIZE_PREDICTION_SAMPLE, STALE_HI, STALE_LO, TWO_POW_32 } from './chunk.ts';

const SLAB_BYTES = 64 * 1024;
/**
 * The head seals an open chunk once it holds this many bytes, before SAMPLES_PER_CHUNK samples (as
 * Prometheus caps its head chunks' bytes): sealed chunks go to the head's chunk file in their compact
 * layout, while open chunks stay in memory as XOR bits. On the tsdb bench's workload a 120-sample open
 * chunk took 385 bytes on average (median 442, p90 780: 6-decimal ratios and large throughput
 * readings); capped at 320, an open chunk holds ~127 bytes on average for 0.55 more sealed chunks a
 * series per 120 samples (36 bytes of head-chunk columns each). Blocks re-encode chunks to
 * BLOCK_SAMPLES_PER_CHUNK, so the cap changes no block byte.
 */
export const OPEN_CHUNK_MAX_BYTES = 320;
/** The most one sample adds to a chunk (a 68-bit delta-of-delta and a 77-bit value code), rounded up. */
export const MAX_SAMPLE_BYTES = 19;
/** Buffer sizes; the largest holds a capped open chunk and one more sample (OPEN_CHUNK_MAX_BYTES + MAX_SAMPLE_BYTES, rounded to 8). */
const SIZE_CLASS_BYTES = [32, 64, 96, 128, 192, 256, 344];
const LARGEST_CLASS_BYTES = SIZE_CLASS_BYTES.at(-1)!;
const INITIAL_SLOTS = 1024;
/** A buffer's size when no size is expected (it is sized again after SIZE_PREDICTION_SAMPLE samples). */
const UNSIZED_BYTES = 32;
const NO_WINDOW = 0xff;

/** What the read path needs of an open chunk (ChunkEncoder has the same surface). */
export interface OpenChunkReader {
  readonly count: number;
  readonly minTimeMs: number;
  readonly maxTimeMs: number;
  decodeInto(timestampsMs: Float64Array, values: Float64Array, stale: Uint8Array, at: number, minTimeMs?: number, maxTimeMs?: number): number;
  newestInto(timestampsMs: Float64Array, values: Float64Array, stale: Uint8Array, at: number): void;
}

/** A float's bits, [high word, low word] (floatBitsInto). */
const bits = new Int32Array(2);

export class OpenChunks {
  private slabs: (Uint8Array | undefined)[] = [];
  /** Buffers in use per slab: a slab with none (other than the one being cut) is dropped. */
  private slabLiveBuffers: number[] = [];
  /** Indexes of dropped slabs, for reuse. */
  private freeSlabs: number[] = [];
  /** Per size class, released buffers as slab index × SLAB_BYTES + start. */
  private readonly freeBuffers: number[][] = SIZE_CLASS_BYTES.map(() => []);
  private currentSlab = -1;
  private currentSlabUsedBytes = SLAB_BYTES;
  private freeSlots: number[] = [];
  private slotCount = 0;

  count = new Uint32Array(INITIAL_SLOTS);
  minTimeMs = new Float64Array(INITIAL_SLOTS);
  maxTimeMs = new Float64Array(INITIAL_SLOTS);
  private previousDeltaMs = new Float64Array(INITIAL_SLOTS);
  private previousHi = new Int32Array(INITIAL_SLOTS);
  private previousLo = new Int32Array(INITIAL_SLOTS);
  /** The XOR window's leading zeros (NO_WINDOW: none yet) and trailing zeros. */
  private leading = new Uint8Array(INITIAL_SLOTS);
  private trailing = new Uint8Array(INITIAL_SLOTS);
  /** 1: size the buffer after SIZE_PREDICTION_SAMPLE samples. */
  private predictSize = new Uint8Array(INITIAL_SLOTS);
  private slab = new Uint32Array(INITIAL_SLOTS);
  private start = new Uint32Array(INITIAL_SLOTS);
  private capacityBytes = new Uint32Array(INITIAL_SLOTS);
  private bitLength = new Uint32Array(INITIAL_SLOTS);
  /** The decoder's state after sample CHECKPOINT_SAMPLE - 1 (valid once count reaches CHECKPOINT_SAMPLE). */
  private checkpointBit = new Uint32Array(INITIAL_SLOTS);
  private checkpointTimeMs = new Float64Array(INITIAL_SLOTS);
  private checkpointDeltaMs = new Float64Array(INITIAL_SLOTS);
  private checkpointHi = new Int32Array(INITIAL_SLOTS);
  private checkpointLo = new Int32Array(INITIAL_SLOTS);
  private checkpointLeading = new Uint8Array(INITIAL_SLOTS);
  private checkpointTrailing = new Uint8Array(INITIAL_SLOTS);

  /** Bytes of slabs held (buffers in use, free ones and the slab being cut), for tests and stats. */
  get slabBytes(): number {
    let total = 0;
    for (const slab of this.slabs) total += slab?.length ?? 0;
    return total;
  }

  /** A slot for a new series: no chunk, no sample yet (maxTimeMs -Infinity). */
  create(): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      if (this.slotCount === this.count.length) this.grow();
      slot = this.slotCount++;
    }
    this.count[slot] = 0;
    this.bitLength[slot] = 0;
    this.capacityBytes[slot] = 0;
    this.maxTimeMs[slot] = -Infinity;
    this.previousHi[slot] = 0;
    this.previousLo[slot] = 0;
    return slot;
  }

  /**
   * Starts the slot's next chunk (no chunk open); `expectedBytes` sizes its buffer (0: unknown, sized
   * from its first samples).
   */
  startChunk(slot: number, expectedBytes: number): void {
    this.count[slot] = 0;
    this.bitLength[slot] = 0;
    this.previousDeltaMs[slot] = 0;
    this.leading[slot] = NO_WINDOW;
    this.trailing[slot] = 0;
    this.predictSize[slot] = expectedBytes === 0 ? 1 : 0;
    this.allocate(slot, expectedBytes === 0 ? UNSIZED_BYTES : expectedBytes);
  }

  /** Ends the open chunk (its bytes were taken) and frees its buffer; the newest sample's time and value stay. */
  endChunk(slot: number): void {
    const capacity = this.capacityBytes[slot]!;
    if (capacity > 0) this.releaseBuffer(this.slab[slot]!, this.start[slot]!, capacity);
    this.capacityBytes[slot] = 0;
    this.count[slot] = 0;
    this.bitLength[slot] = 0;
  }

  /** Frees the slot (its series is gone) and its buffer. */
  release(slot: number): void {
    this.endChunk(slot);
    this.freeSlots.push(slot);
  }

  /** The newest sample's value (NaN for a staleness marker; maxTimeMs > -Infinity). */
  lastValue(slot: number): number {
    return floatFromBits(this.previousHi[slot]!, this.previousLo[slot]!);
  }

  /** Whether the newest sample is a staleness marker. */
  lastStale(slot: number): boolean {
    return this.previousHi[slot] === (STALE_HI | 0) && this.previousLo[slot] === STALE_LO;
  }

  /** Bytes of encoded data so far (what sizes the series' next open chunk). */
  byteLength(slot: number): number {
    return (this.bitLength[slot]! + 7) >>> 3;
  }

  /** Appends a sample to the chunk started last; timestamps must increase (the head checks that first). */
  append(slot: number, timestampMs: number, value: number, stale: boolean): void {
    let hi: number;
    let lo: number;
    if (stale) {
      hi = STALE_HI | 0;
      lo = STALE_LO;
    } else if (value !== value) {
      hi = NAN_HI;
      lo = 0;
    } else {
      floatBitsInto(value, bits);
      hi = bits[0]!;
      lo = bits[1]!;
    }
    const count = this.count[slot]!;
    if (count === 0) {
      this.writeWord64(slot, timestampMs);
      this.write(slot, hi, 32);
      this.write(slot, lo, 32);
      this.minTimeMs[slot] = timestampMs;
    } else {
      const deltaMs = timestampMs - this.maxTimeMs[slot]!;
      this.writeDeltaOfDelta(slot, deltaMs - this.previousDeltaMs[slot]!);
      this.previousDeltaMs[slot] = deltaMs;
      this.writeValue(slot, hi, lo);
    }
    this.maxTimeMs[slot] = timestampMs;
    this.previousHi[slot] = hi;
    this.previousLo[slot] = lo;
    this.count[slot] = count + 1;
    if (count + 1 === SIZE_PREDICTION_SAMPLE && this.predictSize[slot] === 1) {
      // The first sample takes 16 bytes whole; the rest go at the rate seen so far.
      const perSampleBytes = (this.byteLength(slot) - 16) / (SIZE_PREDICTION_SAMPLE - 1);
      // No larger than the largest size class: the head seals its chunks before they outgrow it.
      this.reserve(slot, Math.min(Math.ceil(16 + perSampleBytes * (SAMPLES_PER_CHUNK - 1) * 1.15) + 8, LARGEST_CLASS_BYTES));
    }
    if (count + 1 === CHECKPOINT_SAMPLE) {
      this.checkpointBit[slot] = this.bitLength[slot]!;
      this.checkpointTimeMs[slot] = timestampMs;
      this.checkpointDeltaMs[slot] = this.previousDeltaMs[slot]!;
      this.checkpointHi[slot] = hi;
      this.checkpointLo[slot] = lo;
      // NO_WINDOW: no '10' code can follow yet, so any window decodes the same.
      const leading = this.leading[slot]!;
      this.checkpointLeading[slot] = leading === NO_WINDOW ? 0 : leading;
      this.checkpointTrailing[slot] = this.trailing[slot]!;
    }
  }

  /** The chunk so far with its count header (chunk.ts' layout), from Node's shared buffer pool. */
  bytes(slot: number): Uint8Array {
    const length = this.byteLength(slot);
    const count = this.count[slot]!;
    const out = Buffer.allocUnsafe(2 + length);
    out[0] = count >>> 8;
    out[1] = count & 0xff;
    const startByte = this.start[slot]!;
    out.set(this.slabs[this.slab[slot]!]!.subarray(startByte, startByte + length), 2);
    return out;
  }

  /** Decodes the samples in [minTimeMs, maxTimeMs] into the arrays at `at`, reading the bits in place. */
  decodeInto(slot: number, timestampsMs: Float64Array, values: Float64Array, stale: Uint8Array, at: number, minTimeMs = -Infinity, maxTimeMs = Infinity): number {
    const count = this.count[slot]!;
    if (count === 0) return at;
    const startByte = this.start[slot]!;
    const bytes = this.slabs[this.slab[slot]!]!.subarray(startByte, startByte + this.byteLength(slot));
    if (count >= CHECKPOINT_SAMPLE && this.checkpointTimeMs[slot]! < minTimeMs) {
      return decodeXorInto(
        bytes, this.checkpointBit[slot]!, count, timestampsMs, values, stale, at, minTimeMs, maxTimeMs, CHECKPOINT_SAMPLE, this.checkpointTimeMs[slot]!,
        this.checkpointDeltaMs[slot]!, this.checkpointHi[slot]!, this.checkpointLo[slot]!, this.checkpointLeading[slot]!, this.checkpointTrailing[slot]!,
      );
    }
    return decodeXorInto(bytes, 0, count, timestampsMs, values, stale, at, minTimeMs, maxTimeMs);
  }

  /** Writes the newest sample (count > 0) at `at`, with no decoding. */
  newestInto(slot: number, timestampsMs: Float64Array, values: Float64Array, stale: Uint8Array, at: number): void {
    timestampsMs[at] = this.maxTimeMs[slot]!;
    const hi = this.previousHi[slot]!;
    const lo = this.previousLo[slot]!;
    if (hi === (STALE_HI | 0) && lo === STALE_LO) {
      values[at] = Number.NaN;
      stale[at] = 1;
      return;
    }
    values[at] = floatFromBits(hi, lo);
    stale[at] = 0;
  }

  /** A read-only view of the slot as it is now, for the read path (valid until the next append). */
  view(slot: number): OpenChunkReader {
    return new OpenChunkView(this, slot);
  }

  private writeValue(slot: number, hi: number, lo: number): void {
    const xorHi = (hi ^ this.previousHi[slot]!) >>> 0;
    const xorLo = (lo ^ this.previousLo[slot]!) >>> 0;
    if (xorHi === 0 && xorLo === 0) {
      this.write(slot, 0, 1);
      return;
    }
    let leading = clz64(xorHi, xorLo);
    const trailing = ctz64(xorHi, xorLo);
    if (leading > 31) leading = 31; // 5 bits hold the count
    const windowLeading = this.leading[slot]!;
    const windowTrailing = this.trailing[slot]!;
    if (windowLeading !== NO_WINDOW && leading >= windowLeading && trailing >= windowTrailing) {
      this.write(slot, 0b10, 2);
      this.writeMeaningful(slot, xorHi, xorLo, windowTrailing, 64 - windowLeading - windowTrailing);
      return;
    }
    this.leading[slot] = leading;
    this.trailing[slot] = trailing;
    const meaningful = 64 - leading - trailing;
    // '11', 5 bits of leading zeros, 6 bits of length (64 written as 0).
    this.write(slot, (0b11 << 11) | (leading << 6) | (meaningful & 63), 13);
    this.writeMeaningful(slot, xorHi, xorLo, trailing, meaningful);
  }

  private writeWord64(slot: number, integer: number): void {
    const hi = Math.floor(integer / TWO_POW_32);
    this.write(slot, hi >>> 0, 32);
    this.write(slot, (integer - hi * TWO_POW_32) >>> 0, 32);
  }

  private writeDeltaOfDelta(slot: number, dod: number): void {
    if (dod === 0) this.write(slot, 0, 1);
    else if (dod >= -8191 && dod <= 8192) this.write(slot, (0b10 << 14) | (dod & 0x3fff), 16);
    else if (dod >= -65535 && dod <= 65536) this.write(slot, (0b110 << 17) | (dod & 0x1ffff), 20);
    else if (dod >= -524287 && dod <= 524288) this.write(slot, (0b1110 << 20) | (dod & 0xfffff), 24);
    else {
      this.write(slot, 0b1111, 4);
      this.writeWord64(slot, dod);
    }
  }

  /** Writes `count` bits of the 64-bit word (hi, lo) shifted right by `shift`. */
  private writeMeaningful(slot: number, hi: number, lo: number, shift: number, count: number): void {
    const low = shiftedLow(hi, lo, shift);
    if (count > 32) {
      this.write(slot, shiftedHigh(hi, shift), count - 32);
      this.write(slot, low, 32);
    } else this.write(slot, low, count);
  }

  /** Writes the low `count` bits of `value` (count 1..32), most significant first, ORed into zeroed bytes. */
  private write(slot: number, value: number, count: number): void {
    let pos = this.bitLength[slot]!;
    const capacity = this.capacityBytes[slot]!;
    // The next size class up (beyond the largest, double).
    if (pos + count > capacity * 8) this.reserve(slot, Math.max(capacity >= LARGEST_CLASS_BYTES ? capacity * 2 : capacity + 1, (pos + count + 7) >>> 3));
    const bytes = this.slabs[this.slab[slot]!]!;
    const base = this.start[slot]!;
    let left = count;
    // Bounded: each pass writes at least one bit.
    while (left > 0) {
      const room = 8 - (pos & 7);
      const take = left < room ? left : room;
      const index = base + (pos >>> 3);
      bytes[index] = bytes[index]! | (((value >>> (left - take)) & ((1 << take) - 1)) << (room - take));
      pos += take;
      left -= take;
    }
    this.bitLength[slot] = pos;
  }

  /** Moves the slot's bits to a buffer of at least `bytes` (when larger than its own). */
  private reserve(slot: number, bytes: number): void {
    const capacity = this.capacityBytes[slot]!;
    if (bytes <= capacity) return;
    const oldSlab = this.slab[slot]!;
    const oldStart = this.start[slot]!;
    const used = this.byteLength(slot);
    this.allocate(slot, bytes);
    this.slabs[this.slab[slot]!]!.set(this.slabs[oldSlab]!.subarray(oldStart, oldStart + used), this.start[slot]!);
    this.releaseBuffer(oldSlab, oldStart, capacity);
  }

  /** A zeroed buffer of the smallest size class holding `bytes` (beyond the largest: a slab of its own). */
  private allocate(slot: number, bytes: number): void {
    let sizeClass = sizeClassOf(bytes);
    if (sizeClass < 0) {
      const index = this.newSlab(bytes);
      this.slab[slot] = index;
      this.start[slot] = 0;
      this.capacityBytes[slot] = bytes;
      this.slabLiveBuffers[index] = 1;
      return;
    }
    // A free buffer of this class, else of a larger one (memory that is there anyway: buffers left
    // by chunks that outgrew them would otherwise wait for a request of their own size).
    let free: number | undefined;
    for (let k = sizeClass; k < SIZE_CLASS_BYTES.length && free === undefined; k++) {
      free = this.freeBuffers[k]!.pop();
      if (free !== undefined) sizeClass = k;
    }
    const size = SIZE_CLASS_BYTES[sizeClass]!;
    this.capacityBytes[slot] = size;
    if (free !== undefined) {
      const index = Math.floor(free / SLAB_BYTES);
      const start = free - index * SLAB_BYTES;
      this.slabs[index]!.fill(0, start, start + size);
      this.slab[slot] = index;
      this.start[slot] = start;
      this.slabLiveBuffers[index] = this.slabLiveBuffers[index]! + 1;
      return;
    }
    if (this.currentSlabUsedBytes + size > SLAB_BYTES) {
      // The rest of the full slab (less than the largest class) stays unused.
      const previous = this.currentSlab;
      this.currentSlab = this.newSlab(SLAB_BYTES);
      this.currentSlabUsedBytes = 0;
      if (previous >= 0 && this.slabLiveBuffers[previous] === 0) this.dropSlab(previous);
    }
    this.slab[slot] = this.currentSlab;
    this.start[slot] = this.currentSlabUsedBytes;
    this.currentSlabUsedBytes += size;
    this.slabLiveBuffers[this.currentSlab] = this.slabLiveBuffers[this.currentSlab]! + 1;
  }

  private newSlab(bytes: number): number {
    const index = this.freeSlabs.pop() ?? this.slabs.length;
    this.slabs[index] = new Uint8Array(bytes);
    this.slabLiveBuffers[index] = 0;
    return index;
  }

  /**
   * Drops a slab none of whose buffers is in use, with its buffers in the free lists: first chunks
   * grow through the small classes once (32 bytes, then the size predicted after 16 samples), and
   * those buffers would otherwise wait in their lists for good (~120 bytes a series on the bench).
   */
  private dropSlab(index: number): void {
    this.slabs[index] = undefined;
    this.freeSlabs.push(index);
    const low = index * SLAB_BYTES;
    const high = low + SLAB_BYTES;
    for (let k = 0; k < this.freeBuffers.length; k++) {
      const list = this.freeBuffers[k]!;
      let write = 0;
      for (let read = 0; read < list.length; read++) {
        const entry = list[read]!;
        if (entry < low || entry >= high) list[write++] = entry;
      }
      list.length = write;
    }
  }

  /** A size class's buffer goes to its free list (its slab is dropped when none is in use); a slab of its own is dropped. */
  private releaseBuffer(index: number, start: number, capacity: number): void {
    const left = this.slabLiveBuffers[index]! - 1;
    this.slabLiveBuffers[index] = left;
    const sizeClass = sizeClassOf(capacity);
    if (sizeClass < 0 || SIZE_CLASS_BYTES[sizeClass] !== capacity) {
      this.slabs[index] = undefined;
      this.freeSlabs.push(index);
      return;
    }
    this.freeBuffers[sizeClass]!.push(index * SLAB_BYTES + start);
    if (left === 0 && index !== this.currentSlab) this.dropSlab(index);
  }

  private grow(): void {
    const size = this.count.length * 2;
    const grown = <T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.count = grown(this.count, new Uint32Array(size));
    this.minTimeMs = grown(this.minTimeMs, new Float64Array(size));
    this.maxTimeMs = grown(this.maxTimeMs, new Float64Array(size));
    this.previousDeltaMs = grown(this.previousDeltaMs, new Float64Array(size));
    this.previousHi = grown(this.previousHi, new Int32Array(size));
    this.previousLo = grown(this.previousLo, new Int32Array(size));
    this.leading = grown(this.leading, new Uint8Array(size));
    this.trailing = grown(this.trailing, new Uint8Array(size));
    this.predictSize = grown(this.predictSize, new Uint8Array(size));
    this.slab = grown(this.slab, new Uint32Array(size));
    this.start = grown(this.start, new Uint32Array(size));
    this.capacityBytes = grown(this.capacityBytes, new Uint32Array(size));
    this.bitLength = grown(this.bitLength, new Uint32Array(size));
    this.checkpointBit = grown(this.checkpointBit, new Uint32Array(size));
    this.checkpointTimeMs = grown(this.checkpointTimeMs, new Float64Array(size));
    this.checkpointDeltaMs = grown(this.checkpointDeltaMs, new Float64Array(size));
    this.checkpointHi = grown(this.checkpointHi, new Int32Array(size));
    this.checkpointLo = grown(this.checkpointLo, new Int32Array(size));
    this.checkpointLeading = grown(this.checkpointLeading, new Uint8Array(size));
    this.checkpointTrailing = grown(this.checkpointTrailing, new Uint8Array(size));
  }
}

class OpenChunkView implements OpenChunkReader {
  readonly count: number;
  readonly minTimeMs: number;
  readonly maxTimeMs: number;
  private readonly store: OpenChunks;
  private readonly slot: number;

  constructor(store: OpenChunks, slot: number) {
    this.store = store;
    this.slot = slot;
    this.count = store.count[slot]!;
    this.minTimeMs = store.minTimeMs[slot]!;
    this.maxTimeMs = store.maxTimeMs[slot]!;
  }

  decodeInto(timestampsMs: Float64Array, values: Float64Array, stale: Uint8Array, at: number, minTimeMs?: number, maxTimeMs?: number): number {
    return this.store.decodeInto(this.slot, timestampsMs, values, stale, at, minTimeMs, maxTimeMs);
  }

  newestInto(timestampsMs: Float64Array, values: Float64Array, stale: Uint8Array, at: number): void {
    this.store.newestInto(this.slot, timestampsMs, values, stale, at);
  }
}

/** The smallest size class holding `bytes`, or -1 beyond the largest. */
function sizeClassOf(bytes: number): number {
  for (let i = 0; i < SIZE_CLASS_BYTES.length; i++) if (SIZE_CLASS_BYTES[i]! >= bytes) return i;
  return -1;
}
