// Per-block token filter, consulted before a block is read so needle queries skip blocks that
// provably cannot match. Two structures, both over ASCII-lowercased bytes:
//  - a trigram bitmap: one bit per run of 3 consecutive ASCII letters/digits (36^3 = 46,656 bits,
//    5,832 bytes). It is exact (no false positives per trigram), so any literal of length >= 3 whose
//    trigrams are not all present cannot occur in any line.
//  - a bloom filter of whole tokens (maximal runs of ASCII letters/digits). LogQL `|= "x"` is a
//    substring match, so only the tokens inside a literal that are bounded by non-alphanumeric
//    bytes on both sides (within the literal) must appear as whole tokens in a matching line.
// Lowercasing makes both usable for case-insensitive literals. Unicode case folding maps two
// non-ASCII characters onto ASCII letters (U+212A KELVIN SIGN → k, U+017F LONG S → s); blocks that
// contain either are flagged and never pruned for case-insensitive literals.

const ALPHABET_SIZE = 36;
export const TRIGRAM_BITMAP_BYTES = (ALPHABET_SIZE * ALPHABET_SIZE * ALPHABET_SIZE) / 8; // 5832
const BLOOM_HASHES = 6;
/** ~10 bits per distinct token gives about 1% false positives with 6 hashes. */
const BLOOM_BITS_PER_TOKEN = 10;
const FLAG_HAS_FOLDING_CHARS = 1;

/** byte → 0..35 for [0-9a-zA-Z] (case-folded), -1 otherwise. */
const CHAR_CLASS = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) CHAR_CLASS[48 + c] = c;
for (let c = 0; c < 26; c++) {
  CHAR_CLASS[97 + c] = 10 + c;
  CHAR_CLASS[65 + c] = 10 + c;
}

export interface TokenFilter {
  flags: number;
  trigrams: Uint8Array;
  /** Bit count is bloom.length * 8 (a power of two). */
  bloom: Uint8Array;
}

function mixHash(hash: number): number {
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

/** Builds the filter over a block's concatenated line bytes (line boundaries are separators too). */
export function buildTokenFilter(lines: Buffer, lineEnds: Uint32Array): TokenFilter {
  const trigrams = new Uint8Array(TRIGRAM_BITMAP_BYTES);
  const tokenHashes = new Set<number>();
  let flags = 0;
  let lineStart = 0;
  for (let lineIndex = 0; lineIndex < lineEnds.length; lineIndex++) {
    const lineEnd = lineEnds[lineIndex]!;
    let previous1 = -1;
    let previous2 = -1;
    let tokenHash = 0x811c9dc5;
    let inToken = false;
    for (let i = lineStart; i < lineEnd; i++) {
      const byte = lines[i]!;
      const code = CHAR_CLASS[byte]!;
      if (code >= 0) {
        if (previous1 >= 0 && previous2 >= 0) {
          const bit = (previous2 * ALPHABET_SIZE + previous1) * ALPHABET_SIZE + code;
          trigrams[bit >>> 3]! |= 1 << (bit & 7);
        }
        previous2 = previous1;
        previous1 = code;
        tokenHash = Math.imul(tokenHash ^ code, 0x01000193);
        inToken = true;
      } else {
        previous1 = -1;
        previous2 = -1;
        if (inToken) {
          tokenHashes.add(tokenHash >>> 0);
          tokenHash = 0x811c9dc5;
          inToken = false;
        }
        if (byte === 0xc5 && lines[i + 1] === 0xbf) flags |= FLAG_HAS_FOLDING_CHARS;
        else if (byte === 0xe2 && lines[i + 1] === 0x84 && lines[i + 2] === 0xaa) flags |= FLAG_HAS_FOLDING_CHARS;
      }
    }
    if (inToken) tokenHashes.add(tokenHash >>> 0);
    lineStart = lineEnd;
  }
  let bloomBits = 64;
  while (bloomBits < tokenHashes.size * BLOOM_BITS_PER_TOKEN) bloomBits *= 2;
  const bloom = new Uint8Array(bloomBits / 8);
  const mask = bloomBits - 1;
  for (const hash of tokenHashes) {
    const second = mixHash(hash) | 1;
    for (let k = 0; k < BLOOM_HASHES; k++) {
      const bit = (hash + Math.imul(k, second)) & mask;
      bloom[bit >>> 3]! |= 1 << (bit & 7);
    }
  }
  return { flags, trigrams, bloom };
}

/** False only when no line of the block can contain `literal` (as a substring). */
export function mayContain(filter: TokenFilter, literal: Buffer, caseInsensitive: boolean): boolean {
  if (caseInsensitive && (filter.flags & FLAG_HAS_FOLDING_CHARS) !== 0) return true;
  const trigrams = filter.trigrams;
  let previous1 = -1;
  let previous2 = -1;
  for (let i = 0; i < literal.length; i++) {
    const code = CHAR_CLASS[literal[i]!]!;
    if (code >= 0) {
      if (previous1 >= 0 && previous2 >= 0) {
        const bit = (previous2 * ALPHABET_SIZE + previous1) * ALPHABET_SIZE + code;
        if ((trigrams[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
      }
      previous2 = previous1;
      previous1 = code;
    } else {
      previous1 = -1;
      previous2 = -1;
    }
  }
  // Whole tokens: runs with a non-alphanumeric byte inside the literal on both sides.
  const bloom = filter.bloom;
  const mask = bloom.length * 8 - 1;
  let i = 0;
  while (i < literal.length && CHAR_CLASS[literal[i]!]! >= 0) i++;
  while (i < literal.length) {
    // i is at a non-alphanumeric byte; find the next run.
    while (i < literal.length && CHAR_CLASS[literal[i]!]! < 0) i++;
    const runStart = i;
    let hash = 0x811c9dc5;
    while (i < literal.length && CHAR_CLASS[literal[i]!]! >= 0) {
      hash = Math.imul(hash ^ CHAR_CLASS[literal[i]!]!, 0x01000193);
      i++;
    }
    if (i >= literal.length || i === runStart) break; // run touches the end: may be a longer token
    hash >>>= 0;
    const second = mixHash(hash) | 1;
    for (let k = 0; k < BLOOM_HASHES; k++) {
      const bit = (hash + Math.imul(k, second)) & mask;
      if ((bloom[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
  }
  return true;
}

export function encodeTokenFilter(filter: TokenFilter): Buffer {
  const bytes = Buffer.allocUnsafe(1 + TRIGRAM_BITMAP_BYTES + filter.bloom.length);
  bytes[0] = filter.flags;
  bytes.set(filter.trigrams, 1);
  bytes.set(filter.bloom, 1 + TRIGRAM_BITMAP_BYTES);
  return bytes;
}

export function decodeTokenFilter(bytes: Uint8Array): TokenFilter {
  if (bytes.length < 1 + TRIGRAM_BITMAP_BYTES + 8) throw new Error(`token filter too short: ${bytes.length} bytes`);
  return {
    flags: bytes[0]!,
    trigrams: bytes.slice(1, 1 + TRIGRAM_BITMAP_BYTES),
    bloom: bytes.slice(1 + TRIGRAM_BITMAP_BYTES),
  };
}
