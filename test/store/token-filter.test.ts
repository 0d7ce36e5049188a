import assert from 'node:assert/strict';
import { test } from 'node:test';
import { zstdDecompressSync } from 'node:zlib';
import { columnsFromEntries } from '../../src/store/block.ts';
import { buildTokenFilter, decodeTokenFilter, encodeTokenFilter, mayContain, TRIGRAM_BITMAP_BYTES, unfilteredTokenFilter, type TokenFilter } from '../../src/store/token-filter.ts';
import { V1_FILTER_ZSTD_BASE64, v1FilterLines } from './fixtures/token-filter-v1.ts';

function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

// A small alphabet so random literals often do occur, plus separators, non-ASCII (with a case pair
// whose UTF-8 lengths differ: U+023A is 2 bytes, its lower case U+2C65 is 3) and the two characters
// Unicode folds onto ASCII letters (KELVIN SIGN, LONG S).
const ALPHABET = ['a', 'b', 'c', 'A', 'B', 'C', 's', 'k', '1', '2', ' ', '=', '-', '_', '.', ':', '\n', 'é', 'É', 'ß', '日', '\u023a', '\u2c65'];
const RARE = ['\u212a', '\u017f'];

function randomText(random: () => number, length: number, allowRare: boolean): string {
  let text = '';
  for (let i = 0; i < length; i++) {
    text += allowRare && random() < 0.01 ? RARE[Math.floor(random() * RARE.length)]! : ALPHABET[Math.floor(random() * ALPHABET.length)]!;
  }
  return text;
}

function filterFor(lines: string[]): TokenFilter {
  const columns = columnsFromEntries(lines.map((line, i) => ({ timestampNs: BigInt(i), line })));
  // Round-trip through the serialized form, as the part index stores it.
  return decodeTokenFilter(encodeTokenFilter(buildTokenFilter(columns.lines, columns.lineEnds)));
}

function containsIgnoringCase(lines: string[], literal: string): boolean {
  const pattern = new RegExp(literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'iu');
  return lines.some((line) => pattern.test(line));
}

test('token filter never gives a false negative (randomized, case-sensitive and insensitive)', () => {
  const random = seededRandom(42);
  let prunedChecks = 0;
  for (let round = 0; round < 60; round++) {
    const allowRare = round % 3 === 0;
    const lines = Array.from({ length: 1 + Math.floor(random() * 40) }, () => randomText(random, Math.floor(random() * 60), allowRare));
    const filter = filterFor(lines);
    for (let probe = 0; probe < 200; probe++) {
      let literal: string;
      if (probe % 2 === 0) {
        // A substring of a real line, sometimes with its case flipped.
        const line = lines[Math.floor(random() * lines.length)]!;
        const start = Math.floor(random() * (line.length + 1));
        literal = line.slice(start, start + 1 + Math.floor(random() * 12));
        if (random() < 0.5) literal = random() < 0.5 ? literal.toUpperCase() : literal.toLowerCase();
      } else {
        literal = randomText(random, 1 + Math.floor(random() * 8), allowRare);
      }
      if (literal === '') continue;
      const bytes = Buffer.from(literal, 'utf8');
      const caseSensitivePresent = lines.some((line) => line.includes(literal));
      const insensitivePresent = containsIgnoringCase(lines, literal);
      if (caseSensitivePresent) assert.ok(mayContain(filter, bytes, false), `false negative for ${JSON.stringify(literal)} in ${JSON.stringify(lines)}`);
      if (insensitivePresent) assert.ok(mayContain(filter, bytes, true), `case-insensitive false negative for ${JSON.stringify(literal)} in ${JSON.stringify(lines)}`);
      if (!mayContain(filter, bytes, true)) prunedChecks++;
    }
  }
  // The test is only meaningful if the filter also prunes.
  assert.ok(prunedChecks > 100, `filter pruned only ${prunedChecks} probes`);
});

test('token filter prunes needles absent from realistic training logs', () => {
  const lines: string[] = [];
  for (let i = 0; i < 5000; i++) {
    lines.push(`2025-11-21 10:00:${String(i % 60).padStart(2, '0')} INFO [rank${i % 8}] step=${i} loss=${(2 - i / 5000).toFixed(4)} lr=3e-05 throughput=${1200 + (i % 37)} tokens/s`);
  }
  const filter = filterFor(lines);
  for (const present of ['loss=', 'rank7', 'INFO', 'tokens/s', 'LOSS', ' step=4999 ', 'throughput']) {
    assert.ok(mayContain(filter, Buffer.from(present), true), present);
  }
  for (const absent of ['Traceback', 'NCCL', 'CUDA out of memory', 'ChildFailedError', 'watchdog']) {
    assert.equal(mayContain(filter, Buffer.from(absent), false), false, `should prune ${absent}`);
    assert.equal(mayContain(filter, Buffer.from(absent.toLowerCase()), true), false, `should prune ${absent} (case-insensitive)`);
  }
  // "ss=" is a substring of "loss=" even though no token is "ss": trigram "lss" is absent, but the
  // literal's trigrams are only its own: must not be pruned.
  assert.ok(mayContain(filter, Buffer.from('ss='), false));
});

