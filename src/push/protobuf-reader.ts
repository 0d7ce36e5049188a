// Reading protobuf wire format by hand, bounded by the bytes present: the primitives shared by the
// Loki PushRequest decoder (protobuf-decode.ts) and the remote_write decoders (remote-write-decode.ts).
// Every read checks the buffer's end and every length its enclosing message's end, and a failure
// names the byte offset. Varints are read straight into numbers (the bigint path only past 2^49),
// which is what makes these decoders about twice as fast as protobufjs on our messages.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export class ProtobufReader {
  readonly buffer: Buffer;
  offset: number;
  private readonly makeError: (message: string) => Error;
  private readonly what: string;

  /** `what` names the message in errors (`malformed protobuf <what>: … at byte N`). */
  constructor(buffer: Buffer, offset: number, what: string, makeError: (message: string) => Error) {
    this.buffer = buffer;
    this.offset = offset;
    this.what = what;
    this.makeError = makeError;
  }

  fail(problem: string): never {
    throw this.makeError(`malformed protobuf ${this.what}: ${problem} at byte ${this.offset}`);
  }

  /** An unsigned varint as an exact number (one past 2^53 is an error). */
  varint(): number {
    const buffer = this.buffer;
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 7; i++) {
      if (this.offset >= buffer.length) this.fail('truncated varint');
      const byte = buffer[this.offset++]!;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
    }
    this.offset -= 7;
    const big = this.bigVarint();
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('varint out of range');
    return Number(big);
  }

  /** An unsigned varint of up to 10 bytes, exactly. */
  bigVarint(): bigint {
    const buffer = this.buffer;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= buffer.length) this.fail('truncated varint');
      const byte = buffer[this.offset++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
      shift += 7n;
    }
    this.fail('varint longer than 10 bytes');
  }

  /** An int64 varint (two's complement for negatives) as a number; exact within ±2^53. */
  int64(): number {
    const start = this.offset;
    const buffer = this.buffer;
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 7; i++) {
      if (this.offset >= buffer.length) this.fail('truncated varint');
      const byte = buffer[this.offset++]!;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
    }
    this.offset = start;
    return Number(BigInt.asIntN(64, this.bigVarint()));
  }

  /** How many bytes the varint starting here spans (without consuming it). */
  nextVarintBytes(): number {
    let i = this.offset;
    while (i < this.buffer.length && this.buffer[i]! >= 0x80) i++;
    return i - this.offset + 1;
  }

  /** End offset of a length-delimited field starting here, checked against its message's end. */
  lengthEnd(limit: number): number {
    const length = this.varint();
    const end = this.offset + length;
    if (end > limit) this.fail(`length ${length} runs past the end of its message`);
    return end;
  }

  string(limit: number): string {
    const end = this.lengthEnd(limit);
    const text = this.buffer.toString('utf8', this.offset, end);
    this.offset = end;
    return text;
  }

  double(limit: number): number {
    if (this.offset + 8 > limit) this.fail('truncated double');
    const value = this.buffer.readDoubleLE(this.offset);
    this.offset += 8;
    return value;
  }

  /** Skips a field of the given wire type, which must end within `limit`. */
  skip(wireType: number, limit: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.skipVarint();
        return;
      case WIRE_FIXED64:
        this.offset += 8;
        break;
      case WIRE_LEN:
        this.offset = this.lengthEnd(limit);
        return;
      case WIRE_FIXED32:
        this.offset += 4;
        break;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
    if (this.offset > limit) this.fail('field runs past the end of its message');
  }

  private skipVarint(): void {
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.buffer.length) this.fail('truncated varint');
      if (this.buffer[this.offset++]! < 0x80) return;
    }
    this.fail('varint longer than 10 bytes');
  }
}
