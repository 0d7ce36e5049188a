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
const MAX_BLOOM_HASHES = 6;
/** ~10 bits per distinct token gives about 1% false positives with 6 hashes. */
const BLOOM_BITS_PER_TOKEN = 10;
/**
 * The bloom may use at most 1/128 of the block's raw bytes. Blocks full of distinct numbers and
 * hashes (loss values, checkpoint digests) would otherwise get a bloom of incompressible bits that
 * outweighs the zstd-compressed lines (measured: 10 bits/token cost 40% of the stored size on the
 * synthetic training log). Fewer bits per token only raises false positives, never negatives.
 */
const MAX_BLOOM_FRACTION_OF_RAW = 1 / 128;
const FLAG_HAS_FOLDING_CHARS = 1;
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
  /** Hash functions used by the bloom (fewer when it had to be capped). */
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

/**
 * Distinct 32-bit token hashes, in an open-addressing table: a JS Set of numbers was the bottleneck
 * (about 10x slower on blocks full of distinct numbers such as loss values).
 */
class HashSet32 {
  table = new Int32Array(4096);
  size = 0;
  private mask = 4095;

  add(hash: number): void {
    const key = hash === 0 ? 1 : hash | 0; // 0 marks an empty slot
    let slot = key & this.mask;
    for (;;) {
      const current = this.table[slot]!;
      if (current === key) return;
      if (current === 0) break;
      slot = (slot + 1) & this.mask;
    }
    this.table[slot] = key;
    this.size++;
    if (this.size * 2 > this.table.length) this.grow();
  }

  private grow(): void {
    const old = this.table;
    this.table = new Int32Array(old.length * 2);
    this.mask = this.table.length - 1;
    for (let i = 0; i < old.length; i++) {
      const key = old[i]!;
      if (key === 0) continue;
      let slot = key & this.mask;
      while (this.table[slot] !== 0) slot = (slot + 1) & this.mask;
      this.table[slot] = key;
    }
  }
}

/** Builds the filter over a block's concatenated line bytes (line boundaries are separators too). */
export function buildTokenFilter(lines: Buffer, lineEnds: Uint32Array): TokenFilter {
  const trigrams = new Uint8Array(TRIGRAM_BITMAP_BYTES);
  const tokenHashes = new HashSet32();
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
        if (pair >= 0) {
          const bit = pair * ALPHABET_SIZE + code;
          trigrams[bit >>> 3]! |= 1 << (bit & 7);
        }
        pair = previous1 >= 0 ? previous1 * ALPHABET_SIZE + code : -1;
        previous1 = code;
        tokenHash = Math.imul(tokenHash ^ code, FNV_PRIME);
      } else {
        if (previous1 >= 0) {
          tokenHashes.add(tokenHash);
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
    if (previous1 >= 0) tokenHashes.add(tokenHash);
    lineStart = lineEnd;
  }
  const maxBloomBits = Math.max(64, lines.length * 8 * MAX_BLOOM_FRACTION_OF_RAW);
  let bloomBits = 64;
  while (bloomBits < tokenHashes.size * BLOOM_BITS_PER_TOKEN && bloomBits * 2 <= maxBloomBits) bloomBits *= 2;
  // Optimal hash count is ln2 * bits per token.
  const bloomHashes = Math.max(1, Math.min(MAX_BLOOM_HASHES, Math.round((0.69 * bloomBits) / Math.max(1, tokenHashes.size))));
  const bloom = new Uint8Array(bloomBits / 8);
  const mask = bloomBits - 1;
  const table = tokenHashes.table;
  for (let i = 0; i < table.length; i++) {
    const hash = table[i]!;
    if (hash !== 0) addToBloom(bloom, mask, bloomHashes, hash >>> 0);
  }
  return { flags, bloomHashes, trigrams, bloom };
}

function addToBloom(bloom: Uint8Array, mask: number, hashes: number, hash: number): void {
  const second = mixHash(hash) | 1;
  for (let k = 0; k < hashes; k++) {
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
  const bytes = Buffer.allocUnsafe(FILTER_HEADER_BYTES + TRIGRAM_BITMAP_BYTES + filter.bloom.length);
  bytes[0] = filter.flags;
  bytes[1] = filter.bloomHashes;
  bytes.set(filter.trigrams, FILTER_HEADER_BYTES);
  bytes.set(filter.bloom, FILTER_HEADER_BYTES + TRIGRAM_BITMAP_BYTES);
  return bytes;
}

export function decodeTokenFilter(bytes: Uint8Array): TokenFilter {
  if (bytes.length < FILTER_HEADER_BYTES + TRIGRAM_BITMAP_BYTES + 8) throw new Error(`token filter too short: ${bytes.length} bytes`);
  return {
    flags: bytes[0]!,
    bloomHashes: bytes[1]!,
    trigrams: bytes.slice(FILTER_HEADER_BYTES, FILTER_HEADER_BYTES + TRIGRAM_BITMAP_BYTES),
    bloom: bytes.slice(FILTER_HEADER_BYTES + TRIGRAM_BITMAP_BYTES),
  };
}
