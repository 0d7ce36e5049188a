// Decodes every block of every part in one or more server data directories (each stream group frame
// once, before its members, as a scan over every member does) and prints the CPU it took (least of 5
// runs), the lines decoded and the blocks and frames: what a layout costs a full scan's decode, on
// stores a server wrote. Not part of `npm run bench`.
//   node_modules/node/bin/node bench/part-decode.ts DATA_DIR [DATA_DIR…]

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeBlock } from '../src/store/block.ts';
import { decodePartIndex } from '../src/store/part-index.ts';
import { decodeFrame } from '../src/store/stream-group.ts';

const dirs = process.argv.slice(2);
if (dirs.length === 0) throw new Error('usage: bench/part-decode.ts DATA_DIR [DATA_DIR…]');

for (const dir of dirs) {
  const indexes = readdirSync(join(dir, 'objects'), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.includes('/parts/') && path.endsWith('.index'))
    .map((path) => join(dir, 'objects', path));
  const parts = indexes.map((path) => ({ meta: decodePartIndex(readFileSync(path), path), data: readFileSync(path.replace(/\.index$/, '.data')) }));
  let best = Number.POSITIVE_INFINITY;
  let lineBytes = 0;
  let blocks = 0;
  let frames = 0;
  for (let run = 0; run < 5; run++) {
    lineBytes = 0;
    blocks = 0;
    frames = 0;
    const start = process.cpuUsage();
    for (const { meta, data } of parts) {
      let frameOffset: number | undefined;
      let frameLines: Buffer | undefined;
      for (const block of meta.blocks) {
        if (block.frameOffset !== undefined && block.frameOffset !== frameOffset) {
          frameOffset = block.frameOffset;
          frameLines = decodeFrame(data.subarray(block.frameOffset, block.frameOffset + block.frameLength!));
          frames++;
        }
        const decoded = decodeBlock(data.subarray(block.offset, block.offset + block.length), meta.streams.get(block.streamId)!.info, block.frameOffset === undefined ? undefined : frameLines);
        lineBytes += decoded.lines.length;
        blocks++;
      }
    }
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / 1e6);
  }
  console.log(`${dir}: ${(lineBytes / 1e6).toFixed(0)} MB of lines in ${blocks} blocks (${frames} frames), decode CPU ${(best * 1000).toFixed(0)} ms (${(lineBytes / best / 1e6).toFixed(0)} MB/s)`);
}
