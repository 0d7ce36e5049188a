// What else the lines column could do with one stream per block (issue 9 asks for 10% of raw stored):
// measures, on one rank's blocks of the synthetic training log, the ideas that keep a one-rank read
// at one block, each with its encode and decode speed beside the store's own level-1 blocks.
//   node bench/store-ideas.ts [--size-mb 24] [--block-mb 2] [--no-level19]
//                             [--only zstd,dictionary,template,numbers,reference,timestamps]
// - zstd settings: plain levels, a tuned lazy2, level 19 on 2 MB and 8 MB blocks (what a compaction
//   off the hot path could afford at most), level 1 on 8 and 32 MB blocks with and without a 2^23 window;
// - a raw-content dictionary per stream (its first 64 KB, stored once) for every block of the stream;
// - lines grouped by template inside a block (numbers masked), as a reordering would store them;
// - numbers apart from text: digit runs in a column of their own, the text with a marker in their
//   place in another, each zstd'd; with the JS split and merge speeds, since a read must merge them
//   back before `Buffer.indexOf` can scan lines;
// - reference: rank 0's block of the same time range as a zstd dictionary for the other ranks' blocks
//   (whole, with larger hash tables or long-distance matching; or per 16-256 KB chunk, each chunk's
//   dictionary its own tail plus rank 0's lines within ±200 ms), with what a read of ranks 1-7 costs;
// - timestamps: the store's byte planes against other codings of the µs timestamps, and the entropy
//   of their sub-ms digits.
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
// On the 244 MB log (2026-12-07, table in bench/README.md): rank 0's lines as a per-16 KB-chunk
// dictionary take the lines to 7.91% (≈9.3% stored) at level 1, the only one-rank-block layout under
// 10%, but each chunk is a zstd call of its own with its own dictionary (Node keeps none between
// calls): encode 234 MB/s against the store's 664, a read of ranks 1-7 230 MB/s against 1,315. A
// whole reference block needs hashLog 20 and a 2^23 window to be found (9.25%, encode 206 MB/s).
// Timestamps: the store's planes 1.92 bytes an entry; the sub-ms µs digits alone carry 1.25 bytes of
// entropy, and no other coding tried does better than the planes.

import { constants as zlibConstants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { generateTrainingLog, syntheticFileName } from './synthetic-log.ts';

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '24' },
    'block-mb': { type: 'string', default: '2' },
    'no-level19': { type: 'boolean', default: false },
    only: { type: 'string', default: 'zstd,dictionary,template,numbers,reference,timestamps' },
  },
});
const sections = new Set(values.only.split(','));
const targetBytes = Number(values['size-mb']) * 1_000_000;
const blockBytes = Number(values['block-mb']) * 1024 * 1024;
const DICTIONARY_BYTES = 64 * 1024;
/** Stands for a digit run in the text column; the training log has no such byte. */
const NUMBER_MARKER = 0x01;
/** Ends each digit run in the numbers column. */
const NUMBER_END = 0x0a;

/**
 * One stream as the store's columns hold it: line bytes back to back, each line's end, each entry's
 * time in µs (the generator's clock) and its rank (null for a launcher). Typed arrays and one buffer
 * rather than a string per line: with 250 MB of live strings V8's full collections, which zstd's
 * external buffers trigger, were most of every speed measured at 244 MB.
 */
interface StreamData {
  rank: number | null;
  lines: Buffer;
  lineEnds: Uint32Array;
  timesUs: Float64Array;
}

const streamsByKey = new Map<string, StreamData>();
{
  const building = new Map<string, { rank: number | null; parts: Buffer[]; pending: string[]; pendingChars: number; bytes: number; ends: number[]; times: number[] }>();
  const flush = (stream: { parts: Buffer[]; pending: string[]; pendingChars: number }): void => {
    stream.parts.push(Buffer.from(stream.pending.join('')));
    stream.pending = [];
    stream.pendingChars = 0;
  };
  let generatedBytes = 0;
  for (const entry of generateTrainingLog({ seed: 42 })) {
    const key = syntheticFileName(entry);
    let stream = building.get(key);
    if (stream === undefined) building.set(key, (stream = { rank: entry.rank, parts: [], pending: [], pendingChars: 0, bytes: 0, ends: [], times: [] }));
    const bytes = Buffer.byteLength(entry.line);
    stream.pending.push(entry.line);
    stream.pendingChars += entry.line.length;
    stream.ends.push((stream.bytes += bytes));
    stream.times.push(Number(entry.timestampNs / 1000n));
    if (stream.pendingChars >= 1 << 22) flush(stream);
    generatedBytes += bytes;
    if (generatedBytes >= targetBytes) break;
  }
  for (const [key, stream] of building) {
    flush(stream);
    streamsByKey.set(key, { rank: stream.rank, lines: Buffer.concat(stream.parts), lineEnds: Uint32Array.from(stream.ends), timesUs: Float64Array.from(stream.times) });
  }
}

