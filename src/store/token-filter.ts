// Per-block token filter, consulted before a block is read so needle queries skip blocks that
// provably cannot match.
//
// The filter (format 2) is one exact bitmap: one bit per trigram of a 41-symbol alphabet. Symbols
// 1..36 are the ASCII digits and letters (case-folded); space, '.' and ':' have a symbol each; every
// other ASCII byte shares one, and every byte of a non-ASCII character another. Every run of 3
// consecutive bytes of the block's text sets its bit (41^3 = 68,921 bits, 8,616 bytes). A line that
// contains a literal contains its bytes consecutively, so every 3-byte window of the literal has its
// bit set: a literal with a window whose bit is clear cannot occur, and the filter never gives a
// false negative. Windows that span two lines only set more bits (fewer skips, never a wrong one), so
// the scan runs straight over the block's bytes with no per-line or per-token branch.
// Windows with a separator in them do what a whole-token bloom did before: `" rank "` needs a token
// that starts with "ra" ( ra) and one that ends with "nk" (nk ); "CUDA out" needs "a o".
//
// Case-insensitive literals: ASCII letters fold onto one symbol. Unicode case folding maps two
// non-ASCII characters onto ASCII letters (U+212A KELVIN SIGN → k, U+017F LONG S → s): blocks that
// contain either are flagged and never pruned for case-insensitive literals. Other non-ASCII
// characters may fold onto one of another UTF-8 length (U+023A, 2 bytes, ↔ U+2C65, 3 bytes), which
// changes how many non-ASCII bytes a match has: a case-insensitive literal's windows that hold a
// non-ASCII byte are not consulted.
//
// Why this and not a bloom of whole tokens beside 36-symbol trigrams (format 1, still read): the
// bloom needed a hash per byte and a branch at every token end, ~190 MB/s per core, 21% of a 244 MB
// ingest's server CPU through POST /flush. This scan reads the text four bytes at a time through a
// byte-pair table and marks four windows per word without a branch: ~4x faster. Selectivity on the
// bench log (bench/store-token-filter.ts, 64 MB in 2 MB blocks; blocks admitted per block that holds
// the literal, format 1 → 2): sha256 needles 1.00 → 1.00, failure needles 1.08 → 1.00, random
// substrings 1.51 → 1.41, random whole-token phrases 1.25 → 1.20. Alphabets measured the same way:
// one symbol for all separators 1.55 / 1.27 (worse than format 1), space apart 1.47 / 1.22, space,
// '.' and ':' apart (this) 1.41 / 1.20, six more punctuation symbols 1.38 / 1.19 for 2x the bits.
//
// Format 1, written before: a 36-symbol trigram bitmap (letters and digits only, 5,832 bytes) and a
// bloom filter of whole tokens (maximal letter/digit runs, FNV-1a over case-folded codes). A literal's
// runs bounded by non-alphanumeric bytes on both sides had to be whole tokens of some line.

const SYMBOLS = 41;
const TRIGRAM_COUNT = SYMBOLS * SYMBOLS * SYMBOLS;
export const TRIGRAM_BITMAP_BYTES = Math.ceil(TRIGRAM_COUNT / 8); // 8616
const LEGACY_SYMBOLS = 36;
const LEGACY_TRIGRAM_BITMAP_BYTES = (LEGACY_SYMBOLS * LEGACY_SYMBOLS * LEGACY_SYMBOLS) / 8; // 5832
const FLAG_HAS_FOLDING_CHARS = 1;
/** Set on blocks too small to be worth a filter: they are always read. */
const FLAG_UNFILTERED = 2;
/** Format 2 (41-symbol trigrams, no bloom). Filters without it are format 1. */
const FLAG_SEPARATOR_TRIGRAMS = 4;
/**
 * Format 2, sparse: `trigrams` lists the set bits as ascending 3-byte little-endian numbers instead
 * of holding the bitmap. Small blocks set few bits (a 2 KB block a few hundred), and part indexes stay
 * in memory: their filters shrink from 8.6 KB to about 1-4 KB each, below format 1's 6 KB minimum.
 */