test('literals whose inner tokens never occur as whole tokens are pruned', () => {
  // "rank" occurs only inside "rank7"-style tokens, so " rank " bounded by spaces is not a token of
  // these lines; trigrams alone could not tell.
  const lines = Array.from({ length: 2000 }, (_, i) => `[rank${i % 8}] heartbeat ok status=${i % 3 === 0 ? 'idle' : 'busy'} worker-${i % 16}`);
  const filter = filterFor(lines);
  assert.equal(mayContain(filter, Buffer.from(' rank '), false), false);
  assert.ok(mayContain(filter, Buffer.from(' heartbeat ok '), false));
  assert.ok(mayContain(filter, Buffer.from('status=idle w'), true));
});

test('blocks too small to filter carry a 2-byte marker that never prunes', () => {
  const encoded = encodeTokenFilter(unfilteredTokenFilter());
  assert.equal(encoded.length, 2);
  const decoded = decodeTokenFilter(encoded);
  for (const literal of ['anything', 'NCCL watchdog', 'x']) assert.ok(mayContain(decoded, Buffer.from(literal), false) && mayContain(decoded, Buffer.from(literal), true));
});

/**
 * The filter's specification, written plainly: the set of 3-byte windows of the text, as symbols of
 * a 41-letter alphabet (digits, case-folded letters, space, '.', ':', other ASCII, non-ASCII).
 */
function referenceBitmap(text: Buffer): Uint8Array {
  const symbol = (byte: number): number => {
    const char = String.fromCharCode(byte).toLowerCase();
    if (byte >= 0x80) return 40;
    const index = '0123456789abcdefghijklmnopqrstuvwxyz .:'.indexOf(char);
    return index >= 0 ? 1 + index : 0;
  };
  const bitmap = new Uint8Array(TRIGRAM_BITMAP_BYTES);
  // The scan starts as if two symbol-0 bytes came before the block.
  const symbols = [0, 0, ...Array.from(text, symbol)];
  for (let i = 2; i < symbols.length; i++) {
    const bit = (symbols[i - 2]! * 41 + symbols[i - 1]!) * 41 + symbols[i]!;
    bitmap[bit >>> 3]! |= 1 << (bit & 7);
  }
  return bitmap;
}

/** The filter's bits as a bitmap, whichever form it has (small blocks list their set bits, 3 bytes each). */
function bitmapOf(filter: TokenFilter): Uint8Array {
  if ((filter.flags & 8) === 0) return Uint8Array.from(filter.trigrams);
  const bitmap = new Uint8Array(TRIGRAM_BITMAP_BYTES);
  for (let at = 0; at < filter.trigrams.length; at += 3) {
    const bit = filter.trigrams[at]! | (filter.trigrams[at + 1]! << 8) | (filter.trigrams[at + 2]! << 16);
    bitmap[bit >>> 3]! |= 1 << (bit & 7);
  }
  return bitmap;
}

test('the bitmap holds exactly the 3-byte windows of the text, at any size and memory alignment', () => {
  const random = seededRandom(7);
  // Sizes straddle the switch from setting bits directly to marking a table (64 KiB), and the word
  // loop's edges (a text of 1-7 bytes, a tail of 1-3 bytes).
  for (const size of [1, 2, 3, 5, 7, 1000, 65_535, 65_536, 65_537, 65_539, 200_003]) {
    for (const offset of [0, 1, 2, 3]) {
      const backing = Buffer.alloc(size + offset + 8);
      for (let i = 0; i < backing.length; i++) backing[i] = random() < 0.7 ? 32 + Math.floor(random() * 95) : Math.floor(random() * 256);
      const text = backing.subarray(offset, offset + size);
      const filter = buildTokenFilter(text, Uint32Array.from([size]));
      assert.deepEqual(bitmapOf(filter), referenceBitmap(text), `size ${size}, offset ${offset}`);
      assert.deepEqual(bitmapOf(decodeTokenFilter(encodeTokenFilter(filter))), referenceBitmap(text), `size ${size}, offset ${offset}, decoded`);
    }
  }
});

