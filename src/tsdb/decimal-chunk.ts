// Decimal chunks: a second chunk layout for values that are decimals with few digits (counters in
// hundredths such as node_cpu_seconds_total, integer gauges, readings with 3 decimals). XOR of
// such doubles keeps most mantissa bits (~5–7 bytes a sample on exporter data); scaled to integers,
// their delta-of-delta needs a few bits. A chunk is sealed in this layout only when it comes out
// smaller than the XOR one (VictoriaMetrics converts to decimals for the same reason).
//   u16 sample count with the high bit set | u8 decimal exponent e | bit stream:
//   timestamps: the first as 64 bits, then delta-of-delta buckets '0' = 0 | '10' + 7 bits |
//   '110' + 14 | '1110' + 20 | '1111' + 64 (a 7-bit bucket, unlike XOR chunks, because scrape
//   timestamps jitter by a few milliseconds);
//   values as integers v·10^e: the first as 64 bits, the second as a delta and the rest as a
//   delta-of-delta, each in a bucket: '0' = 0 | '10' + 7 bits | '110' + 14 | '1110' + 21 | '1111' + 64.
// No stale marker, NaN or ±Inf: such chunks stay XOR.
//
// Adaptive layout (count flag 0x4000 as well; what encodeDecimalChunk writes now; the layout above
// is still read): u16 count | u8 e | u8 mode << 5 | k | the same timestamps | values: the first as 64
// bits, then per sample a residual in buckets '0' = 0 | '10' + k bits | '110' + k+6 | '1110' + k+14
// (at most 52) | '1111' + 64, where the residual is, by mode, 0: the delta-of-delta (the second
// sample: its delta), 1: the delta minus the first delta (counters with steady increments: half the
// spread of a delta-of-delta), 2: the value minus the first (gauges read around a level). Mode and
// k are chosen per chunk for the fewest bits (counted, not encoded, for each choice).

import { bitsAt, BitWriter } from './bit-stream.ts';

export const DECIMAL_CHUNK_FLAG = 0x8000;
/** With DECIMAL_CHUNK_FLAG: the adaptive layout. */
export const ADAPTIVE_CHUNK_FLAG = 0x4000;
const MODES = 3;
const MAX_K = 31;
/** Widest bucket: residuals stay exact safe integers. */
const MAX_WIDTH = 52;
/** Largest exponent tried: 10^6 covers microsecond-precision readings. */
const MAX_EXPONENT = 6;
const TWO_POW_32 = 4294967296;

/** The smallest e with every value·10^e an exact safe integer, or −1. */
export function decimalExponent(values: Float64Array, count: number): number {
  let exponent = 0;
  let scale = 1;
  for (let i = 0; i < count; i++) {
    const value = values[i]!;
    if (!Number.isFinite(value) || Object.is(value, -0)) return -1;
    // Bounded: the exponent only grows, up to MAX_EXPONENT.
    for (;;) {
      const scaled = Math.round(value * scale);
      if (Math.abs(scaled) <= Number.MAX_SAFE_INTEGER && scaled / scale === value) break;
      if (exponent === MAX_EXPONENT) return -1;
      exponent++;
      scale *= 10;
    }
  }
  return exponent;
}

function writeWord64(writer: BitWriter, integer: number): void {
  const hi = Math.floor(integer / TWO_POW_32);
  writer.write(hi >>> 0, 32);
  writer.write((integer - hi * TWO_POW_32) >>> 0, 32);
}

function writeTimestampDelta(writer: BitWriter, dod: number): void {
  if (dod === 0) writer.writeBit(0);
  else if (dod >= -63 && dod <= 64) {
    writer.write(0b10, 2);
    writer.write(dod & 0x7f, 7);
  } else if (dod >= -8191 && dod <= 8192) {
    writer.write(0b110, 3);
    writer.write(dod & 0x3fff, 14);
  } else if (dod >= -524287 && dod <= 524288) {
    writer.write(0b1110, 4);
    writer.write(dod & 0xfffff, 20);
  } else {
    writer.write(0b1111, 4);
    writeWord64(writer, dod);
  }
}