/** Entry ranges [first, last) of a stream cut every `size` bytes, as the store cuts its blocks. */
function streamRanges(stream: StreamData, size: number): Array<[first: number, last: number]> {
  const ranges: Array<[number, number]> = [];
  let first = 0;
  const count = stream.lineEnds.length;
  while (first < count) {
    const from = first === 0 ? 0 : stream.lineEnds[first - 1]!;
    let last = first + 1;
    while (last < count && stream.lineEnds[last - 1]! - from < size) last++;
    ranges.push([first, last]);
    first = last;
  }
  return ranges;
}

const linesOf = (stream: StreamData, first: number, last: number): Buffer => stream.lines.subarray(first === 0 ? 0 : stream.lineEnds[first - 1]!, last === 0 ? 0 : stream.lineEnds[last - 1]!);
function lineStrings(stream: StreamData, first: number, last: number): string[] {
  const out: string[] = [];
  for (let i = first; i < last; i++) out.push(stream.lines.toString('utf8', i === 0 ? 0 : stream.lineEnds[i - 1]!, stream.lineEnds[i]!));
  return out;
}
const streamBuffers = (size: number): Buffer[] => [...streamsByKey.values()].flatMap((stream) => streamRanges(stream, size).map(([first, last]) => linesOf(stream, first, last)));

const blocks = streamBuffers(blockBytes);
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

console.log(`${(rawBytes / 1e6).toFixed(1)} MB of line bytes, ${streamsByKey.size} streams, ${blocks.length} blocks of ${values['block-mb']} MB`);
if (sections.has('zstd')) {
  console.log('zstd settings, one stream per block:');
  report('store: level 1, hashLog 11', blocks, STORE_PARAMS);
  for (const n of [3, 6, 9]) report(`level ${n}`, blocks, level(n));
  const bigStoreBlocks = (mb: number): Buffer[] => streamBuffers(mb * 1024 * 1024);
  for (const mb of [8, 32]) {
    const big = bigStoreBlocks(mb);
    report(`store level, ${mb} MB blocks`, big, STORE_PARAMS);
    report(`store level, ${mb} MB blocks, window 2^23, hashLog 13`, big, { ...STORE_PARAMS, [c.ZSTD_c_windowLog]: 23, [c.ZSTD_c_hashLog]: 13 });
  }
  report('lazy2, hash/chain 2^12, search 2^3, minMatch 6', blocks, { [c.ZSTD_c_strategy]: 5, [c.ZSTD_c_windowLog]: 21, [c.ZSTD_c_hashLog]: 12, [c.ZSTD_c_chainLog]: 12, [c.ZSTD_c_searchLog]: 3, [c.ZSTD_c_minMatch]: 6 });
  if (!values['no-level19']) {
    report('level 19', blocks, level(19));
    const bigBlocks = streamBuffers(4 * blockBytes);
    report(`level 19, ${4 * Number(values['block-mb'])} MB blocks, window 2^23`, bigBlocks, level(19, { [c.ZSTD_c_windowLog]: 23 }));
  }
}

if (sections.has('dictionary')) {
  // A dictionary per stream: its first 64 KB, stored once (zstd'd) beside the stream's blocks.
  const dictionaries: Buffer[] = [];
  let dictionaryBytes = 0;
  for (const stream of streamsByKey.values()) {
    const dictionary = stream.lines.subarray(0, DICTIONARY_BYTES);
    dictionaryBytes += zstdCompressSync(dictionary, { params: STORE_PARAMS }).length;
    for (let i = 0; i < streamRanges(stream, blockBytes).length; i++) dictionaries.push(dictionary);
  }
  report('store level, first 64 KB of the stream as dictionary', blocks, STORE_PARAMS, dictionaryBytes, dictionaries);
}