test('bytes past the last line end are not part of the block', () => {
  const text = Buffer.from('step 1 loss 2.5 NCCL timeout');
  const filter = buildTokenFilter(text, Uint32Array.from([15]));
  assert.equal(mayContain(filter, Buffer.from('NCCL'), false), false);
  assert.ok(mayContain(filter, Buffer.from('loss 2.5'), false));
});

test('separator windows prune literals whose tokens are only parts of tokens of the block', () => {
  const lines = Array.from({ length: 2000 }, (_, i) => `[rank${i % 8}]:step ${i} | loss ${(2 - i / 2000).toFixed(4)} | tokens/s 4${i % 10}000 | memory ok`);
  const filter = filterFor(lines);
  for (const [literal, expected] of [
    ['CUDA out of memory', false], // "a o" and " of " never occur
    ['rank ', false], // a digit always follows "rank"
    ['ok memory', false], // "k m" never occurs
    ['memory ok', true],
    ['| loss ', true],
    ['loss  ', false], // two separators after "loss"
    ['s 40000 |', true],
  ] as const) {
    assert.equal(mayContain(filter, Buffer.from(literal), false), expected, literal);
  }
});

test('a case-insensitive literal with a character whose case pair has another UTF-8 length is not pruned', () => {
  // U+023A (2 bytes) folds to U+2C65 (3 bytes): the block's text has one symbol-0 byte fewer.
  const filter = filterFor(Array.from({ length: 100 }, (_, i) => `value a\u023ab ${i}`));
  assert.ok(mayContain(filter, Buffer.from('a\u2c65b', 'utf8'), true));
  assert.equal(mayContain(filter, Buffer.from('a\u2c65b', 'utf8'), false), false);
});

test('filters written by format 1 (36-symbol trigrams and a whole-token bloom) still prune without false negatives', () => {
  const lines = v1FilterLines();
  const filter = decodeTokenFilter(zstdDecompressSync(Buffer.from(V1_FILTER_ZSTD_BASE64, 'base64')));
  assert.equal(filter.bloomHashes, 3);
  const random = seededRandom(11);
  for (let probe = 0; probe < 2000; probe++) {
    const line = lines[Math.floor(random() * lines.length)]!;
    const start = Math.floor(random() * line.length);
    const literal = line.slice(start, start + 1 + Math.floor(random() * 20));
    assert.ok(mayContain(filter, Buffer.from(literal), false), literal);
    assert.ok(mayContain(filter, Buffer.from(literal.toUpperCase()), true), literal);
  }
  // A trigram absent from every line, and tokens present only inside longer tokens (the bloom).
  for (const absent of ['Traceback', 'CUDA out of memory', ' rank ', ' heart ', ' work ', ' eartbeat ']) {
    assert.equal(mayContain(filter, Buffer.from(absent), false), false, absent);
    assert.equal(mayContain(filter, Buffer.from(absent.toLowerCase()), true), false, absent);
  }
  // Format 1 read a literal's non-ASCII bytes as token bounds: "-\u212abusy" bounds nothing it may prune on.
  assert.ok(mayContain(filter, Buffer.from('=\u212aidle w', 'utf8'), true));
});

test('small blocks list their set bits instead of the 8.6 KB bitmap, and prune the same', () => {
  const lines = Array.from({ length: 20 }, (_, i) => `[rank${i % 8}] step ${i} loss ${(2 - i / 20).toFixed(3)}`);
  const filter = filterFor(lines);
  const encoded = encodeTokenFilter(filter);
  assert.equal(filter.flags & 8, 8, 'a 20-line block is listed');
  assert.ok(encoded.length < 2000, `${encoded.length} bytes`);
  const text = Buffer.from(lines.join(''));
  const bitmap = referenceBitmap(text);
  const asBitmap: TokenFilter = { ...filter, flags: filter.flags & ~8, trigrams: bitmap };
  for (const literal of ['step 1', 'loss 1.9', 'rank7] step', 'NCCL', ' rank', 'step 99', 'oss 2.000', 'CUDA']) {
    const bytes = Buffer.from(literal);
    assert.equal(mayContain(filter, bytes, false), mayContain(asBitmap, bytes, false), literal);
    assert.equal(mayContain(filter, bytes, true), mayContain(asBitmap, bytes, true), literal);
  }
  assert.equal(mayContain(filter, Buffer.from('NCCL'), false), false);
  // A damaged list (entries out of order, or not whole entries) is refused when the index is read.
  const swapped = Buffer.from(encoded);
  swapped.copy(swapped, 2, 5, 8);
  assert.throws(() => decodeTokenFilter(swapped), /out of order/);
  assert.throws(() => decodeTokenFilter(encoded.subarray(0, encoded.length - 1)), /3-byte entries/);
});