/** A `bits`-wide two's complement field (bits ≤ 32) as read unsigned; 2^(bits-1) itself is positive. */
function signed(raw: number, bits: number): number {
  const half = SIGNED_HALF[bits]!;
  return raw > half ? raw - 2 * half : raw;
}

/** 2^(bits-1) for bits 0..32 (a table: `2 **` in the decode loop showed in profiles). */
const SIGNED_HALF = Float64Array.from({ length: 33 }, (_, bits) => (bits === 0 ? 0 : 2 ** (bits - 1)));

/** Residuals of the scaled values for a mode (index 0 unused: the first value is written whole). */
let scratch = { scaled: new Float64Array(512), candidate: new Float64Array(512), best: new Float64Array(512), needing: new Float64Array(MAX_WIDTH + 2) };

function residuals(scaled: Float64Array, count: number, mode: number, out: Float64Array): boolean {
  for (let i = 1; i < count; i++) {
    const delta = scaled[i]! - scaled[i - 1]!;
    let residual: number;
    if (mode === 0) residual = i === 1 ? delta : delta - (scaled[i - 1]! - scaled[i - 2]!);
    else if (mode === 1) residual = i === 1 ? delta : delta - (scaled[1]! - scaled[0]!);
    else residual = scaled[i]! - scaled[0]!;
    if (!Number.isSafeInteger(residual)) return false;
    out[i] = residual;
  }
  return true;
}

function bucketWidths(k: number): [number, number, number] {
  return [k, Math.min(MAX_WIDTH, k + 6), Math.min(MAX_WIDTH, k + 14)];
}

function fits(value: number, bits: number): boolean {
  return value >= -(2 ** (bits - 1)) + 1 && value <= 2 ** (bits - 1);
}

/** The fewest bits holding a non-zero residual in the buckets' signed range (see fits). */
function widthNeeded(residual: number): number {
  const magnitude = residual > 0 ? residual - 1 : -residual;
  if (magnitude < 2 ** 31) return 33 - Math.clz32(magnitude);
  let bits = 31;
  // Bounded: a safe integer has at most 53 bits.
  while (2 ** bits <= magnitude) bits++;
  return bits + 1;
}

function writeResidual(writer: BitWriter, residual: number, widths: readonly number[]): void {
  if (residual === 0) writer.writeBit(0);
  else if (fits(residual, widths[0]!)) {
    writer.write(0b10, 2);
    writeLow(writer, residual, widths[0]!);
  } else if (fits(residual, widths[1]!)) {
    writer.write(0b110, 3);
    writeLow(writer, residual, widths[1]!);
  } else if (fits(residual, widths[2]!)) {
    writer.write(0b1110, 4);
    writeLow(writer, residual, widths[2]!);
  } else {
    writer.write(0b1111, 4);
    writeWord64(writer, residual);
  }
}

/** The low `bits` (≤ 52) bits of a (possibly negative) integer, two's complement. */
function writeLow(writer: BitWriter, value: number, bits: number): void {
  const unsigned = value < 0 ? value + 2 ** bits : value;
  if (bits <= 32) {
    writer.write(unsigned >>> 0, bits);
    return;
  }
  const hi = Math.floor(unsigned / TWO_POW_32);
  writer.write(hi, bits - 32);
  writer.write((unsigned - hi * TWO_POW_32) >>> 0, 32);
}

/** Reads what writeLow wrote for 32 < bits ≤ 52, at bit `pos`. */
function signedWide(bytes: Uint8Array, pos: number, bits: number): number {
  const raw = (bitsAt(bytes, pos) >>> (64 - bits)) * TWO_POW_32 + (bitsAt(bytes, pos + bits - 32) >>> 0);
  return raw > 2 ** (bits - 1) ? raw - 2 ** bits : raw;
}

