// Prices a flushed store's block layout: reads every part of a data directory, merges each stream's
// blocks and encodes them again as one part of uniform blocks, then prints the stored size beside the
// re-encoded one (both as % of the line bytes). Shows what early head cuts (budget cuts leave small
// blocks) cost in bytes, and what another block size would give.
//   node bench/store-reencode.ts <data dir> [--block-mb 2]
// Measured on the 244 MB bench log after POST /flush (bench/ingest-flush-bench.ts --keep-data): 149
// blocks, 29 of them under 1 MB, stored 13.86%; uniform 2 MB blocks 13.92%, 4 MB 13.81%, 8 MB 13.70%.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeBlock } from '../src/store/block.ts';
import { encodeStreamBlocks } from '../src/store/block-encoding.ts';
import { mergeBlocks } from '../src/store/block-merge.ts';
import { decodePartIndex, encodePartIndex, finishPartMeta, type BlockMeta, type PartStreamMeta } from '../src/store/part-index.ts';
import type { BlockData } from '../src/store/types.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'block-mb': { type: 'string', default: '2' } } });
const dataDir = positionals[0];
if (dataDir === undefined) throw new Error('usage: node bench/store-reencode.ts <data dir> [--block-mb 2]');
const blockTargetBytes = Math.round(Number(values['block-mb']) * 1024 * 1024);

async function partDirectories(path: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const full = join(path, entry.name);
    if (entry.name === 'parts') found.push(full);
    else found.push(...(await partDirectories(full)));
  }
  return found;
}

const blocksByStream = new Map<string, BlockData[]>();
const streams = new Map<string, PartStreamMeta>();
let storedBytes = 0;
let storedBlocks = 0;
let smallBlocks = 0;
for (const dir of await partDirectories(join(dataDir, 'objects'))) {
  for (const name of (await readdir(dir)).filter((entry) => entry.endsWith('.index'))) {
    const index = await readFile(join(dir, name));
    const data = await readFile(join(dir, name.replace(/\.index$/, '.data')));
    storedBytes += index.length + data.length;
    const meta = decodePartIndex(index, name);
    for (const block of meta.blocks) {
      const stream = meta.streams.get(block.streamId)!;
      streams.set(block.streamId, { info: stream.info, walSeq: stream.walSeq });
      let list = blocksByStream.get(block.streamId);
      if (list === undefined) blocksByStream.set(block.streamId, (list = []));
      list.push(decodeBlock(data.subarray(block.offset, block.offset + block.length), stream.info));
      storedBlocks++;
      if (block.rawBytes < 1024 * 1024) smallBlocks++;
    }
  }
}
let rawBytes = 0;
let dataBytes = 0;
const blocks: BlockMeta[] = [];
for (const [streamId, list] of blocksByStream) {
  for (const block of encodeStreamBlocks(mergeBlocks(list).columns, blockTargetBytes)) {
    rawBytes += block.rawBytes;
    blocks.push({ streamId, minTimeNs: block.minTimeNs, maxTimeNs: block.maxTimeNs, entryCount: block.entryCount, rawBytes: block.rawBytes, offset: dataBytes, length: block.bytes.length, filter: block.filter });
    dataBytes += block.bytes.length;
  }
}
const indexBytes = encodePartIndex(finishPartMeta({ partId: 'reencoded', tenant: 'bench', day: 0, replaces: [], streams, blocks, dataBytes, indexBytes: 0 })).length;
const percent = (bytes: number): string => `${((100 * bytes) / rawBytes).toFixed(2)}%`;
console.log(`stored: ${storedBlocks} blocks (${smallBlocks} under 1 MB), ${percent(storedBytes)} of ${(rawBytes / 1e6).toFixed(1)} MB of lines`);
console.log(`uniform ${values['block-mb']} MB blocks: ${blocks.length} blocks, data ${percent(dataBytes)} + index ${percent(indexBytes)} = ${percent(dataBytes + indexBytes)}`);
