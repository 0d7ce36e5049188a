// What else the lines column could do with one stream per block (issue 9 asks for 10% of raw stored):
// measures, on one rank's blocks of the synthetic training log, the ideas that keep a one-rank read
// at one block, each with its encode and decode speed beside the store's own level-1 blocks.
//   node bench/store-ideas.ts [--size-mb 24] [--block-mb 2] [--no-level19]
// - zstd settings: plain levels, a tuned lazy2, level 19 on 2 MB and 8 MB blocks (what a compaction
//   off the hot path could afford at most);
// - a raw-content dictionary per stream (its first 64 KB, stored once) for every block of the stream;
// - lines grouped by template inside a block (numbers masked), as a reordering would store them;
// - numbers apart from text: digit runs in a column of their own, the text with a marker in their
//   place in another, each zstd'd; with the JS split and merge speeds, since a read must merge them
//   back before `Buffer.indexOf` can scan lines.
// The ceiling for one-stream blocks is the level-19 line (its floor of bytes), next to which the
// timestamp column (≈1.3–1.4% of raw: µs jitter) and the part index (≈0.5%) are added by the store.
//
// Measured (24 MB, 2 MB blocks, % of line bytes; speeds per CPU-second on the shared 2-core machine):
// store level 1 12.33% (568 MB/s encode, 963 MB/s decode); level 3 15.32%, 6 13.77%, 9 12.46% (52
// MB/s); lazy2 11.54% (101 MB/s); level 19 9.88% (1 MB/s), on 8 MB blocks 9.78%. A 64 KB stream
// dictionary 12.60% (no gain: level 1's 2^11 hash table forgets it after a few KB), lines grouped by
// template 12.08%. Numbers apart: text 0.11% + numbers 10.92% = 11.03% at level 1 (9.30% with the
// numbers at level 19), but the JS split runs at 183 MB/s and the merge a read needs at 390 MB/s,
// 2.5× zstd's decode. The digits are the entropy (loss, grad norm, memory, µs-stamped times), and
// one rank's blocks cannot share them with the other ranks' blocks: even level 19 leaves
// 9.9 + 1.3 + 0.5 ≈ 11.7% of raw stored, above issue 9's 10%, which only a layout that shares text
// across ranks reaches (bench/store-codec.ts --layouts), at the cost of one-rank reads.

import { constants as zlibConstants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { generateTrainingLog, syntheticFileName } from './synthetic-log.ts';

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '24' },
    'block-mb': { type: 'string', default: '2' },
    'no-level19': { type: 'boolean', default: false },
  },
});
const targetBytes = Number(values['size-mb']) * 1_000_000;
const blockBytes = Number(values['block-mb']) * 1024 * 1024;
const DICTIONARY_BYTES = 64 * 1024;
/** Stands for a digit run in the text column; the training log has no such byte. */
const NUMBER_MARKER = 0x01;
/** Ends each digit run in the numbers column. */
const NUMBER_END = 0x0a;

const linesByStream = new Map<string, string[]>();
let generatedBytes = 0;
for (const entry of generateTrainingLog({ seed: 42 })) {
  const key = syntheticFileName(entry);
  let lines = linesByStream.get(key);
  if (lines === undefined) linesByStream.set(key, (lines = []));
  lines.push(entry.line);
  generatedBytes += entry.line.length;
  if (generatedBytes >= targetBytes) break;
}

/** A stream's lines back to back (as the store's lines column holds them), cut every `size` bytes. */
function streamBlocks(lines: string[], size: number): string[][] {
  const blocks: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const line of lines) {
    current.push(line);
    bytes += line.length;
    if (bytes >= size) {
      blocks.push(current);
      current = [];
      bytes = 0;
    }
  }
  if (current.length > 0) blocks.push(current);
  return blocks;
}

const streams = [...linesByStream.values()].map((lines) => streamBlocks(lines, blockBytes));
const blocks = streams.flat().map((lines) => Buffer.from(lines.join('')));
const rawBytes = blocks.reduce((sum, block) => sum + block.length, 0);
const percent = (bytes: number): string => `${((100 * bytes) / rawBytes).toFixed(2).padStart(6)}%`;
const speed = (seconds: number): string => `${(rawBytes / seconds / 1e6).toFixed(0).padStart(5)} MB/s`;

/** CPU seconds of one run of `fn`: the least over a few runs (a loaded machine and GC add, never take). */
function cpuSeconds(fn: () => void, minSeconds = 0.3): number {
  let best = Number.POSITIVE_INFINITY;
  let total = 0;
  for (let runs = 0; runs < 20 && (runs < 3 || total < minSeconds); runs++) {
    const start = process.cpuUsage();
    fn();
    const usage = process.cpuUsage(start);
    const used = (usage.user + usage.system) / 1e6;
    total += used;
    best = Math.min(best, used);
  }
  return best;
}

const c = zlibConstants;
const STORE_PARAMS = { [c.ZSTD_c_compressionLevel]: 1, [c.ZSTD_c_hashLog]: 11 };
const level = (n: number, extra: Record<number, number> = {}): Record<number, number> => ({ [c.ZSTD_c_compressionLevel]: n, ...extra });

