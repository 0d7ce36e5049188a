// decodeBlock speed on 2 MB one-stream blocks of the synthetic training log, against the zstd
// decompression of the lines column alone (the ceiling), optionally A/B against another block.ts
// (a copy of an older src/store/block.ts beside a copy of varint.ts): the reference decodes blocks
// its own encodeBlock wrote, so two block versions compare in size and speed on the same entries.
//   node_modules/.bin/node bench/store-decode.ts [--size-mb 16] [--reference /path/to/old-block.ts]

import { zstdDecompressSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { generateTrainingLog, syntheticFileName } from './synthetic-log.ts';
import { columnsFromEntries, decodeBlock, encodeBlock } from '../src/store/block.ts';
import { sliceColumns } from '../src/store/block-slice.ts';
import type { PushEntry, StreamInfo } from '../src/store/types.ts';

const { values } = parseArgs({ options: { 'size-mb': { type: 'string', default: '16' }, reference: { type: 'string' } } });
const targetBytes = Number(values['size-mb']) * 1024 * 1024;
const BLOCK_BYTES = 2 * 1024 * 1024;
/** Version 3 and 4 headers: version, CRC, then 29 bytes of fields; column lengths at 22 and 26. */
const HEADER_BYTES = 34;
const stream: StreamInfo = { id: 'bench', labels: {} } as unknown as StreamInfo;

const byStream = new Map<string, PushEntry[]>();
let total = 0;
for (const entry of generateTrainingLog({ seed: 42 })) {
  const key = syntheticFileName(entry);
  let list = byStream.get(key);
  if (list === undefined) byStream.set(key, (list = []));
  list.push({ timestampNs: entry.timestampNs, line: entry.line });
  total += entry.line.length;
  if (total >= targetBytes) break;
}
const reference = values.reference === undefined ? undefined : ((await import(values.reference)) as { decodeBlock: typeof decodeBlock; encodeBlock: typeof encodeBlock });
const blocks: Buffer[] = [];
const referenceBlocks: Buffer[] = [];
let rawBytes = 0;
for (const entries of byStream.values()) {
  const columns = columnsFromEntries(entries);
  let first = 0;
  while (first < entries.length) {
    const startByte = first === 0 ? 0 : columns.lineEnds[first - 1]!;
    let last = first + 1;
    while (last < entries.length && columns.lineEnds[last - 1]! - startByte < BLOCK_BYTES) last++;
    const slice = sliceColumns(columns, first, last);
    rawBytes += slice.lines.length;
    blocks.push(encodeBlock(slice));
    if (reference !== undefined) referenceBlocks.push(reference.encodeBlock(slice));
    first = last;
  }
}

/** Best of 5 rounds, raw MB per CPU second. */
function speed(run: () => void): number {
  run();
  let best = 0;
  for (let round = 0; round < 5; round++) {
    const start = process.cpuUsage();
    for (let k = 0; k < 4; k++) run();
    const used = process.cpuUsage(start);
    best = Math.max(best, (rawBytes * 4) / ((used.user + used.system) / 1e6) / 1e6);
  }
  return best;
}

const storedBytes = (list: Buffer[]): number => list.reduce((sum, block) => sum + block.length, 0);
console.log(`${(rawBytes / 1e6).toFixed(1)} MB raw in ${blocks.length} blocks: ${(storedBytes(blocks) / 1e6).toFixed(3)} MB stored (${((100 * storedBytes(blocks)) / rawBytes).toFixed(2)}%)`);
if (reference !== undefined) console.log(`reference encoder: ${(storedBytes(referenceBlocks) / 1e6).toFixed(3)} MB stored (${((100 * storedBytes(referenceBlocks)) / rawBytes).toFixed(2)}%)`);
for (let round = 0; round < 3; round++) {
  console.log(`decodeBlock: ${speed(() => blocks.forEach((block) => decodeBlock(block, stream))).toFixed(0)} MB/s per core`);
  if (reference !== undefined) console.log(`reference:   ${speed(() => referenceBlocks.forEach((block) => reference.decodeBlock(block, stream))).toFixed(0)} MB/s per core`);
}
const ceiling = speed(() => {
  for (const block of blocks) {
    // Tiny blocks (the launchers' few lines) store their columns raw: nothing to decompress.
    if ((block[17]! & 0x80) !== 0) continue;
    const metaLength = block.readUInt32LE(22);
    const linesLength = block.readUInt32LE(26);
    zstdDecompressSync(block.subarray(HEADER_BYTES + metaLength, HEADER_BYTES + metaLength + linesLength), { chunkSize: 2 * BLOCK_BYTES, maxOutputLength: 2 * BLOCK_BYTES });
  }
});
console.log(`lines column zstd alone (ceiling): ${ceiling.toFixed(0)} MB/s per core`);
if (reference !== undefined) {
  for (const [i, block] of blocks.entries()) {
    const a = decodeBlock(block, stream);
    const b = reference.decodeBlock(referenceBlocks[i]!, stream);
    if (!Buffer.from(a.timestampsNs.buffer).equals(Buffer.from(b.timestampsNs.buffer)) || !a.lines.equals(b.lines)) throw new Error('decoded blocks differ from the reference');
  }
  console.log('decoded blocks identical to the reference');
}

// The per-entry part of decoding (timestamp and length varints), isolated: 200,000 one-byte lines.
const ENTRIES = 200_000;
const timestampsNs = new BigInt64Array(ENTRIES);
let timestampNs = 1_763_683_200_000_000_000n;
for (let i = 0; i < ENTRIES; i++) {
  timestampNs += BigInt(1000 * ((i * 7919) % 400_000));
  timestampsNs[i] = timestampNs;
}
const lineEnds = new Uint32Array(ENTRIES).map((_, i) => i + 1);
const entryHeavyColumns = { timestampsNs, lines: Buffer.alloc(ENTRIES, 0x78), lineEnds };
function nsPerEntry(decode: typeof decodeBlock, encode: typeof encodeBlock): number {
  const entryHeavy = encode(entryHeavyColumns);
  decode(entryHeavy, stream);
  let best = Infinity;
  for (let round = 0; round < 7; round++) {
    const start = process.cpuUsage();
    decode(entryHeavy, stream);
    const used = process.cpuUsage(start);
    best = Math.min(best, ((used.user + used.system) * 1000) / ENTRIES);
  }
  return best;
}
for (let round = 0; round < 2; round++) {
  console.log(`per-entry decode: ${nsPerEntry(decodeBlock, encodeBlock).toFixed(1)} ns/entry`);
  if (reference !== undefined) console.log(`reference:        ${nsPerEntry(reference.decodeBlock, reference.encodeBlock).toFixed(1)} ns/entry`);
}
