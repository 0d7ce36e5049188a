// Bit-level writing and reading for Gorilla chunks. Bits are packed most-significant first into bytes,
// as in the Gorilla paper and Prometheus' XOR chunks. Values of up to 32 bits go in one call; 64-bit
// words are written as two 32-bit halves (JavaScript bit operators work on 32 bits). Decoders read
// through bitsAt's 32-bit window, keeping the bit position in a local (chunk.ts, decimal-chunk.ts):
// a prefix code with its payload is one read there, where a reader object with a loop per byte cost
// twice the time a sample.

export class BitWriter {
  private bytes: Uint8Array;
  private capacity: number;
  /** Whole bytes written. */
  private length = 0;
  /** Bits pending in `current` (0..7), filled from the most significant end. */
  private pendingBits = 0;
  private current = 0;

  constructor(initialBytes = 64) {
    this.bytes = new Uint8Array(initialBytes);
    this.capacity = initialBytes;
  }

  /** Writes the low `count` bits of `value` (count 0..32), most significant first. */
  write(value: number, count: number): void {
    // Bounded: each pass consumes at least one bit of `count`.
    while (count > 0) {
      const room = 8 - this.pendingBits;
      const take = count < room ? count : room;
      const shift = count - take;
      const bits = (value >>> shift) & ((1 << take) - 1);
      this.current |= bits << (room - take);
      this.pendingBits += take;
      count -= take;
      if (this.pendingBits === 8) {
        if (this.length === this.capacity) this.grow();
        this.bytes[this.length++] = this.current;
        this.current = 0;
        this.pendingBits = 0;
      }
    }
  }

  writeBit(bit: number): void {
    this.write(bit, 1);
  }

  private grow(): void {
    const grown = new Uint8Array(this.capacity * 2);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.capacity = grown.length;
  }

  bitLength(): number {
    return this.length * 8 + this.pendingBits;
  }

  /** Bytes needed for what was written (the last byte zero-padded). */
  byteLength(): number {
    return this.length + (this.pendingBits > 0 ? 1 : 0);
  }

  /** Copies the bytes written into `target` at `offset`. */
  copyInto(target: Uint8Array, offset: number): void {
    target.set(this.bytes.subarray(0, this.length), offset);
    if (this.pendingBits > 0) target[offset + this.length] = this.current;
  }

  /**
   * The bytes written so far, the last one zero-padded, without a copy: valid until the next write
   * (the read path decodes a head's open chunk through it).
   */
  view(): Uint8Array {
    if (this.pendingBits > 0) {
      if (this.length === this.capacity) this.grow();
      // Beyond `length`: overwritten when the byte is complete.
      this.bytes[this.length] = this.current;
    }
    return this.bytes.subarray(0, this.byteLength());
  }

  /** A copy of the bytes written, the last one zero-padded. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.byteLength());
    this.copyInto(out, 0);
    return out;
  }
}

/**
 * The 32 bits of `bytes` from bit `pos`, most significant first, as a signed 32-bit integer (int32
 * stays unboxed in the decode loop where a uint32 above 2^31 would not); zeros past the end (callers
 * check the position against the length once a sample).
 */
export function bitsAt(bytes: Uint8Array, pos: number): number {
  const index = pos >>> 3;
  const shift = pos & 7;
  if (index + 4 < bytes.length) {
    const word = (bytes[index]! << 24) | (bytes[index + 1]! << 16) | (bytes[index + 2]! << 8) | bytes[index + 3]!;
    return shift === 0 ? word : (word << shift) | (bytes[index + 4]! >>> (8 - shift));
  }
  return bitsNearEnd(bytes, index, shift);
}

function bitsNearEnd(bytes: Uint8Array, index: number, shift: number): number {
  let word = 0;
  for (let k = 0; k < 4; k++) word = (word << 8) | (index + k < bytes.length ? bytes[index + k]! : 0);
  const fifth = index + 4 < bytes.length ? bytes[index + 4]! : 0;
  return shift === 0 ? word : (word << shift) | (fifth >>> (8 - shift));
}
