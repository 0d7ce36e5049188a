// Gorilla chunks (Pelkonen et al., VLDB 2015), the layout Prometheus' XOR chunks use:
//   u16 sample count (big-endian) | bit stream:
//   sample 0: timestamp as 64 bits (two's complement ms), value as 64 raw IEEE-754 bits
//   sample 1+: timestamp as a delta-of-delta (sample 1: delta from 0) in one of five buckets
//     '0' = 0 | '10' + 14 bits | '110' + 17 bits | '1110' + 20 bits | '1111' + 64 bits
//   value XORed with the previous value's bits:
//     '0' = same value | '10' + the meaningful bits inside the previous leading/trailing-zero window |
//     '11' + 5 bits leading zeros + 6 bits meaningful length (0 means 64) + the meaningful bits
// A staleness marker is stored as Prometheus' stale NaN bit pattern 0x7ff0000000000002 and every
// other NaN as 0x7ff8000000000000, so the marker survives a round trip distinctly (the contract in
// types.ts carries it as a flag, because JavaScript does not promise to keep NaN payloads).

import { bitsAt, BitWriter } from './bit-stream.ts';
import { ADAPTIVE_CHUNK_FLAG, DECIMAL_CHUNK_FLAG, decimalExponent, decodeDecimalChunkInto, encodeDecimalChunk } from './decimal-chunk.ts';

/**
 * Samples per chunk: Prometheus' figure. With a 15 s interval that is 30 min per chunk; past ~120 the
 * compression gain per extra sample is small, and a query decodes whole chunks.
 */
export const SAMPLES_PER_CHUNK = 120;

/**
 * Samples per chunk in blocks: the head's chunks are re-encoded this long when a block is written
 * (2 h at 15 s). Each chunk starts with a whole timestamp and value (16 bytes) and costs an index
 * entry; on the tsdb bench's exporter data 480 instead of 120 saved ~0.1 byte a sample. A query
 * decodes whole chunks, ~10 µs for 480 samples.
 */
export const BLOCK_SAMPLES_PER_CHUNK = 480;

export const STALE_HI = 0x7ff00000;
export const STALE_LO = 0x00000002;
export const NAN_HI = 0x7ff80000;
export const TWO_POW_32 = 4294967296;

const floatScratch = new Float64Array(1);
const wordScratch = new Uint32Array(floatScratch.buffer);
/** Index of the high 32-bit word in `wordScratch` on this platform's byte order. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** Writes the float's bits as int32 words into `out`: [high, low]. */
export function floatBitsInto(value: number, out: Int32Array): void {
  floatScratch[0] = value;
  out[0] = wordScratch[HI]!;
  out[1] = wordScratch[LO]!;
}

/** The float with these bits (high and low words). */
export function floatFromBits(hi: number, lo: number): number {
  wordScratch[HI] = hi;
  wordScratch[LO] = lo;
  return floatScratch[0]!;
}

export class ChunkDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChunkDecodeError';
  }
}

/** Decoded samples of one or more chunks; `stale` is set only when a marker is present. */
export interface DecodedSamples {
  timestampsMs: Float64Array;
  values: Float64Array;
  stale?: Uint8Array;
}

export function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

function ctz32(word: number): number {
  return word === 0 ? 32 : 31 - Math.clz32(word & -word);
}

