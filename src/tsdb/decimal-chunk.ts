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

import { BitReader, BitWriter } from './bit-stream.ts';

export const DECIMAL_CHUNK_FLAG = 0x8000;
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

function readWord64(reader: BitReader): number {
  const hi = reader.read(32);
  const lo = reader.read(32);
  return (hi | 0) * TWO_POW_32 + lo;
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

function writeValueDelta(writer: BitWriter, delta: number): void {
  if (delta === 0) writer.writeBit(0);
  else if (delta >= -63 && delta <= 64) {
    writer.write(0b10, 2);
    writer.write(delta & 0x7f, 7);
  } else if (delta >= -8191 && delta <= 8192) {
    writer.write(0b110, 3);
    writer.write(delta & 0x3fff, 14);
  } else if (delta >= -1048575 && delta <= 1048576) {
    writer.write(0b1110, 4);
    writer.write(delta & 0x1fffff, 21);
  } else {
    writer.write(0b1111, 4);
    writeWord64(writer, delta);
  }
}

function readSigned(reader: BitReader, bits: number): number {
  const raw = reader.read(bits);
  return raw > 2 ** (bits - 1) ? raw - 2 ** bits : raw;
}

/** Encodes ascending samples (no stale marker, all finite) with exponent e; undefined if unsafe. */
export function encodeDecimalChunk(timestampsMs: Float64Array, values: Float64Array, count: number, exponent: number): Uint8Array | undefined {
  const scale = 10 ** exponent;
  const writer = new BitWriter(16 + count);
  let previousT = 0;
  let previousDeltaT = 0;
  let previousV = 0;
  let previousDeltaV = 0;
  for (let i = 0; i < count; i++) {
    const t = timestampsMs[i]!;
    const v = Math.round(values[i]! * scale);
    if (i === 0) {
      writeWord64(writer, t);
      writeWord64(writer, v);
    } else {
      const deltaT = t - previousT;
      writeTimestampDelta(writer, deltaT - previousDeltaT);
      previousDeltaT = deltaT;
      const deltaV = v - previousV;
      const dod = i === 1 ? deltaV : deltaV - previousDeltaV;
      if (!Number.isSafeInteger(dod)) return undefined;
      writeValueDelta(writer, dod);
      previousDeltaV = deltaV;
    }
    previousT = t;
    previousV = v;
  }
  // From Node's shared buffer pool, as ChunkEncoder.bytes() does.
  const out = Buffer.allocUnsafe(3 + writer.byteLength());
  out[0] = ((count | DECIMAL_CHUNK_FLAG) >>> 8) & 0xff;
  out[1] = count & 0xff;
  out[2] = exponent;
  writer.copyInto(out, 3);
  return out;
}

/** Decodes a decimal chunk (count already read from its header) into the arrays; see chunk.ts. */
export function decodeDecimalChunkInto(bytes: Uint8Array, count: number, timestampsMs: Float64Array, values: Float64Array, stale: Uint8Array, at: number, minTimeMs: number, maxTimeMs: number): number {
  if (bytes.length < 3) throw new RangeError('decimal chunk without its exponent byte');
  const exponent = bytes[2]!;
  if (exponent > MAX_EXPONENT) throw new RangeError(`decimal chunk exponent ${exponent} out of range`);
  const scale = 10 ** exponent;
  const reader = new BitReader(bytes, 3);
  let t = 0;
  let deltaT = 0;
  let v = 0;
  let deltaV = 0;
  for (let i = 0; i < count; i++) {
    if (i === 0) {
      t = readWord64(reader);
      v = readWord64(reader);
    } else {
      let dod: number;
      if (reader.readBit() === 0) dod = 0;
      else if (reader.readBit() === 0) dod = readSigned(reader, 7);
      else if (reader.readBit() === 0) dod = readSigned(reader, 14);
      else if (reader.readBit() === 0) dod = readSigned(reader, 20);
      else dod = readWord64(reader);
      deltaT += dod;
      t += deltaT;
      let valueDod: number;
      if (reader.readBit() === 0) valueDod = 0;
      else if (reader.readBit() === 0) valueDod = readSigned(reader, 7);
      else if (reader.readBit() === 0) valueDod = readSigned(reader, 14);
      else if (reader.readBit() === 0) valueDod = readSigned(reader, 21);
      else valueDod = readWord64(reader);
      deltaV = i === 1 ? valueDod : deltaV + valueDod;
      v += deltaV;
    }
    if (t < minTimeMs || t > maxTimeMs) continue;
    timestampsMs[at] = t;
    values[at] = v / scale;
    stale[at] = 0;
    at++;
  }
  return at;
}
