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
const TRIGRAM_COUNT = ALPHABET_SIZE * ALPHABET_SIZE * ALPHABET_SIZE;
/**
 * The bloom gets 1 bit per 32 raw bytes (2 MB block → 64 KiB bits = 8 KiB), filled directly while
 * scanning: counting distinct tokens first (a hash set) made the filter the slowest part of a
 * head cut (~30 MB/s). Blocks with few distinct tokens leave it sparse, and the part index is zstd
 * compressed, so those cost little on disk; blocks full of distinct numbers and digests get a dense,
 * less selective bloom (more false positives, never a false negative) instead of a huge one.
 */
const BLOOM_FRACTION_OF_RAW = 1 / 256;
const MIN_BLOOM_BITS = 1024;
const MAX_BLOOM_BITS = 1 << 20;
const BLOOM_HASHES = 3;
const FLAG_HAS_FOLDING_CHARS = 1;
/** Set on blocks too small to be worth a filter: they are always read. */
const FLAG_UNFILTERED = 2;
/**
 * Blocks with less line text than this get no filter. A filter is at least 5,832 + 128 bytes and
 * its build clears and packs a 46,656-byte table: with 100,000 one-line streams, filters were most
 * of a cut's time and of its part index, for blocks that cost less to read than their filter.
 */
export const MIN_FILTERED_BLOCK_BYTES = 1024;

/** The filter of a block too small to filter: mayContain always says yes. */
export function unfilteredTokenFilter(): TokenFilter {
  return { flags: FLAG_UNFILTERED, bloomHashes: 0, trigrams: new Uint8Array(0), bloom: new Uint8Array(0) };
}
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** byte → 0..35 for [0-9a-zA-Z] (case-folded), -1 otherwise. */
const CHAR_CLASS = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) CHAR_CLASS[48 + c] = c;
for (let c = 0; c < 26; c++) {
  CHAR_CLASS[97 + c] = 10 + c;
  CHAR_CLASS[65 + c] = 10 + c;
}

export interface TokenFilter {
  flags: number;
  /** Hash functions used by the bloom (stored with the filter so the count can change later). */
  bloomHashes: number;
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
  // One byte per trigram while scanning (a plain store, no read-modify-write), packed to bits after.
  const seen = new Uint8Array(TRIGRAM_COUNT);
  let bloomBits = MIN_BLOOM_BITS;
  while (bloomBits < lines.length * 8 * BLOOM_FRACTION_OF_RAW && bloomBits < MAX_BLOOM_BITS) bloomBits *= 2;
  const bloom = new Uint8Array(bloomBits / 8);
  const mask = bloomBits - 1;
  let flags = 0;
  let lineStart = 0;
  for (let lineIndex = 0; lineIndex < lineEnds.length; lineIndex++) {
    const lineEnd = lineEnds[lineIndex]!;
    // pair = code of the previous two alphanumerics (previous2 * 36 + previous1), or -1.
    let previous1 = -1;
    let pair = -1;
    let tokenHash = FNV_OFFSET;
    for (let i = lineStart; i < lineEnd; i++) {
      const byte = lines[i]!;
      const code = CHAR_CLASS[byte]!;
      if (code >= 0) {
        if (pair >= 0) seen[pair * ALPHABET_SIZE + code] = 1;
        pair = previous1 >= 0 ? previous1 * ALPHABET_SIZE + code : -1;
        previous1 = code;
        tokenHash = Math.imul(tokenHash ^ code, FNV_PRIME);
      } else {
        if (previous1 >= 0) {
          addToBloom(bloom, mask, tokenKey(tokenHash));
          tokenHash = FNV_OFFSET;
          previous1 = -1;
          pair = -1;
        }
        if (byte >= 0xc5) {
          if (byte === 0xc5 && lines[i + 1] === 0xbf) flags |= FLAG_HAS_FOLDING_CHARS;
          else if (byte === 0xe2 && lines[i + 1] === 0x84 && lines[i + 2] === 0xaa) flags |= FLAG_HAS_FOLDING_CHARS;
        }
      }
    }
    if (previous1 >= 0) addToBloom(bloom, mask, tokenKey(tokenHash));
    lineStart = lineEnd;
  }
  const trigrams = new Uint8Array(TRIGRAM_BITMAP_BYTES);
  for (let byteIndex = 0; byteIndex < TRIGRAM_BITMAP_BYTES; byteIndex++) {
    const base = byteIndex * 8;
    trigrams[byteIndex] =
      seen[base]! | (seen[base + 1]! << 1) | (seen[base + 2]! << 2) | (seen[base + 3]! << 3) | (seen[base + 4]! << 4) | (seen[base + 5]! << 5) | (seen[base + 6]! << 6) | (seen[base + 7]! << 7);
  }
  return { flags, bloomHashes: BLOOM_HASHES, trigrams, bloom };
}