export function ctz64(hi: number, lo: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

/** The decoder's state after a sample: decoding can resume from it instead of from the chunk's start. */
interface XorCheckpoint {
  /** Samples before the resume point (the state is that after sample `samples - 1`). */
  samples: number;
  bit: number;
  timestampMs: number;
  deltaMs: number;
  hi: number;
  lo: number;
  leading: number;
  trailing: number;
}

/**
 * The open chunk remembers the decoder state halfway (one object a series): a query whose window
 * starts after that sample (an instant rate(x[5m]) at the head's end) decodes the second half only,
 * half the samples on average.
 */
export const CHECKPOINT_SAMPLE = SAMPLES_PER_CHUNK / 2;

/**
 * After this many samples a head open chunk (open-chunks.ts) with no previous chunk to go by sizes its
 * buffer for a whole chunk at the rate so far (+15%): one copy where doubling from 32 bytes made four.
 */
export const SIZE_PREDICTION_SAMPLE = 16;

/**
 * Appends samples in timestamp order and produces the chunk bytes: the transient encoder (blocks,
 * compaction, tests). The head keeps its open chunks as columns in open-chunks.ts, which writes the
 * same bytes (test/tsdb/open-chunks.test.ts).
 */
export class ChunkEncoder {
  private readonly writer = new BitWriter(32);
  count = 0;
  minTimeMs = 0;
  maxTimeMs = 0;
  private previousDeltaMs = 0;
  private previousHi = 0;
  private previousLo = 0;
  private leading = 0xff;
  private trailing = 0;
  private checkpoint: XorCheckpoint | undefined;

  /** Timestamps must increase; the head checks that before appending. */
  append(timestampMs: number, value: number, stale = false): void {
    let hi: number;
    let lo: number;
    if (stale) {
      hi = STALE_HI;
      lo = STALE_LO;
    } else if (value !== value) {
      hi = NAN_HI;
      lo = 0;
    } else {
      floatScratch[0] = value;
      hi = wordScratch[HI]!;
      lo = wordScratch[LO]!;
    }
    const writer = this.writer;
    if (this.count === 0) {
      writeWord64(writer, timestampMs);
      writer.write(hi, 32);
      writer.write(lo, 32);
      this.minTimeMs = timestampMs;
    } else {
      const deltaMs = timestampMs - this.maxTimeMs;
      writeDeltaOfDelta(writer, deltaMs - this.previousDeltaMs);
      this.previousDeltaMs = deltaMs;
      this.writeValue(hi, lo);
    }
    this.maxTimeMs = timestampMs;
    // As int32: small integers in the object, where a uint32 above 2^31 would be a heap number each.
    this.previousHi = hi | 0;
    this.previousLo = lo | 0;
    this.count++;
    if (this.count === CHECKPOINT_SAMPLE) {
      this.checkpoint = {
        samples: this.count,
        bit: writer.bitLength(),
        timestampMs,
        deltaMs: this.previousDeltaMs,
        hi: hi | 0,
        lo: lo | 0,
        // 0xff: no window yet, so no '10' code can follow; any state decodes the same.
        leading: this.leading === 0xff ? 0 : this.leading,
        trailing: this.trailing,
      };
    }
  }

  private writeValue(hi: number, lo: number): void {
    const writer = this.writer;
    const xorHi = (hi ^ this.previousHi) >>> 0;
    const xorLo = (lo ^ this.previousLo) >>> 0;
    if (xorHi === 0 && xorLo === 0) {
      writer.writeBit(0);
      return;
    }
    writer.writeBit(1);
    let leading = clz64(xorHi, xorLo);
    const trailing = ctz64(xorHi, xorLo);
    if (leading > 31) leading = 31; // 5 bits hold the count
    if (this.leading !== 0xff && leading >= this.leading && trailing >= this.trailing) {
      writer.writeBit(0);
      writeMeaningful(writer, xorHi, xorLo, this.trailing, 64 - this.leading - this.trailing);
      return;
    }
    this.leading = leading;
    this.trailing = trailing;
    const meaningful = 64 - leading - trailing;
    writer.writeBit(1);
    writer.write(leading, 5);
    writer.write(meaningful & 63, 6); // 64 is written as 0
    writeMeaningful(writer, xorHi, xorLo, trailing, meaningful);
  }

  /**
   * Decodes the samples appended so far in [minTimeMs, maxTimeMs] into the arrays at `at` (room for
   * `count` needed), reading the encoder's bits in place: a query does not copy a head's open chunk.
   */
  decodeInto(timestampsMs: Float64Array, values: Float64Array, stale: Uint8Array, at: number, minTimeMs = -Infinity, maxTimeMs = Infinity): number {
    if (this.count === 0) return at;
    const bytes = this.writer.view();
    const from = this.checkpoint;
    if (from !== undefined && from.timestampMs < minTimeMs) {
      return decodeXorInto(bytes, from.bit, this.count, timestampsMs, values, stale, at, minTimeMs, maxTimeMs, from.samples, from.timestampMs, from.deltaMs, from.hi, from.lo, from.leading, from.trailing);
    }
    return decodeXorInto(bytes, 0, this.count, timestampsMs, values, stale, at, minTimeMs, maxTimeMs);
  }

  /** Writes the newest sample appended (count > 0) at `at`: an instant selector's answer, with no decoding. */
  newestInto(timestampsMs: Float64Array, values: Float64Array, stale: Uint8Array, at: number): void {
    timestampsMs[at] = this.maxTimeMs;
    if (this.previousHi === STALE_HI && this.previousLo === STALE_LO) {
      values[at] = Number.NaN;
      stale[at] = 1;
      return;
    }
    wordScratch[HI] = this.previousHi;
    wordScratch[LO] = this.previousLo;
    values[at] = floatScratch[0]!;
    stale[at] = 0;
  }

  /**
   * The chunk so far (the encoder stays usable). Small chunks are carved from Node's shared buffer
   * pool: a separate ArrayBuffer per chunk costs ~200 bytes of bookkeeping, more than a chunk's data.
   */
  bytes(): Uint8Array {
    const out = Buffer.allocUnsafe(2 + this.writer.byteLength());
    out[0] = this.count >>> 8;
    out[1] = this.count & 0xff;
    this.writer.copyInto(out, 2);
    return out;
  }
}

function writeWord64(writer: BitWriter, integer: number): void {
  const hi = Math.floor(integer / TWO_POW_32);
  writer.write(hi >>> 0, 32);
  writer.write((integer - hi * TWO_POW_32) >>> 0, 32);
}

function writeDeltaOfDelta(writer: BitWriter, dod: number): void {
  if (dod === 0) writer.writeBit(0);
  else if (dod >= -8191 && dod <= 8192) {
    writer.write(0b10, 2);
    writer.write(dod & 0x3fff, 14);
  } else if (dod >= -65535 && dod <= 65536) {
    writer.write(0b110, 3);
    writer.write(dod & 0x1ffff, 17);
  } else if (dod >= -524287 && dod <= 524288) {
    writer.write(0b1110, 4);
    writer.write(dod & 0xfffff, 20);
  } else {
    writer.write(0b1111, 4);
    writeWord64(writer, dod);
  }
}

/** High 32 bits of the 64-bit word (hi, lo) shifted right by `shift` (0..63). */
export function shiftedHigh(hi: number, shift: number): number {
  return shift === 0 ? hi : shift < 32 ? hi >>> shift : 0;
}

/** Low 32 bits (unsigned) of the 64-bit word (hi, lo) shifted right by `shift` (0..63). */
export function shiftedLow(hi: number, lo: number, shift: number): number {
  return shift === 0 ? lo >>> 0 : shift < 32 ? ((lo >>> shift) | (hi << (32 - shift))) >>> 0 : hi >>> (shift - 32);
}

/** Writes `count` bits of the 64-bit word (hi, lo) shifted right by `shift`. */
function writeMeaningful(writer: BitWriter, hi: number, lo: number, shift: number, count: number): void {
  const low = shiftedLow(hi, lo, shift);
  if (count > 32) {
    writer.write(shiftedHigh(hi, shift), count - 32);
    writer.write(low, 32);
  } else {
    writer.write(low, count);
  }
}

/** Number of samples a chunk declares (bounded by its bytes when decoded). */
export function chunkSampleCount(bytes: Uint8Array): number {
  if (bytes.length < 2) throw new ChunkDecodeError(`chunk of ${bytes.length} bytes has no header`);
  return ((bytes[0]! << 8) | bytes[1]!) & ~(DECIMAL_CHUNK_FLAG | ADAPTIVE_CHUNK_FLAG) & 0xffff;
}

/**
 * The chunk to keep for an encoder's samples: its XOR bytes, or the decimal layout (decimal-chunk.ts)
 * when every value is a short decimal and that comes out smaller.
 */
export function sealChunk(encoder: ChunkEncoder): Uint8Array {
  return sealChunkBytes(encoder.bytes(), encoder.count);
}

/** sealChunk for a chunk's XOR bytes (with their count header) and sample count. */
export function sealChunkBytes(xor: Uint8Array, count: number): Uint8Array {
  if (count < 2) return xor;
  // Decoded into arrays reused across seals: a head seals a chunk per series every 30 min, and
  // fresh arrays per seal were steady off-heap churn.
  if (sealScratch.timestampsMs.length < count) sealScratch = { timestampsMs: new Float64Array(count), values: new Float64Array(count), stale: new Uint8Array(count) };
  const { timestampsMs, values, stale } = sealScratch;
  decodeChunkInto(xor, timestampsMs, values, stale, 0);
  if (stale.subarray(0, count).includes(1)) return xor;
  const exponent = decimalExponent(values, count);
  if (exponent < 0) return xor;
  const decimal = encodeDecimalChunk(timestampsMs, values, count, exponent);
  return decimal !== undefined && decimal.length < xor.length ? decimal : xor;
}

let sealScratch = { timestampsMs: new Float64Array(BLOCK_SAMPLES_PER_CHUNK), values: new Float64Array(BLOCK_SAMPLES_PER_CHUNK), stale: new Uint8Array(BLOCK_SAMPLES_PER_CHUNK) };

/**
 * Decodes a chunk into the arrays at `at`, keeping only samples in [minTimeMs, maxTimeMs]; returns
 * the new fill position. The arrays must have room for the chunk's declared count. A count larger
 * than the bits present fails with ChunkDecodeError rather than reading past the end. Decoding stops
 * at the first sample past maxTimeMs (samples ascend).
 */
export function decodeChunkInto(
  bytes: Uint8Array,
  timestampsMs: Float64Array,
  values: Float64Array,
  stale: Uint8Array,
  at: number,
  minTimeMs = -Infinity,
  maxTimeMs = Infinity,
): number {
  const count = chunkSampleCount(bytes);
  if ((bytes[0]! & 0x80) !== 0) {
    try {
      return decodeDecimalChunkInto(bytes, count, timestampsMs, values, stale, at, minTimeMs, maxTimeMs);
    } catch (error) {
      throw new ChunkDecodeError(`corrupt decimal chunk: ${(error as Error).message}`);
    }
  }
  return decodeXorInto(bytes, 16, count, timestampsMs, values, stale, at, minTimeMs, maxTimeMs);
}

/** Delta-of-delta timestamp prefix codes: the bits a '10', '110' and '1110' code take with their payload. */
const DOD_14_BITS = 2 + 14;
const DOD_17_BITS = 3 + 17;
const DOD_20_BITS = 4 + 20;

/**
 * The XOR layout's samples from bit `startBit` of `bytes` (after the count header), or from a
 * checkpoint: sample `fromSample` on, with the decoder state after the sample before it. The bit position
 * is a local and fields are read through bitsAt's 32-bit window (a prefix code with its payload is one
 * read); the end of the bytes is checked once a sample, and reads past it see zeros until then.
 */
export function decodeXorInto(
  bytes: Uint8Array,
  startBit: number,
  count: number,
  timestampsMs: Float64Array,
  values: Float64Array,
  stale: Uint8Array,
  at: number,
  minTimeMs: number,
  maxTimeMs: number,
  fromSample = 0,
  timestampMs = 0,
  deltaMs = 0,
  hi = 0,
  lo = 0,
  leading = 0,
  trailing = 0,
): number {
  const limit = bytes.length * 8;
  let pos = startBit;
  for (let i = fromSample; i < count; i++) {
    if (i === 0) {
      timestampMs = bitsAt(bytes, pos) * TWO_POW_32 + (bitsAt(bytes, pos + 32) >>> 0);
      hi = bitsAt(bytes, pos + 64);
      lo = bitsAt(bytes, pos + 96);
      pos += 128;
    } else {
      const window = bitsAt(bytes, pos);
      let dod: number;
      let used: number;
      if ((window & 0x80000000) === 0) {
        dod = 0;
        used = 1;
      } else if ((window & 0x40000000) === 0) {
        const raw = (window >>> (32 - DOD_14_BITS)) & 0x3fff;
        dod = raw > 0x2000 ? raw - 0x4000 : raw;
        used = DOD_14_BITS;
      } else if ((window & 0x20000000) === 0) {
        const raw = (window >>> (32 - DOD_17_BITS)) & 0x1ffff;
        dod = raw > 0x10000 ? raw - 0x20000 : raw;
        used = DOD_17_BITS;
      } else if ((window & 0x10000000) === 0) {
        const raw = (window >>> (32 - DOD_20_BITS)) & 0xfffff;
        dod = raw > 0x80000 ? raw - 0x100000 : raw;
        used = DOD_20_BITS;
      } else {
        dod = bitsAt(bytes, pos + 4) * TWO_POW_32 + (bitsAt(bytes, pos + 36) >>> 0);
        used = 68;
      }
      pos += used;
      deltaMs += dod;
      timestampMs += deltaMs;
      // The value's control bits (at most 13) from what the timestamp's code left of the window.
      const control = used <= 32 - 13 ? window << used : bitsAt(bytes, pos);
      if ((control & 0x80000000) === 0) pos += 1;
      else {
        if ((control & 0x40000000) === 0) pos += 2;
        else {
          // '11' + 5 bits leading zeros + 6 bits meaningful length.
          leading = (control >>> 25) & 31;
          const length = (control >>> 19) & 63;
          pos += 13;
          trailing = 64 - leading - (length === 0 ? 64 : length);
          if (trailing < 0) throw new ChunkDecodeError(`corrupt chunk: invalid XOR window at sample ${i}`);
        }
        const meaningful = 64 - leading - trailing;
        let xorHi: number;
        let xorLo: number;
        if (meaningful > 32) {
          // A shift by 0 would turn the int32 into a uint32 (boxed above 2^31).
          xorHi = meaningful === 64 ? bitsAt(bytes, pos) : bitsAt(bytes, pos) >>> (64 - meaningful);
          xorLo = bitsAt(bytes, pos + meaningful - 32);
        } else {
          xorHi = 0;
          xorLo = meaningful === 32 ? bitsAt(bytes, pos) : bitsAt(bytes, pos) >>> (32 - meaningful);
        }
        pos += meaningful;
        if (trailing >= 32) {
          xorHi = xorLo << (trailing - 32);
          xorLo = 0;
        } else if (trailing > 0) {
          xorHi = (xorHi << trailing) | (xorLo >>> (32 - trailing));
          xorLo = xorLo << trailing;
        }
        hi ^= xorHi;
        lo ^= xorLo;
      }
    }
    if (pos > limit) throw new ChunkDecodeError(`corrupt chunk: truncated at sample ${i} of ${count} (bit ${pos} of ${limit})`);
    if (timestampMs < minTimeMs) continue;
    if (timestampMs > maxTimeMs) break;
    timestampsMs[at] = timestampMs;
    if (hi === STALE_HI && lo === STALE_LO) {
      values[at] = Number.NaN;
      stale[at] = 1;
    } else {
      wordScratch[HI] = hi;
      wordScratch[LO] = lo;
      values[at] = floatScratch[0]!;
      stale[at] = 0;
    }
    at++;
  }
  return at;
}

/** Decodes one chunk (all samples). */
export function decodeChunk(bytes: Uint8Array): DecodedSamples {
  const count = chunkSampleCount(bytes);
  const timestampsMs = new Float64Array(count);
  const values = new Float64Array(count);
  const stale = new Uint8Array(count);
  decodeChunkInto(bytes, timestampsMs, values, stale, 0);
  return stale.includes(1) ? { timestampsMs, values, stale } : { timestampsMs, values };
}
