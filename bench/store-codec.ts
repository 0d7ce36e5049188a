// Store codec micro-benchmark: token-filter build speed, block compression ratio and decode speed on
// the synthetic training log, one stream per block as the store writes them.
//   node_modules/.bin/node bench/store-codec.ts [--size-mb 24] [--block-mb 2] [--level 1] [--sweep]
// --sweep tries zstd levels / block sizes / parameters and prints ratio with encode and decode speed.

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
let rawTotal = 0;
for (const entry of generateTrainingLog({ seed: 42 })) {
  const key = syntheticFileName(entry);
  let list = byStream.get(key);
  if (list === undefined) byStream.set(key, (list = []));
  list.push({ timestampNs: entry.timestampNs, line: entry.line });
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

if (!values.sweep) {
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