const FLAG_SPARSE = 8;
const SPARSE_ENTRY_BYTES = 3;
/** A list at most half the bitmap's size: binary searches over more entries gain too little. */
const MAX_SPARSE_ENTRIES = Math.floor(TRIGRAM_BITMAP_BYTES / 2 / SPARSE_ENTRY_BYTES);
/**
 * Blocks with less line text than this get no filter: with 100,000 one-line streams, filters were
 * most of a cut's time and of its part index, for blocks that cost less to read than their filter.
 */
export const MIN_FILTERED_BLOCK_BYTES = 1024;
/**
 * Up to this many bytes the scan sets bits in the bitmap directly instead of marking a 164 KB table
 * (cleared before and packed after, ~80 µs a block): the direct way costs more per byte (~450 against
 * ~1,300 MB/s), nothing per block; at 64 KiB both take about the same (bench log, 2-core machine).
 */
const DIRECT_SCAN_MAX_BYTES = 64 * 1024;

/** A block's filter: built over its lines, or, below MIN_FILTERED_BLOCK_BYTES of them, none (unfilteredTokenFilter). */
export function blockTokenFilter(lines: Buffer, lineEnds: Uint32Array): TokenFilter {
  return lines.length < MIN_FILTERED_BLOCK_BYTES ? unfilteredTokenFilter() : buildTokenFilter(lines, lineEnds);
}

/** The filter of a block too small to filter: mayContain always says yes. */
export function unfilteredTokenFilter(): TokenFilter {
  return { flags: FLAG_UNFILTERED, bloomHashes: 0, trigrams: new Uint8Array(0), bloom: new Uint8Array(0) };
}

/** byte → symbol: 1..36 for [0-9a-zA-Z] (case-folded), 37 space, 38 '.', 39 ':', 40 non-ASCII, 0 other. */
const SYMBOL = new Uint8Array(256);
const NON_ASCII_SYMBOL = 40;
SYMBOL.fill(NON_ASCII_SYMBOL, 0x80);
SYMBOL[0x20] = 37;
SYMBOL[0x2e] = 38;
SYMBOL[0x3a] = 39;
for (let c = 0; c < 10; c++) SYMBOL[48 + c] = 1 + c;
for (let c = 0; c < 26; c++) {
  SYMBOL[97 + c] = 11 + c;
  SYMBOL[65 + c] = 11 + c;
}
/**
 * Two bytes read as one little-endian u16 (first byte low) → their symbols as two 6-bit fields,
 * (first << 6) | second. 128 KB, of which ASCII text touches 32 KB. (block.ts refuses big-endian CPUs.)
 */
const PAIR_SYMBOLS = new Uint16Array(65536);
for (let first = 0; first < 256; first++) for (let second = 0; second < 256; second++) PAIR_SYMBOLS[first | (second << 8)] = (SYMBOL[first]! << 6) | SYMBOL[second]!;
/** Scratch of the table scan: one byte per trigram, indexed by three 6-bit symbol fields (164 KB). */
const marked = new Uint8Array(SYMBOLS << 12);

/** byte → 0..35 for [0-9a-zA-Z] (case-folded), -1 otherwise: format 1's alphabet. */
const LEGACY_CHAR_CLASS = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) LEGACY_CHAR_CLASS[48 + c] = c;
for (let c = 0; c < 26; c++) {
  LEGACY_CHAR_CLASS[97 + c] = 10 + c;
  LEGACY_CHAR_CLASS[65 + c] = 10 + c;
}
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const KELVIN_SIGN_UTF8 = Buffer.from('\u212a', 'utf8');
const LONG_S_UTF8 = Buffer.from('\u017f', 'utf8');

export interface TokenFilter {
  flags: number;
  /** Format 1: hash functions used by the bloom. 0 in format 2. */
  bloomHashes: number;
  /** Format 2: TRIGRAM_BITMAP_BYTES over 41 symbols, or (FLAG_SPARSE) the set bits as u24 LE; format 1: 5,832 bytes over 36. */
  trigrams: Uint8Array;
  /** Format 1: bit count is bloom.length * 8 (a power of two). Empty in format 2. */
  bloom: Uint8Array;
}