/** Encodes ascending samples (no stale marker, all finite) with exponent e; undefined if unsafe. */
export function encodeDecimalChunk(timestampsMs: Float64Array, values: Float64Array, count: number, exponent: number): Uint8Array | undefined {
  const scale = 10 ** exponent;
  // Scratch arrays reused across calls (chunks are sealed one at a time).
  if (scratch.scaled.length < count) scratch = { scaled: new Float64Array(count), candidate: new Float64Array(count), best: new Float64Array(count), needing: scratch.needing };
  const { scaled, candidate, best } = scratch;
  for (let i = 0; i < count; i++) scaled[i] = Math.round(values[i]! * scale);
  // The cheapest mode and k, by counting bits: per mode, how many residuals need each width, then
  // the cost of each k from those counts (O(n + k·w) rather than O(n·k)).
  const needing = scratch.needing;
  let bestMode = -1;
  let bestK = 0;
  let bestBits = Infinity;
  for (let mode = 0; mode < MODES; mode++) {
    if (!residuals(scaled, count, mode, candidate)) continue;
    needing.fill(0);
    let zeros = 0;
    for (let i = 1; i < count; i++) {
      const residual = candidate[i]!;
      if (residual === 0) zeros++;
      else needing[Math.min(MAX_WIDTH + 1, widthNeeded(residual))]!++;
    }
    let improved = false;
    for (let k = 1; k <= MAX_K; k++) {
      const widths = bucketWidths(k);
      let bits = zeros;
      for (let width = 1; width <= MAX_WIDTH + 1; width++) {
        const n = needing[width]!;
        if (n === 0) continue;
        bits += n * (width <= widths[0] ? 2 + widths[0] : width <= widths[1] ? 3 + widths[1] : width <= widths[2] ? 4 + widths[2] : 4 + 64);
      }
      if (bits < bestBits) {
        bestBits = bits;
        bestMode = mode;
        bestK = k;
        improved = true;
      }
    }
    if (improved) best.set(candidate);
  }
  if (bestMode < 0) return undefined;
  const widths = bucketWidths(bestK);
  const writer = new BitWriter(16 + count);
  let previousT = 0;
  let previousDeltaT = 0;
  for (let i = 0; i < count; i++) {
    const t = timestampsMs[i]!;
    if (i === 0) {
      writeWord64(writer, t);
      writeWord64(writer, scaled[0]!);
    } else {
      const deltaT = t - previousT;
      writeTimestampDelta(writer, deltaT - previousDeltaT);
      previousDeltaT = deltaT;
      writeResidual(writer, best[i]!, widths);
    }
    previousT = t;
  }
  // From Node's shared buffer pool, as ChunkEncoder.bytes() does.
  const out = Buffer.allocUnsafe(4 + writer.byteLength());
  out[0] = ((count | DECIMAL_CHUNK_FLAG | ADAPTIVE_CHUNK_FLAG) >>> 8) & 0xff;
  out[1] = count & 0xff;
  out[2] = exponent;
  out[3] = (bestMode << 5) | bestK;
  writer.copyInto(out, 4);
  return out;
}