if (sections.has('template')) {
  // Lines grouped by template (digit runs masked, first 60 characters), time order kept within a group.
  const grouped = [...streamsByKey.values()].flatMap((stream) => streamRanges(stream, blockBytes).map(([first, last]) => lineStrings(stream, first, last))).map((lines) => {
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
}

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

if (sections.has('numbers')) {
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
}

/** One rank's entries as the lines column holds them: bytes back to back, line ends, µs timestamps. */
interface RankBlock {
  lines: Buffer;
  lineEnds: Uint32Array;
  timesUs: Float64Array;
}

/** Entries [first, last) of a stream as a block of its own (line ends from the block's start). */
function rankBlock(stream: StreamData, first: number, last: number): RankBlock {
  const start = first === 0 ? 0 : stream.lineEnds[first - 1]!;
  return { lines: linesOf(stream, first, last), lineEnds: stream.lineEnds.subarray(first, last).map((end) => end - start), timesUs: stream.timesUs.subarray(first, last) };
}

/** First index whose time is ≥ `timeUs` (times ascending). */
function firstAtOrAfter(timesUs: ArrayLike<number>, timeUs: number): number {
  let low = 0;
  let high = timesUs.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (timesUs[middle]! < timeUs) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Chunks of a block: entry ranges of about `chunkBytes`, a rule the decoder can replay from the line
 * lengths alone. Each chunk's dictionary is the block's own `tailBytes` before the chunk, then the
 * reference block's lines within `lagUs` of the chunk's time range: the same step's line of the
 * reference rank sits a few KB from the line that repeats its text, where level 1's small hash table
 * still finds it (a whole reference block as dictionary puts it 2 MB back, out of its reach).
 */
function chunkDictionaries(own: RankBlock, reference: RankBlock, chunkBytes: number, tailBytes: number, lagUs: number, ownLines: Buffer): Array<{ from: number; to: number; dictionary: Buffer }> {
  const chunks: Array<{ from: number; to: number; dictionary: Buffer }> = [];
  const count = own.lineEnds.length;
  let first = 0;
  while (first < count) {
    const from = first === 0 ? 0 : own.lineEnds[first - 1]!;
    let last = first + 1;
    while (last < count && own.lineEnds[last - 1]! - from < chunkBytes) last++;
    const to = own.lineEnds[last - 1]!;
    const referenceFirst = firstAtOrAfter(reference.timesUs, own.timesUs[first]! - lagUs);
    const referenceLast = firstAtOrAfter(reference.timesUs, own.timesUs[last - 1]! + lagUs + 1);
    const referenceFrom = referenceFirst === 0 ? 0 : reference.lineEnds[referenceFirst - 1]!;
    const referenceTo = referenceLast === 0 ? 0 : reference.lineEnds[referenceLast - 1]!;
    const dictionary = Buffer.concat([ownLines.subarray(Math.max(0, from - tailBytes), from), reference.lines.subarray(referenceFrom, Math.max(referenceFrom, referenceTo))]);
    chunks.push({ from, to, dictionary });
    first = last;
  }
  return chunks;
}

if (sections.has('reference')) {
  // Another rank's block of the same time range as a zstd dictionary: every rank keeps blocks of its
  // own, and a read of rank k decodes the reference rank's block too. Blocks of every rank are cut at
  // the reference rank's block boundaries (in time), so each block has exactly one reference block.
  const rankStreams = [...streamsByKey.keys()].filter((key) => streamsByKey.get(key)!.rank !== null).sort((a, b) => streamsByKey.get(a)!.rank! - streamsByKey.get(b)!.rank!);
  const referenceKey = rankStreams[0]!;
  const boundariesUs = streamRanges(streamsByKey.get(referenceKey)!, blockBytes)
    .slice(0, -1)
    .map(([, last]) => streamsByKey.get(referenceKey)!.timesUs[last - 1]!);
  /** Blocks of a rank cut at the boundaries: entries up to and including each boundary time. */
  const cut = (key: string): RankBlock[] => {
    const stream = streamsByKey.get(key)!;
    const out: RankBlock[] = [];
    let first = 0;
    for (const boundary of [...boundariesUs, Number.POSITIVE_INFINITY]) {
      const last = firstAtOrAfter(stream.timesUs, boundary === Number.POSITIVE_INFINITY ? boundary : boundary + 1);
      out.push(rankBlock(stream, first, last));
      first = last;
    }
    return out;
  };
  const referenceBlocks = cut(referenceKey);
  const otherBlocks = rankStreams.slice(1).map(cut);
  const rankBytes = [referenceBlocks, ...otherBlocks].flat().reduce((sum, block) => sum + block.lines.length, 0);
  const otherBytes = otherBlocks.flat().reduce((sum, block) => sum + block.lines.length, 0);
  const rankPercent = (bytes: number): string => `${((100 * bytes) / rankBytes).toFixed(2).padStart(6)}%`;
  const mbPerS = (bytes: number, seconds: number): string => `${(bytes / seconds / 1e6).toFixed(0).padStart(5)} MB/s`;
  const decodeOptions = (size: number, dictionary?: Buffer): { chunkSize: number; maxOutputLength: number; dictionary?: Buffer } =>
    dictionary === undefined ? { chunkSize: size + 1, maxOutputLength: Math.max(1, size) } : { chunkSize: size + 1, maxOutputLength: Math.max(1, size), dictionary };

  let referenceEncoded: Buffer[] = [];
  const referenceEncodeS = cpuSeconds(() => (referenceEncoded = referenceBlocks.map((block) => zstdCompressSync(block.lines, { params: STORE_PARAMS }))));
  const referenceStored = referenceEncoded.reduce((sum, frame) => sum + frame.length, 0);
  const referenceDecodeS = cpuSeconds(() => {
    for (let i = 0; i < referenceEncoded.length; i++) zstdDecompressSync(referenceEncoded[i]!, decodeOptions(referenceBlocks[i]!.lines.length));
  });
  console.log(`${(rankBytes / 1e6).toFixed(1)} MB of rank lines, ${rankStreams.length} ranks, ${referenceBlocks.length} blocks a rank cut at ${values['block-mb']} MB of ${referenceKey}; % of rank line bytes, encode per CPU-second over every rank's bytes, one-rank read of ranks 1+ per CPU-second of its own bytes (reference block decode included):`);

  const reportOthers = (label: string, stored: number, encodeS: number, decodeS: number): void => {
    console.log(`${label.padEnd(62)} ${rankPercent(referenceStored + stored)}  encode ${mbPerS(rankBytes, referenceEncodeS + encodeS)}  read ${mbPerS(otherBytes, decodeS)}`);
  };
  const plain = (params: Record<number, number>, label: string): void => {
    let out: Buffer[][] = [];
    const encodeS = cpuSeconds(() => (out = otherBlocks.map((blocks) => blocks.map((block) => zstdCompressSync(block.lines, { params })))));
    const decodeS = cpuSeconds(() => {
      for (let r = 0; r < out.length; r++) for (let i = 0; i < out[r]!.length; i++) zstdDecompressSync(out[r]![i]!, decodeOptions(otherBlocks[r]![i]!.lines.length));
    });
    reportOthers(label, out.flat().reduce((sum, frame) => sum + frame.length, 0), encodeS, decodeS);
  };
  plain(STORE_PARAMS, 'one stream per block, no reference (the store today)');

  const wholeReference = (params: Record<number, number>, label: string): void => {
    let out: Buffer[][] = [];
    const encodeS = cpuSeconds(() => (out = otherBlocks.map((blocks) => blocks.map((block, i) => zstdCompressSync(block.lines, { params, dictionary: referenceBlocks[i]!.lines })))));
    const decodeS = cpuSeconds(() => {
      for (let r = 0; r < out.length; r++) {
        for (let i = 0; i < out[r]!.length; i++) {
          const reference = zstdDecompressSync(referenceEncoded[i]!, decodeOptions(referenceBlocks[i]!.lines.length));
          zstdDecompressSync(out[r]![i]!, decodeOptions(otherBlocks[r]![i]!.lines.length, reference));
        }
      }
    });
    reportOthers(label, out.flat().reduce((sum, frame) => sum + frame.length, 0), encodeS, decodeS);
  };
  wholeReference(STORE_PARAMS, 'whole reference block as dictionary, store level');
  // The window must reach the reference block: level 1's own window (2^19) ends half a block back.
  for (const hashLog of [11, 16, 20]) wholeReference(level(1, { [c.ZSTD_c_hashLog]: hashLog, [c.ZSTD_c_windowLog]: 23 }), `whole reference block as dictionary, level 1 hashLog ${hashLog} window 2^23`);
  for (const [minMatch, rateLog] of [[16, 2], [32, 3], [64, 4]] as const) {
    const ldm = { [c.ZSTD_c_enableLongDistanceMatching]: 1, [c.ZSTD_c_windowLog]: 23, [c.ZSTD_c_ldmHashLog]: 20, [c.ZSTD_c_ldmMinMatch]: minMatch, [c.ZSTD_c_ldmHashRateLog]: rateLog };
    wholeReference({ ...STORE_PARAMS, ...ldm }, `whole reference block, store level + LDM min ${minMatch} rate 2^${rateLog}`);
  }

  /** Frame lengths as varints beside the frames: the only layout data a chunked block adds. */
  const FRAME_LENGTH_BYTES = 3;
  const chunked = (chunkBytes: number, tailBytes: number, lagUs: number, params: Record<number, number>, label: string): void => {
    let out: Buffer[][][] = [];
    const encodeS = cpuSeconds(
      () =>
        (out = otherBlocks.map((blocks) =>
          blocks.map((block, i) => chunkDictionaries(block, referenceBlocks[i]!, chunkBytes, tailBytes, lagUs, block.lines).map((chunk) => zstdCompressSync(block.lines.subarray(chunk.from, chunk.to), { params, dictionary: chunk.dictionary }))),
        )),
    );
    let frames = 0;
    const decodeS = cpuSeconds(() => {
      frames = 0;
      for (let r = 0; r < out.length; r++) {
        for (let i = 0; i < out[r]!.length; i++) {
          const own = otherBlocks[r]![i]!;
          const referenceLines = zstdDecompressSync(referenceEncoded[i]!, decodeOptions(referenceBlocks[i]!.lines.length));
          const reference = { ...referenceBlocks[i]!, lines: referenceLines };
          const decoded = Buffer.allocUnsafe(own.lines.length);
          // The decoder replays the chunk rule from line lengths and times it has already decoded.
          const chunks = chunkDictionaries(own, reference, chunkBytes, tailBytes, lagUs, decoded);
          for (let k = 0; k < chunks.length; k++) {
            const chunk = chunks[k]!;
            const dictionary = Buffer.concat([decoded.subarray(Math.max(0, chunk.from - tailBytes), chunk.from), chunk.dictionary.subarray(Math.min(tailBytes, chunk.from))]);
            zstdDecompressSync(out[r]![i]![k]!, decodeOptions(chunk.to - chunk.from, dictionary)).copy(decoded, chunk.from);
            frames++;
          }
          if (!decoded.equals(own.lines)) throw new Error(`${label}: block ${i} of rank ${r + 1} does not decode back`);
        }
      }
    });
    reportOthers(label, out.flat(2).reduce((sum, frame) => sum + frame.length, 0) + frames * FRAME_LENGTH_BYTES, encodeS, decodeS);
  };
  for (const chunkKb of [16, 64, 256]) chunked(chunkKb * 1024, 4096, 200_000, STORE_PARAMS, `${chunkKb} KB chunks: 4 KB own tail + reference ±200 ms, store level`);
  chunked(64 * 1024, 0, 200_000, STORE_PARAMS, '64 KB chunks: reference ±200 ms only, store level');
  chunked(64 * 1024, 4096, 1_000_000, STORE_PARAMS, '64 KB chunks: 4 KB own tail + reference ±1 s, store level');
  for (const hashLog of [13, 15]) chunked(64 * 1024, 4096, 200_000, level(1, { [c.ZSTD_c_hashLog]: hashLog }), `64 KB chunks, 4 KB tail, ±200 ms, level 1 hashLog ${hashLog}`);
  chunked(64 * 1024, 4096, 200_000, level(3), '64 KB chunks, 4 KB tail, ±200 ms, level 3');
  chunked(256 * 1024, 4096, 200_000, level(1, { [c.ZSTD_c_hashLog]: 16 }), '256 KB chunks, 4 KB tail, ±200 ms, level 1 hashLog 16');
  console.log(`reference blocks alone: ${rankPercent(referenceStored)} of all rank bytes, decode ${mbPerS(referenceBlocks.reduce((sum, block) => sum + block.lines.length, 0), referenceDecodeS)}`);
}

/** `values` as `width` byte planes, low byte of every value first (the store's version-4 meta layout). */
function planes(values: number[]): Buffer {
  let max = 0;
  for (const value of values) if (value > max) max = value;
  let width = 0;
  for (let rest = max; rest >= 1; rest = Math.floor(rest / 256)) width++;
  const out = Buffer.alloc(1 + width * values.length);
  out[0] = width;
  for (let plane = 0; plane < width; plane++) for (let i = 0; i < values.length; i++) out[1 + plane * values.length + i] = Math.floor(values[i]! / 256 ** plane) & 0xff;
  return out;
}

function leb128(values: number[]): Buffer {
  const out: number[] = [];
  for (let value of values) {
    while (value >= 128) {
      out.push((value % 128) | 128);
      value = Math.floor(value / 128);
    }
    out.push(value);
  }
  return Buffer.from(out);
}

const zz = (value: number): number => (value >= 0 ? value * 2 : -value * 2 - 1);
const deltasOf = (values: number[]): number[] => values.slice(1).map((value, i) => value - values[i]!);
/** The store's choice: deltas, or zigzag deltas of deltas when their planes are narrower. */
function storeCodes(timesUs: number[]): number[] {
  const deltas = deltasOf(timesUs);
  const deltaOfDeltas = deltas.map((delta, i) => zz(delta - (i > 0 ? deltas[i - 1]! : 0)));
  return planes(deltaOfDeltas).length < planes(deltas).length ? deltaOfDeltas : deltas;
}

if (sections.has('timestamps')) {
  // One stream's timestamps per 2 MB block, as the store cuts them; bytes per entry after zstd.
  const timeBlocks: number[][] = [];
  for (const stream of streamsByKey.values()) for (const [first, last] of streamRanges(stream, blockBytes)) timeBlocks.push(Array.from(stream.timesUs.subarray(first, last)));
  const entries = timeBlocks.reduce((sum, times) => sum + times.length, 0);
  console.log(`timestamp column, ${entries} entries in ${timeBlocks.length} blocks (bytes per entry, % of line bytes):`);
  const encodings: Array<[string, (timesUs: number[]) => Buffer[]]> = [
    ['store: deltas or zigzag deltas of deltas, byte planes', (times) => [planes(storeCodes(times))]],
    ['zigzag deltas of deltas, LEB128 varints', (times) => [leb128(deltasOf(times).map((delta, i, all) => zz(delta - (i > 0 ? all[i - 1]! : 0))))]],
    ['deltas, LEB128 varints', (times) => [leb128(deltasOf(times))]],
    ['zigzag delta minus the delta two back (lines alternate), planes', (times) => [planes(deltasOf(times).map((delta, i, all) => zz(delta - (i > 1 ? all[i - 2]! : 0))))]],
    [
      'ms part (store codes) and sub-ms µs apart, planes',
      (times) => [planes(storeCodes(times.map((time) => Math.floor(time / 1000)))), planes(times.map((time) => time % 1000))],
    ],
  ];
  for (const [label, encode] of encodings) {
    for (const zstdLevel of [1, 19]) {
      let stored = 0;
      let encodeS = 0;
      encodeS = cpuSeconds(() => {
        stored = 0;
        for (const times of timeBlocks) for (const column of encode(times)) stored += zstdCompressSync(column, { params: level(zstdLevel) }).length;
      }, 0.1);
      console.log(`${`${label}, zstd ${zstdLevel}`.padEnd(72)} ${(stored / entries).toFixed(3)} B/entry ${percent(stored)} (${(encodeS * 1000).toFixed(0)} ms CPU)`);
    }
  }
  // The floor of the µs digits alone: their order-0 entropy (the generator's jitter is near-uniform).
  const histogram = new Float64Array(1000);
  for (const times of timeBlocks) for (const time of times) histogram[time % 1000]!++;
  let bits = 0;
  for (const count of histogram) if (count > 0) bits -= count * Math.log2(count / entries);
  console.log(`order-0 entropy of the sub-ms µs digits alone: ${(bits / 8 / entries).toFixed(3)} B/entry ${percent(bits / 8)}`);
}
