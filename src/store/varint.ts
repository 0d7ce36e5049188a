// Unsigned LEB128 varints over JS numbers (exact up to 2^53), for the block's timestamp and
// line-length columns. Arithmetic instead of bit ops so values above 2^31 survive.

export class VarintWriter {
  buffer: Buffer;
  length = 0;

  constructor(initialBytes: number) {
    this.buffer = Buffer.allocUnsafe(Math.max(16, initialBytes));
  }

  write(value: number): void {
    if (this.length + 10 > this.buffer.length) {
      const grown = Buffer.allocUnsafe(this.buffer.length * 2);
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    const buffer = this.buffer;
    let position = this.length;
    while (value >= 128) {
      buffer[position++] = (value % 128) | 128;
      value = Math.floor(value / 128);
    }
    buffer[position++] = value;
    this.length = position;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/** Signed → unsigned so small negative deltas stay short. */
export function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

export function unzigzag(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}