function report(label: string, inputs: Buffer[], params: Record<number, number>, extraBytes = 0, dictionaries?: Buffer[]): void {
  let out: Buffer[] = [];
  const options = (i: number): { params: Record<number, number>; dictionary?: Buffer } => (dictionaries === undefined ? { params } : { params, dictionary: dictionaries[i]! });
  const encodeS = cpuSeconds(() => (out = inputs.map((input, i) => zstdCompressSync(input, options(i)))));
  const decodeS = cpuSeconds(() => {
    for (let i = 0; i < out.length; i++) {
      const size = inputs[i]!.length;
      zstdDecompressSync(out[i]!, { ...(dictionaries === undefined ? {} : { dictionary: dictionaries[i]! }), chunkSize: size + 1, maxOutputLength: Math.max(1, size) });
    }
  });
  const stored = out.reduce((sum, block) => sum + block.length, 0) + extraBytes;
  console.log(`${label.padEnd(58)} ${percent(stored)} of raw  encode ${speed(encodeS)}  decode ${speed(decodeS)}`);
}

console.log(`${(rawBytes / 1e6).toFixed(1)} MB of line bytes, ${linesByStream.size} streams, ${blocks.length} blocks of ${values['block-mb']} MB`);
console.log('zstd settings, one stream per block:');
report('store: level 1, hashLog 11', blocks, STORE_PARAMS);
for (const n of [3, 6, 9]) report(`level ${n}`, blocks, level(n));
report('lazy2, hash/chain 2^12, search 2^3, minMatch 6', blocks, { [c.ZSTD_c_strategy]: 5, [c.ZSTD_c_windowLog]: 21, [c.ZSTD_c_hashLog]: 12, [c.ZSTD_c_chainLog]: 12, [c.ZSTD_c_searchLog]: 3, [c.ZSTD_c_minMatch]: 6 });
if (!values['no-level19']) {
  report('level 19', blocks, level(19));
  const bigBlocks = [...linesByStream.values()].flatMap((lines) => streamBlocks(lines, 4 * blockBytes)).map((lines) => Buffer.from(lines.join('')));
  report(`level 19, ${4 * Number(values['block-mb'])} MB blocks, window 2^23`, bigBlocks, level(19, { [c.ZSTD_c_windowLog]: 23 }));
}

// A dictionary per stream: its first 64 KB, stored once (zstd'd) beside the stream's blocks.
const dictionaries: Buffer[] = [];
let dictionaryBytes = 0;
for (const stream of streams) {
  const dictionary = Buffer.from(stream[0]!.join('')).subarray(0, DICTIONARY_BYTES);
  dictionaryBytes += zstdCompressSync(dictionary, { params: STORE_PARAMS }).length;
  for (let i = 0; i < stream.length; i++) dictionaries.push(dictionary);
}
report('store level, first 64 KB of the stream as dictionary', blocks, STORE_PARAMS, dictionaryBytes, dictionaries);

// Lines grouped by template (digit runs masked, first 60 characters), time order kept within a group.
const grouped = streams.flat().map((lines) => {
  const groups = new Map<string, string[]>();
  for (const line of lines) {
    const template = line.replace(/\d+/g, '#').slice(0, 60);
    let group = groups.get(template);
    if (group === undefined) groups.set(template, (group = []));
    group.push(line);
  }
  return Buffer.from([...groups.values()].flat().join(''));
});
report('store level, lines grouped by template', grouped, STORE_PARAMS);

/** Digit runs to a column of their own (each ended by NUMBER_END); the text keeps a marker per run. */
function splitNumbers(lines: Buffer): { text: Buffer; numbers: Buffer } {
  const text = Buffer.allocUnsafe(lines.length);
  const numbers = Buffer.allocUnsafe(lines.length * 2);
  let t = 0;
  let n = 0;
  let inRun = false;
  for (let i = 0; i < lines.length; i++) {
    const byte = lines[i]!;
    if (byte >= 0x30 && byte <= 0x39) {
      if (!inRun) text[t++] = NUMBER_MARKER;
      numbers[n++] = byte;
      inRun = true;
    } else {
      if (inRun) numbers[n++] = NUMBER_END;
      text[t++] = byte;
      inRun = false;
    }
  }
  if (inRun) numbers[n++] = NUMBER_END;
  return { text: text.subarray(0, t), numbers: numbers.subarray(0, n) };
}

function mergeNumbers(text: Buffer, numbers: Buffer, out: Buffer): number {
  let o = 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i]!;
    if (byte !== NUMBER_MARKER) {
      out[o++] = byte;
      continue;
    }
    for (let digit = numbers[n++]!; digit !== NUMBER_END; digit = numbers[n++]!) out[o++] = digit;
  }
  return o;
}

let splits: Array<{ text: Buffer; numbers: Buffer }> = [];
const splitS = cpuSeconds(() => (splits = blocks.map(splitNumbers)));
const merged = Buffer.allocUnsafe(Math.max(...blocks.map((block) => block.length)));
const mergeS = cpuSeconds(() => {
  for (const { text, numbers } of splits) mergeNumbers(text, numbers, merged);
});
for (let i = 0; i < blocks.length; i++) {
  const length = mergeNumbers(splits[i]!.text, splits[i]!.numbers, merged);
  if (!merged.subarray(0, length).equals(blocks[i]!)) throw new Error(`numbers split of block ${i} does not merge back`);
}
console.log(`numbers apart from text: JS split ${speed(splitS)}, JS merge ${speed(mergeS)} (a read pays the merge on top of zstd's decode)`);
report('  text column, store level', splits.map((split) => split.text), STORE_PARAMS);
report('  numbers column, store level', splits.map((split) => split.numbers), STORE_PARAMS);
if (!values['no-level19']) report('  numbers column, level 19', splits.map((split) => split.numbers), level(19));