/** Builds the filter over a block's concatenated line bytes (up to the last line's end). */
export function buildTokenFilter(lines: Buffer, lineEnds: Uint32Array): TokenFilter {
  const text = lineEnds.length === 0 ? lines.subarray(0, 0) : lines.subarray(0, lineEnds[lineEnds.length - 1]!);
  let trigrams = text.length <= DIRECT_SCAN_MAX_BYTES ? scanDirect(text) : scanMarked(text);
  // Both characters are absent from nearly every block; a native search finds that at memchr speed.
  const folding = text.indexOf(KELVIN_SIGN_UTF8) >= 0 || text.indexOf(LONG_S_UTF8) >= 0;
  let flags = FLAG_SEPARATOR_TRIGRAMS | (folding ? FLAG_HAS_FOLDING_CHARS : 0);
  // A block sets at most one bit per byte: only small ones can have a short enough list.
  if (text.length <= DIRECT_SCAN_MAX_BYTES) {
    const sparse = sparseList(trigrams);
    if (sparse !== undefined) {
      trigrams = sparse;
      flags |= FLAG_SPARSE;
    }
  }
  return { flags, bloomHashes: 0, trigrams, bloom: new Uint8Array(0) };
}

/** The bitmap's set bits as ascending u24 LE numbers, or undefined when there are too many. */
function sparseList(bitmap: Uint8Array): Uint8Array | undefined {
  let count = 0;
  for (let i = 0; i < bitmap.length && count <= MAX_SPARSE_ENTRIES; i++) {
    for (let byte = bitmap[i]!; byte !== 0; byte &= byte - 1) count++;
  }
  if (count > MAX_SPARSE_ENTRIES) return undefined;
  const list = new Uint8Array(count * SPARSE_ENTRY_BYTES);
  let at = 0;
  for (let i = 0; i < bitmap.length; i++) {
    const byte = bitmap[i]!;
    if (byte === 0) continue;
    for (let b = 0; b < 8; b++) {
      if ((byte & (1 << b)) === 0) continue;
      const bit = i * 8 + b;
      list[at] = bit & 0xff;
      list[at + 1] = (bit >>> 8) & 0xff;
      list[at + 2] = bit >>> 16;
      at += SPARSE_ENTRY_BYTES;
    }
  }
  return list;
}

