// Short strings straight from a block's bytes, as Buffer#toString('latin1') reads them (one char per
// byte). That call crosses into C++ each time; String.fromCharCode with the bytes as arguments stays
// in V8: over the 167,176 `grad_norm=` values of the parser profile (5 bytes each), 10 ms against
// 20 ms. Parsers call it for every value they keep.

const fromCharCode = String.fromCharCode;

/** Longest text built from char codes; longer ones go through Buffer#toString. */
const MAX_INLINE_LENGTH = 8;

export function latin1Text(b: Buffer, start: number, end: number): string {
  if (end - start > MAX_INLINE_LENGTH) return b.toString('latin1', start, end);
  switch (end - start) {
    case 0:
      return '';
    case 1:
      return fromCharCode(b[start]!);
    case 2:
      return fromCharCode(b[start]!, b[start + 1]!);
    case 3:
      return fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!);
    case 4:
      return fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!, b[start + 3]!);
    case 5:
      return fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!, b[start + 3]!, b[start + 4]!);
    case 6:
      return fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!, b[start + 3]!, b[start + 4]!, b[start + 5]!);
    case 7:
      return fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!, b[start + 3]!, b[start + 4]!, b[start + 5]!, b[start + 6]!);
    default:
      return fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!, b[start + 3]!, b[start + 4]!, b[start + 5]!, b[start + 6]!, b[start + 7]!);
  }
}
