// Store codec micro-benchmark: token-filter build speed, block compression ratio and decode speed on
// the synthetic training log, one stream per block as the store writes them.
//   node_modules/.bin/node bench/store-codec.ts [--size-mb 24] [--block-mb 2] [--level 1] [--sweep] [--layouts]
// --sweep tries zstd levels / block sizes / parameters and prints ratio with encode and decode speed.
// --layouts compares the lines column of one-stream blocks with layouts that share text across ranks
// (ranks interleaved in time order; another rank's block of the same time as a zstd dictionary), with
// what each costs a one-rank read: the bytes it must decompress per byte of its own lines.

import { constants as zlibConstants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { generateTrainingLog, syntheticFileName } from './synthetic-log.ts';
import { columnsFromEntries, decodeBlock, encodeBlock, type BlockColumns } from '../src/store/block.ts';
import { sliceColumns } from '../src/store/block-slice.ts';
import { buildTokenFilter } from '../src/store/token-filter.ts';
import type { PushEntry } from '../src/store/types.ts';

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '24' },
    'block-mb': { type: 'string', default: '2' },
    level: { type: 'string', default: '' },
    sweep: { type: 'boolean', default: false },
    layouts: { type: 'boolean', default: false },
  },
});
const targetBytes = Number(values['size-mb']) * 1024 * 1024;
const blockBytes = Number(values['block-mb']) * 1024 * 1024;

function cpuSeconds(fn: () => void, minSeconds = 0.5): number {
  let runs = 0;
  const start = process.cpuUsage();
  let used = 0;
  do {
    fn();
    runs++;
    const u = process.cpuUsage(start);
    used = (u.user + u.system) / 1e6;
  } while (used < minSeconds && runs < 50);
  return used / runs;
}

const byStream = new Map<string, PushEntry[]>();
/** Every entry in generation (time) order with its rank, for the cross-rank layouts. */
const timeline: Array<{ rank: number | null; line: string; timestampNs: bigint }> = [];
let rawTotal = 0;
for (const entry of generateTrainingLog({ seed: 42 })) {
  const key = syntheticFileName(entry);
  let list = byStream.get(key);
  if (list === undefined) byStream.set(key, (list = []));
  list.push({ timestampNs: entry.timestampNs, line: entry.line });
  if (values.layouts) timeline.push({ rank: entry.rank, line: entry.line, timestampNs: entry.timestampNs });
  rawTotal += entry.line.length;
  if (rawTotal >= targetBytes) break;
}

function blocksOf(columns: BlockColumns, target: number): BlockColumns[] {
  const out: BlockColumns[] = [];
  let first = 0;
  const count = columns.timestampsNs.length;
  while (first < count) {
    const startByte = first === 0 ? 0 : columns.lineEnds[first - 1]!;
    let last = first + 1;
    while (last < count && columns.lineEnds[last - 1]! - startByte < target) last++;
    out.push(sliceColumns(columns, first, last));
    first = last;
  }
  return out;
}

const streams = [...byStream.values()].map((entries) => columnsFromEntries(entries));
const rawBytes = streams.reduce((sum, c) => sum + c.lines.length, 0);
console.log(`data: ${(rawBytes / 1e6).toFixed(1)} MB of line bytes, ${streams.length} streams`);

function measure(label: string, target: number, level: number | undefined): void {
  const blocks = streams.flatMap((c) => blocksOf(c, target));
  let encoded: Buffer[] = [];
  const encodeS = cpuSeconds(() => {
    encoded = blocks.map((b) => encodeBlock(b, level));
  }, 0.3);
  const stored = encoded.reduce((s, b) => s + b.length, 0);
  const decodeS = cpuSeconds(() => {
    for (const b of encoded) decodeBlock(b, { id: '', labels: [] } as never);
  });
  let filterBytes = 0;
  const filterSeconds = cpuSeconds(() => {
    filterBytes = 0;
    for (const b of blocks) {
      const f = buildTokenFilter(b.lines, b.lineEnds);
      filterBytes += zstdCompressSync(Buffer.concat([f.trigrams, f.bloom])).length;
    }
  }, 0.3);
  console.log(
    `${label.padEnd(28)} blocks ${String(blocks.length).padStart(4)}  ratio ${(rawBytes / stored).toFixed(2)}x (with filters ${(rawBytes / (stored + filterBytes)).toFixed(2)}x)  encode ${(rawBytes / encodeS / 1e6).toFixed(0)} MB/s  filter+zstd ${(rawBytes / filterSeconds / 1e6).toFixed(0)} MB/s  decode ${(rawBytes / decodeS / 1e6).toFixed(0)} MB/s`,
  );
}

