// The head's open chunks as columns: one slot a head series, the XOR encoder's state in typed arrays
// indexed by slot and the bits in ranges of shared slabs. A slot outlives its chunks: its newest
// sample's time and value bits stay when a chunk is sealed or cut (the head's ordering and duplicate
// checks read them), so a series needs no numbers of its own in a JS object. The chunk layout is
// chunk.ts' (ChunkEncoder, which transient encoders keep using; test/tsdb/open-chunks.test.ts holds
// the two byte for byte). A ChunkEncoder, its BitWriter, checkpoint object and boxed doubles cost a
// series ~400 bytes of JS heap, and the heap's own slack about as much again in RSS; a slot costs
// ~100 bytes of columns (bench/tsdb-rss-probe.ts).
//
// Slabs: a slot's buffer is a range of a 64 KiB slab, bump-allocated (a fresh slab is zeroed, and bits
// are ORed in place, so no byte needs clearing); a buffer larger than 8 KiB is a slab of its own. A
// slab counts its live ranges and is dropped when the last one is released or outgrown: a scrape's
// series open and seal their chunks together, so a slab's ranges die about together too.

import { CHECKPOINT_SAMPLE, clz64, ctz64, decodeXorInto, floatBitsInto, floatFromBits, NAN_HI, SAMPLES_PER_CHUNK, shiftedHigh, shiftedLow, SIZE_PREDICTION_SAMPLE, STALE_HI, STALE_LO, TWO_POW_32 } from './chunk.ts';
import { releaseOwnedMemory } from '../store/owned-buffer.ts';

const SLAB_BYTES = 64 * 1024;
const OWN_SLAB_BYTES = SLAB_BYTES / 8;
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
  private slabLiveRanges: number[] = [];
  private freeSlabs: number[] = [];
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
    if (this.capacityBytes[slot]! > 0) this.releaseRange(this.slab[slot]!);
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
      this.reserve(slot, Math.ceil(16 + perSampleBytes * (SAMPLES_PER_CHUNK - 1) * 1.15) + 8);
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
    if (pos + count > this.capacityBytes[slot]! * 8) this.reserve(slot, Math.max(this.capacityBytes[slot]! * 2, (pos + count + 7) >>> 3));
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

  /** Moves the slot's bits to a buffer of `bytes` (when larger than its own). */
  private reserve(slot: number, bytes: number): void {
    if (bytes <= this.capacityBytes[slot]!) return;
    const oldSlab = this.slab[slot]!;
    const oldStart = this.start[slot]!;
    const used = this.byteLength(slot);
    this.allocate(slot, bytes);
    this.slabs[this.slab[slot]!]!.set(this.slabs[oldSlab]!.subarray(oldStart, oldStart + used), this.start[slot]!);
    this.releaseRange(oldSlab);
  }

  private allocate(slot: number, bytes: number): void {
    this.capacityBytes[slot] = bytes;
    if (bytes > OWN_SLAB_BYTES) {
      this.slab[slot] = this.newSlab(bytes, false);
      this.start[slot] = 0;
    } else {
      if (this.currentSlabUsedBytes + bytes > SLAB_BYTES) {
        const previous = this.currentSlab;
        this.currentSlab = this.newSlab(SLAB_BYTES, true);
        this.currentSlabUsedBytes = 0;
        // The slab being filled held one range of its own, so it outlives its ranges until it is full.
        if (previous >= 0) this.releaseRange(previous);
      }
      this.slab[slot] = this.currentSlab;
      this.start[slot] = this.currentSlabUsedBytes;
      this.currentSlabUsedBytes += bytes;
    }
    const index = this.slab[slot]!;
    this.slabLiveRanges[index] = this.slabLiveRanges[index]! + 1;
  }

  /** `shared`: the slab ranges are cut from; it holds a range of its own until it is full. */
  private newSlab(bytes: number, shared: boolean): number {
    const index = this.freeSlabs.pop() ?? this.slabs.length;
    this.slabs[index] = new Uint8Array(bytes);
    this.slabLiveRanges[index] = shared ? 1 : 0;
    return index;
  }

  private releaseRange(index: number): void {
    const left = this.slabLiveRanges[index]! - 1;
    this.slabLiveRanges[index] = left;
    if (left > 0) return;
    // Freed now, not at V8's next full collection: a slab lives for many scrapes, so it is promoted
    // (nothing outside reads a slab: bytes() copies, decodeInto reads synchronously).
    releaseOwnedMemory(this.slabs[index]!);
    this.slabs[index] = undefined;
    this.freeSlabs.push(index);
  }

  private grow(): void {
    const size = this.count.length * 2;
    // The old columns are freed now, not at V8's next full collection (readers index the store's fields afresh).
    const grown = <T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(from: T, to: T): T => {
      to.set(from);
      releaseOwnedMemory(from);
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
