// LEB128 varints over JavaScript numbers (exact up to 2^53, beyond 32-bit operators, so by
// arithmetic), a signed form by zigzag, and length-prefixed UTF-8: the block index encoding.
// The reader bounds every read by the bytes present.

export class VarintWriter {
  private buffer = Buffer.allocUnsafe(1 << 16);
  private offset = 0;

  private ensure(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }

  /** A non-negative safe integer. */
  uvarint(value: number): void {
    this.ensure(8);
    // Bounded: each pass divides by 128; a safe integer takes at most 8 bytes.
    while (value >= 0x80) {
      this.buffer[this.offset++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.offset++] = value;
  }

  /** A safe integer of either sign (zigzag: 0, -1, 1, -2 … → 0, 1, 2, 3 …). */
  svarint(value: number): void {
    this.uvarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  u32(value: number): void {
    this.ensure(4);
    this.offset = this.buffer.writeUInt32LE(value >>> 0, this.offset);
  }

  string(text: string): void {
    const bytes = Buffer.byteLength(text, 'utf8');
    this.uvarint(bytes);
    this.ensure(bytes);
    this.offset += this.buffer.write(text, this.offset, 'utf8');
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.offset);
  }
}

export class VarintReader {
  private readonly bytes: Buffer;
  offset = 0;
  private readonly fail: (message: string) => Error;

  constructor(bytes: Buffer, fail: (message: string) => Error) {
    this.bytes = bytes;
    this.fail = fail;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  uvarint(): number {
    let value = 0;
    let scale = 1;
    // Bounded: at most 8 bytes (a safe integer), each consumed.
    for (let i = 0; i < 8; i++) {
      if (this.offset >= this.bytes.length) throw this.fail(`varint truncated at byte ${this.offset}`);
      const byte = this.bytes[this.offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
    throw this.fail(`varint longer than 8 bytes at byte ${this.offset}`);
  }

  svarint(): number {
    const zigzag = this.uvarint();
    return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
  }

  u32(): number {
    if (this.offset + 4 > this.bytes.length) throw this.fail(`u32 truncated at byte ${this.offset}`);
    const value = this.bytes.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }

  string(): string {
    const length = this.uvarint();
    if (this.offset + length > this.bytes.length) throw this.fail(`string of ${length} bytes runs past the end at byte ${this.offset}`);
    const text = this.bytes.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return text;
  }

  /** Throws unless `count` items of at least `bytesEach` bytes can still be present. */
  expect(count: number, bytesEach: number, what: string): void {
    if (count * bytesEach > this.remaining) throw this.fail(`${what}: ${count} declared, but only ${this.remaining} bytes remain at byte ${this.offset}`);
  }
}