const filterOnly = cpuSeconds(() => {
  for (const c of streams.flatMap((s) => blocksOf(s, blockBytes))) buildTokenFilter(c.lines, c.lineEnds);
});
console.log(`token filter build: ${(rawBytes / filterOnly / 1e6).toFixed(0)} MB/s`);

/** zstd parameters by name: the store's level 1 with its hash size, plain levels, one lazy2 setting. */
function zstdParams(name: string): Record<number, number> {
  const c = zlibConstants;
  if (name === 'store') return { [c.ZSTD_c_compressionLevel]: 1, [c.ZSTD_c_hashLog]: 11 };
  if (name === 'lazy2') return { [c.ZSTD_c_strategy]: 5, [c.ZSTD_c_windowLog]: 22, [c.ZSTD_c_hashLog]: 18, [c.ZSTD_c_chainLog]: 22, [c.ZSTD_c_searchLog]: 3, [c.ZSTD_c_minMatch]: 5 };
  return { [c.ZSTD_c_compressionLevel]: Number(name.slice(1)) };
}

/** Packs lines (each followed by a newline, as the raw file has them) into blocks of about blockBytes. */
function packLines(lines: string[], target: number): Buffer[] {
  const blocks: Buffer[] = [];
  let pending: string[] = [];
  let size = 0;
  for (const line of lines) {
    pending.push(line);
    size += line.length + 1;
    if (size >= target) {
      blocks.push(Buffer.from(pending.join('\n') + '\n'));
      pending = [];
      size = 0;
    }
  }
  if (pending.length > 0) blocks.push(Buffer.from(pending.join('\n') + '\n'));
  return blocks;
}

function reportLayout(label: string, blocks: Buffer[], params: Record<number, number>, readAmplification: string, dictionaries?: Buffer[]): void {
  const raw = blocks.reduce((sum, block) => sum + block.length, 0);
  let out: Buffer[] = [];
  const encodeS = cpuSeconds(() => {
    out = blocks.map((block, i) => zstdCompressSync(block, dictionaries === undefined ? { params } : { params, dictionary: dictionaries[i]! }));
  }, 0.3);
  const stored = out.reduce((sum, block) => sum + block.length, 0);
  console.log(`${label.padEnd(52)} ${((100 * stored) / raw).toFixed(2).padStart(6)}% of raw  encode ${(raw / encodeS / 1e6).toFixed(0).padStart(4)} MB/s  one-rank read decompresses ${readAmplification}`);
}