function sparseHas(list: Uint8Array, bit: number): boolean {
  let low = 0;
  let high = list.length / SPARSE_ENTRY_BYTES - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const at = middle * SPARSE_ENTRY_BYTES;
    const value = list[at]! | (list[at + 1]! << 8) | (list[at + 2]! << 16);
    if (value === bit) return true;
    if (value < bit) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

function scanDirect(text: Buffer): Uint8Array {
  const trigrams = new Uint8Array(TRIGRAM_BITMAP_BYTES);
  let previous2 = 0;
  let previous1 = 0;
  for (let i = 0; i < text.length; i++) {
    const symbol = SYMBOL[text[i]!]!;
    // Two independent multiplications: keeping the pair as one number needed a remainder per byte (2x slower).
    const bit = previous2 * (SYMBOLS * SYMBOLS) + previous1 * SYMBOLS + symbol;
    trigrams[bit >>> 3]! |= 1 << (bit & 7);
    previous2 = previous1;
    previous1 = symbol;
  }
  return trigrams;
}

/**
 * Marks one byte of `marked` per window, reading the text a 32-bit word (four windows) at a time:
 * two table loads give the four symbols, and each window is a shift of the last 24 bits of symbols.
 * The block's first two windows start with two symbol-0 bytes (more bits, never fewer).
 */
function scanMarked(text: Buffer): Uint8Array {
  marked.fill(0);
  const length = text.length;
  let fields = 0; // the last two symbols as (previous2 << 6) | previous1
  let i = 0;
  const unaligned = Math.min(length, (4 - (text.byteOffset & 3)) & 3);
  for (; i < unaligned; i++) fields = markByte(fields, text[i]!);
  const wordCount = (length - i) >>> 2;
  const words = new Uint32Array(text.buffer, text.byteOffset + i, wordCount);
  for (let w = 0; w < wordCount; w++) {
    const word = words[w]!;
    const low = PAIR_SYMBOLS[word & 0xffff]!;
    const high = PAIR_SYMBOLS[word >>> 16]!;
    const before = (fields << 12) | low;
    marked[before >>> 6] = 1;
    marked[before & 0x3ffff] = 1;
    const after = (low << 12) | high;
    marked[after >>> 6] = 1;
    marked[after & 0x3ffff] = 1;
    fields = high;
  }
  for (i += wordCount * 4; i < length; i++) fields = markByte(fields, text[i]!);
  const trigrams = new Uint8Array(TRIGRAM_BITMAP_BYTES);
  let bit = 0;
  for (let first = 0; first < SYMBOLS; first++) {
    for (let second = 0; second < SYMBOLS; second++) {
      const row = (first << 12) | (second << 6);
      for (let third = 0; third < SYMBOLS; third++, bit++) if (marked[row | third] !== 0) trigrams[bit >>> 3]! |= 1 << (bit & 7);
    }
  }
  return trigrams;
}

function markByte(fields: number, byte: number): number {
  const window = (fields << 6) | SYMBOL[byte]!;
  marked[window] = 1;
  return window & 0xfff;
}

/** False only when no line of the block can contain `literal` (as a substring). */
export function mayContain(filter: TokenFilter, literal: Buffer, caseInsensitive: boolean): boolean {
  if ((filter.flags & FLAG_UNFILTERED) !== 0) return true;
  if (caseInsensitive && (filter.flags & FLAG_HAS_FOLDING_CHARS) !== 0) return true;
  if ((filter.flags & FLAG_SEPARATOR_TRIGRAMS) === 0) {
    // Format 1 reads non-ASCII bytes as token bounds: a literal's KELVIN SIGN or LONG S, which match
    // an ASCII letter case-insensitively, would bound a "whole token" that is only part of one.
    if (caseInsensitive && (literal.includes(KELVIN_SIGN_UTF8) || literal.includes(LONG_S_UTF8))) return true;
    return legacyMayContain(filter, literal);
  }
  const trigrams = filter.trigrams;
  const sparse = (filter.flags & FLAG_SPARSE) !== 0;
  for (let i = 2; i < literal.length; i++) {
    const first = literal[i - 2]!;
    const second = literal[i - 1]!;
    const third = literal[i]!;
    if (caseInsensitive && (first | second | third) >= 0x80) continue;
    const bit = (SYMBOL[first]! * SYMBOLS + SYMBOL[second]!) * SYMBOLS + SYMBOL[third]!;
    if (sparse ? !sparseHas(trigrams, bit) : (trigrams[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}

/** Format 1: letter/digit trigrams, then the bloom for the literal's bounded whole tokens. */
function legacyMayContain(filter: TokenFilter, literal: Buffer): boolean {
  const trigrams = filter.trigrams;
  let previous1 = -1;
  let previous2 = -1;
  for (let i = 0; i < literal.length; i++) {
    const code = LEGACY_CHAR_CLASS[literal[i]!]!;
    if (code >= 0) {
      if (previous1 >= 0 && previous2 >= 0) {
        const bit = (previous2 * LEGACY_SYMBOLS + previous1) * LEGACY_SYMBOLS + code;
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
  while (i < literal.length && LEGACY_CHAR_CLASS[literal[i]!]! >= 0) i++;
  while (i < literal.length) {
    // i is at a non-alphanumeric byte; find the next run.
    while (i < literal.length && LEGACY_CHAR_CLASS[literal[i]!]! < 0) i++;
    const runStart = i;
    let hash = FNV_OFFSET;
    while (i < literal.length && LEGACY_CHAR_CLASS[literal[i]!]! >= 0) {
      hash = Math.imul(hash ^ LEGACY_CHAR_CLASS[literal[i]!]!, FNV_PRIME);
      i++;
    }
    if (i >= literal.length || i === runStart) break; // run touches the end: may be a longer token
    // The key the format 1 builder stored: the FNV-1a hash with 0 mapped to 1.
    const key = (hash === 0 ? 1 : hash) >>> 0;
    const second = mixHash(key) | 1;
    for (let k = 0; k < filter.bloomHashes; k++) {
      const bit = (key + Math.imul(k, second)) & mask;
      if ((bloom[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
  }
  return true;
}

function mixHash(hash: number): number {
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

// Serialized: u8 flags | u8 bloom hash count (0 in format 2) | trigram bitmap or list | bloom bits (format 1).
const FILTER_HEADER_BYTES = 2;

export function encodeTokenFilter(filter: TokenFilter): Buffer {
  if ((filter.flags & FLAG_UNFILTERED) !== 0) return Buffer.from([filter.flags, 0]);
  const bytes = Buffer.allocUnsafe(FILTER_HEADER_BYTES + filter.trigrams.length + filter.bloom.length);
  bytes[0] = filter.flags;
  bytes[1] = filter.bloomHashes;
  bytes.set(filter.trigrams, FILTER_HEADER_BYTES);
  bytes.set(filter.bloom, FILTER_HEADER_BYTES + filter.trigrams.length);
  return bytes;
}

export function decodeTokenFilter(bytes: Uint8Array): TokenFilter {
  if (bytes.length === FILTER_HEADER_BYTES && (bytes[0]! & FLAG_UNFILTERED) !== 0) return unfilteredTokenFilter();
  if (bytes.length >= 1 && (bytes[0]! & FLAG_SEPARATOR_TRIGRAMS) !== 0) {
    const trigrams = bytes.slice(FILTER_HEADER_BYTES);
    if ((bytes[0]! & FLAG_SPARSE) !== 0) {
      // The binary search needs ascending entries, each a bit of the bitmap.
      if (trigrams.length % SPARSE_ENTRY_BYTES !== 0) throw new Error(`sparse token filter of ${trigrams.length} bytes is not a list of ${SPARSE_ENTRY_BYTES}-byte entries`);
      let previous = -1;
      for (let at = 0; at < trigrams.length; at += SPARSE_ENTRY_BYTES) {
        const value = trigrams[at]! | (trigrams[at + 1]! << 8) | (trigrams[at + 2]! << 16);
        if (value <= previous || value >= TRIGRAM_COUNT) throw new Error(`sparse token filter entry ${at / SPARSE_ENTRY_BYTES} (${value}) is out of order or range`);
        previous = value;
      }
    } else if (bytes.length !== FILTER_HEADER_BYTES + TRIGRAM_BITMAP_BYTES) {
      throw new Error(`token filter has ${bytes.length} bytes, not ${FILTER_HEADER_BYTES + TRIGRAM_BITMAP_BYTES}`);
    }
    return { flags: bytes[0]!, bloomHashes: 0, trigrams, bloom: new Uint8Array(0) };
  }
  if (bytes.length < FILTER_HEADER_BYTES + LEGACY_TRIGRAM_BITMAP_BYTES + 8) throw new Error(`token filter too short: ${bytes.length} bytes`);
  // legacyMayContain masks bit positions with the bloom's size: any other size would read past it.
  const bloomBytes = bytes.length - FILTER_HEADER_BYTES - LEGACY_TRIGRAM_BITMAP_BYTES;
  if ((bloomBytes & (bloomBytes - 1)) !== 0) throw new Error(`token filter bloom of ${bloomBytes} bytes is not a power of two`);
  return {
    flags: bytes[0]!,
    bloomHashes: bytes[1]!,
    trigrams: bytes.slice(FILTER_HEADER_BYTES, FILTER_HEADER_BYTES + LEGACY_TRIGRAM_BITMAP_BYTES),
    bloom: bytes.slice(FILTER_HEADER_BYTES + LEGACY_TRIGRAM_BITMAP_BYTES),
  };
}