/** Decodes a decimal chunk (count already read from its header) into the arrays; see chunk.ts. */
export function decodeDecimalChunkInto(bytes: Uint8Array, count: number, timestampsMs: Float64Array, values: Float64Array, stale: Uint8Array, at: number, minTimeMs: number, maxTimeMs: number): number {
  if (bytes.length < 3) throw new RangeError('decimal chunk without its exponent byte');
  const exponent = bytes[2]!;
  if (exponent > MAX_EXPONENT) throw new RangeError(`decimal chunk exponent ${exponent} out of range`);
  const adaptive = (bytes[0]! & (ADAPTIVE_CHUNK_FLAG >>> 8)) !== 0;
  if (adaptive && bytes.length < 4) throw new RangeError('adaptive decimal chunk without its mode byte');
  const mode = adaptive ? bytes[3]! >>> 5 : 0;
  const k = adaptive ? bytes[3]! & 31 : 7;
  if (mode >= MODES || k < 1 || k > MAX_K) throw new RangeError(`decimal chunk mode ${mode}/${k} out of range`);
  const widths = adaptive ? bucketWidths(k) : [7, 14, 21];
  const scale = 10 ** exponent;
  const limit = bytes.length * 8;
  // The bit position is a local and fields are read through bitsAt's 32-bit window, as in chunk.ts'
  // XOR decoder; the end of the bytes is checked once a sample (reads past it see zeros until then).
  let pos = (adaptive ? 4 : 3) * 8;
  let t = 0;
  let deltaT = 0;
  let v = 0;
  let first = 0;
  let firstDelta = 0;
  let deltaV = 0;
  for (let i = 0; i < count; i++) {
    if (i === 0) {
      t = bitsAt(bytes, pos) * TWO_POW_32 + (bitsAt(bytes, pos + 32) >>> 0);
      v = bitsAt(bytes, pos + 64) * TWO_POW_32 + (bitsAt(bytes, pos + 96) >>> 0);
      pos += 128;
      first = v;
    } else {
      // Each prefix code with its payload (up to 4 + 20 bits) sits in one 32-bit window.
      const window = bitsAt(bytes, pos);
      let dod: number;
      let used: number;
      if ((window & 0x80000000) === 0) {
        dod = 0;
        used = 1;
      } else if ((window & 0x40000000) === 0) {
        const raw = (window >>> 23) & 0x7f;
        dod = raw > 0x40 ? raw - 0x80 : raw;
        used = 9;
      } else if ((window & 0x20000000) === 0) {
        const raw = (window >>> 15) & 0x3fff;
        dod = raw > 0x2000 ? raw - 0x4000 : raw;
        used = 17;
      } else if ((window & 0x10000000) === 0) {
        const raw = (window >>> 8) & 0xfffff;
        dod = raw > 0x80000 ? raw - 0x100000 : raw;
        used = 24;
      } else {
        dod = bitsAt(bytes, pos + 4) * TWO_POW_32 + (bitsAt(bytes, pos + 36) >>> 0);
        used = 68;
      }
      pos += used;
      deltaT += dod;
      t += deltaT;
      // The value's code from what the timestamp's code left of the window (usually all of it fits),
      // else from a fresh window: `valid` bits of `control` are stream bits.
      const reuse = used <= 16;
      const control = reuse ? window << used : bitsAt(bytes, pos);
      const valid = reuse ? 32 - used : 32;
      let residual = 0;
      let width = 0;
      let prefix: number;
      if ((control & 0x80000000) === 0) prefix = 1;
      else if ((control & 0x40000000) === 0) {
        width = widths[0]!;
        prefix = 2;
      } else if ((control & 0x20000000) === 0) {
        width = widths[1]!;
        prefix = 3;
      } else if ((control & 0x10000000) === 0) {
        width = widths[2]!;
        prefix = 4;
      } else {
        residual = bitsAt(bytes, pos + 4) * TWO_POW_32 + (bitsAt(bytes, pos + 36) >>> 0);
        prefix = 68;
      }
      if (width > 0) {
        if (prefix + width <= valid) residual = signed((control << prefix) >>> (32 - width), width);
        else residual = width <= 32 ? signed(bitsAt(bytes, pos + prefix) >>> (32 - width), width) : signedWide(bytes, pos + prefix, width);
      }
      pos += prefix + width;
      if (mode === 2) v = first + residual;
      else {
        if (i === 1) firstDelta = residual;
        deltaV = i === 1 ? residual : mode === 0 ? deltaV + residual : firstDelta + residual;
        v += deltaV;
      }
    }
    if (pos > limit) throw new RangeError(`truncated at sample ${i} of ${count} (bit ${pos} of ${limit})`);
    if (t < minTimeMs) continue;
    if (t > maxTimeMs) break;
    timestampsMs[at] = t;
    values[at] = v / scale;
    stale[at] = 0;
    at++;
  }
  return at;
}