if (values.layouts) {
  const target = blockBytes;
  const ranks = [...new Set(timeline.map((entry) => entry.rank).filter((rank): rank is number => rank !== null))].sort((a, b) => a - b);
  const rankLines = (rank: number): string[] => timeline.filter((entry) => entry.rank === rank).map((entry) => entry.line);
  console.log(`lines column layouts, ${ranks.length} ranks, ${values['block-mb']} MB blocks (launcher lines left out):`);
  const oneStream = ranks.flatMap((rank) => packLines(rankLines(rank), target));
  for (const level of ['store', 'l9', 'l19']) reportLayout(`one stream per block, zstd ${level}`, oneStream, zstdParams(level), '1x');
  for (const group of [2, 4, 8].filter((size) => size <= ranks.length)) {
    const blocks = ranks
      .filter((rank) => rank % group === 0)
      .flatMap((first) => packLines(timeline.filter((entry) => entry.rank !== null && entry.rank >= first && entry.rank < first + group).map((entry) => entry.line), target));
    reportLayout(`${group} ranks interleaved in time order, zstd store`, blocks, zstdParams('store'), `${group}x`);
  }
  // Rank 0's lines over the same time range as each block of another rank, as its dictionary.
  const reference = ranks[0]!;
  const referenceEntries = timeline.filter((entry) => entry.rank === reference);
  const others: Buffer[] = [];
  const dictionaries: Buffer[] = [];
  for (const rank of ranks.slice(1)) {
    const entries = timeline.filter((entry) => entry.rank === rank);
    let first = 0;
    while (first < entries.length) {
      let last = first;
      let size = 0;
      while (last < entries.length && size < target) size += entries[last++]!.line.length + 1;
      const fromNs = entries[first]!.timestampNs;
      const toNs = entries[last - 1]!.timestampNs;
      others.push(Buffer.from(entries.slice(first, last).map((entry) => entry.line + '\n').join('')));
      dictionaries.push(Buffer.from(referenceEntries.filter((entry) => entry.timestampNs >= fromNs && entry.timestampNs <= toNs).map((entry) => entry.line + '\n').join('')));
      first = last;
    }
  }
  for (const level of ['store', 'l5', 'lazy2', 'l9']) reportLayout(`ranks 1-${ranks.length - 1}: rank ${reference}'s block as dictionary, ${level}`, others, zstdParams(level), '2x (rank 0: 1x)', dictionaries);
} else if (!values.sweep) {
  measure(`block ${values['block-mb']} MB`, blockBytes, values.level === '' ? undefined : Number(values.level));
} else {
  for (const mb of [1, 2, 4]) for (const level of [1, 3]) measure(`block ${mb} MB level ${level}`, mb * 1024 * 1024, level);
  // Raw zstd parameter sweep on whole lines columns of 4 MB blocks.
  const lineColumns = streams.flatMap((c) => blocksOf(c, 4 * 1024 * 1024)).map((b) => b.lines);
  const tries: Array<[string, Record<number, number>]> = [
    ['l1', { [zlibConstants.ZSTD_c_compressionLevel]: 1 }],
    ['l3', { [zlibConstants.ZSTD_c_compressionLevel]: 3 }],
    ['l5', { [zlibConstants.ZSTD_c_compressionLevel]: 5 }],
    ['l7', { [zlibConstants.ZSTD_c_compressionLevel]: 7 }],
    ['l3 win23', { [zlibConstants.ZSTD_c_compressionLevel]: 3, [zlibConstants.ZSTD_c_windowLog]: 23 }],
    ['l3 ldm', { [zlibConstants.ZSTD_c_compressionLevel]: 3, [zlibConstants.ZSTD_c_enableLongDistanceMatching]: 1, [zlibConstants.ZSTD_c_windowLog]: 23 }],
    ['l3 minMatch4', { [zlibConstants.ZSTD_c_compressionLevel]: 3, [zlibConstants.ZSTD_c_minMatch]: 4 }],
    ['l3 minMatch6', { [zlibConstants.ZSTD_c_compressionLevel]: 3, [zlibConstants.ZSTD_c_minMatch]: 6 }],
    ['l1 minMatch4 hash20', { [zlibConstants.ZSTD_c_compressionLevel]: 1, [zlibConstants.ZSTD_c_minMatch]: 4, [zlibConstants.ZSTD_c_hashLog]: 20 }],
    ['dfast hash20 chain20', { [zlibConstants.ZSTD_c_compressionLevel]: 3, [zlibConstants.ZSTD_c_strategy]: 2, [zlibConstants.ZSTD_c_hashLog]: 20, [zlibConstants.ZSTD_c_chainLog]: 20, [zlibConstants.ZSTD_c_minMatch]: 5 }],
    ['greedy l5 minMatch5', { [zlibConstants.ZSTD_c_compressionLevel]: 5, [zlibConstants.ZSTD_c_minMatch]: 5 }],
  ];
  for (const [name, params] of tries) {
    let out: Buffer[] = [];
    const s = cpuSeconds(() => {
      out = lineColumns.map((l) => zstdCompressSync(l, { params }));
    }, 0.3);
    const size = out.reduce((a, b) => a + b.length, 0);
    const d = cpuSeconds(() => {
      for (let i = 0; i < out.length; i++) zstdDecompressSync(out[i]!, { chunkSize: lineColumns[i]!.length, maxOutputLength: lineColumns[i]!.length });
    });
    console.log(`lines 4MB ${name.padEnd(22)} ratio ${(rawBytes / size).toFixed(2)}x  encode ${(rawBytes / s / 1e6).toFixed(0)} MB/s  decode ${(rawBytes / d / 1e6).toFixed(0)} MB/s`);
  }
}