function addToBloom(bloom: Uint8Array, mask: number, hash: number): void {
  const second = mixHash(hash) | 1;
  for (let k = 0; k < BLOOM_HASHES; k++) {
    const bit = (hash + Math.imul(k, second)) & mask;
    bloom[bit >>> 3]! |= 1 << (bit & 7);
  }
}

/** The same key the builder stores: FNV-1a over case-folded codes, with 0 mapped to 1. */
function tokenKey(hash: number): number {
  const key = hash === 0 ? 1 : hash | 0;
  return key >>> 0;
}

/** False only when no line of the block can contain `literal` (as a substring). */
export function mayContain(filter: TokenFilter, literal: Buffer, caseInsensitive: boolean): boolean {
  if ((filter.flags & FLAG_UNFILTERED) !== 0) return true;
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
    let hash = FNV_OFFSET;
    while (i < literal.length && CHAR_CLASS[literal[i]!]! >= 0) {
      hash = Math.imul(hash ^ CHAR_CLASS[literal[i]!]!, FNV_PRIME);
      i++;
    }
    if (i >= literal.length || i === runStart) break; // run touches the end: may be a longer token
    hash = tokenKey(hash);
    const second = mixHash(hash) | 1;
    for (let k = 0; k < filter.bloomHashes; k++) {
      const bit = (hash + Math.imul(k, second)) & mask;
      if ((bloom[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
  }
  return true;
}

// Serialized: u8 flags | u8 bloom hash count | trigram bitmap | bloom bits.
const FILTER_HEADER_BYTES = 2;

export function encodeTokenFilter(filter: TokenFilter): Buffer {
  if ((filter.flags & FLAG_UNFILTERED) !== 0) return Buffer.from([filter.flags, 0]);
  const bytes = Buffer.allocUnsafe(FILTER_HEADER_BYTES + TRIGRAM_BITMAP_BYTES + filter.bloom.length);
  bytes[0] = filter.flags;
  bytes[1] = filter.bloomHashes;
  bytes.set(filter.trigrams, FILTER_HEADER_BYTES);
  bytes.set(filter.bloom, FILTER_HEADER_BYTES + TRIGRAM_BITMAP_BYTES);
  return bytes;
}

export function decodeTokenFilter(bytes: Uint8Array): TokenFilter {
  if (bytes.length === FILTER_HEADER_BYTES && (bytes[0]! & FLAG_UNFILTERED) !== 0) return unfilteredTokenFilter();
  if (bytes.length < FILTER_HEADER_BYTES + TRIGRAM_BITMAP_BYTES + 8) throw new Error(`token filter too short: ${bytes.length} bytes`);
  // mayContain masks bit positions with the bloom's size: any other size would read past it.
  const bloomBytes = bytes.length - FILTER_HEADER_BYTES - TRIGRAM_BITMAP_BYTES;
  if ((bloomBytes & (bloomBytes - 1)) !== 0) throw new Error(`token filter bloom of ${bloomBytes} bytes is not a power of two`);
  return {
    flags: bytes[0]!,
    bloomHashes: bytes[1]!,
    trigrams: bytes.slice(FILTER_HEADER_BYTES, FILTER_HEADER_BYTES + TRIGRAM_BITMAP_BYTES),
    bloom: bytes.slice(FILTER_HEADER_BYTES + TRIGRAM_BITMAP_BYTES),
  };
}
