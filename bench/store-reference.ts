// Stream group layouts in process (issue 9 item 6): the 8-rank bench log's rank streams stored one
// stream per block, as `shared` frames and as `reference` frames (src/store/reference-frames.ts, at
// several chunk sizes), with the stored size (% of the lines' bytes, blocks and frames), the encode
// CPU, the decode CPU of every member (each frame decoded once, as a metric scan over all ranks does)
// and of one non-reference member alone (rank 3: its blocks and their frames, as a one-rank query).
// CPU is the least of 4 runs. Not part of `npm run bench`: the server-level figures are
// bench/ingest-flush-bench.ts' and bench/query-bench.ts'.
//   node_modules/node/bin/node bench/store-reference.ts [--size-mb 48] [--frame-mb 2]

import { parseArgs } from 'node:util';
import { decodeBlock, type BlockColumns } from '../src/store/block.ts';
import { encodeStreamBlocks } from '../src/store/block-encoding.ts';
import { encodeReferenceFrames } from '../src/store/reference-frames.ts';
import { decodeFrame, encodeGroupFrames, memberOfColumns, type EncodedFrame } from '../src/store/stream-group.ts';
import { generateTrainingLog } from './synthetic-log.ts';

const { values } = parseArgs({ options: { 'size-mb': { type: 'string', default: '48' }, 'frame-mb': { type: 'string', default: '2' } } });
const targetBytes = Number(values['size-mb']) * 1e6;
const frameTargetBytes = Number(values['frame-mb']) * 1024 * 1024;
const ONE_RANK = 3;

const byRank = new Map<number, { times: bigint[]; lines: Buffer[] }>();
let generated = 0;
for (const entry of generateTrainingLog({ seed: 42 })) {
  const line = Buffer.from(entry.line);
  generated += line.length;
  if (generated >= targetBytes) break;
  if (entry.rank === null) continue;
  let rank = byRank.get(entry.rank);
  if (rank === undefined) byRank.set(entry.rank, (rank = { times: [], lines: [] }));
  rank.times.push(entry.timestampNs);
  rank.lines.push(line);
}
const members: BlockColumns[] = [...byRank.entries()]
  .sort(([a], [b]) => a - b)
  .map(([, rank]) => {
    const lineEnds = new Uint32Array(rank.lines.length);
    let end = 0;
    rank.lines.forEach((line, i) => (lineEnds[i] = end += line.length));
    return { timestampsNs: BigInt64Array.from(rank.times), lines: Buffer.concat(rank.lines), lineEnds };
  });
const rawBytes = members.reduce((sum, columns) => sum + columns.lines.length, 0);
const stream = { id: 'bench', labels: {} };

function cpuMs(fn: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 4; run++) {
    const start = process.cpuUsage();
    fn();
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

const row = (label: string, stored: number, encodeMs: number, allMs: number, oneMs: number): void =>
  console.log(`${label.padEnd(26)} ${((100 * stored) / rawBytes).toFixed(2).padStart(6)}%  encode ${encodeMs.toFixed(0).padStart(5)} ms  decode all ${allMs.toFixed(0).padStart(4)} ms  rank ${ONE_RANK} alone ${oneMs.toFixed(0).padStart(3)} ms`);

console.log(`${(rawBytes / 1e6).toFixed(1)} MB of lines, ${members.length} ranks, frames of ${values['frame-mb']} MB (as the store's 1 MB blocks make them)`);
{
  let blocks: ReturnType<typeof encodeStreamBlocks>[] = [];
  const encodeMs = cpuMs(() => (blocks = members.map((columns) => encodeStreamBlocks(columns, frameTargetBytes / 2))));
  const allMs = cpuMs(() => blocks.flat().forEach((block) => decodeBlock(block.bytes, stream)));
  const oneMs = cpuMs(() => blocks[ONE_RANK]!.forEach((block) => decodeBlock(block.bytes, stream)));
  row('one stream per block', blocks.flat().reduce((sum, block) => sum + block.bytes.length, 0), encodeMs, allMs, oneMs);
}
const framesRow = (label: string, encode: () => EncodedFrame[]): void => {
  let frames: EncodedFrame[] = [];
  const encodeMs = cpuMs(() => (frames = encode()));
  const allMs = cpuMs(() => {
    for (const frame of frames) {
      const lines = decodeFrame(frame.bytes);
      for (const { block } of frame.blocks) decodeBlock(block.bytes, stream, lines);
    }
  });
  const oneMs = cpuMs(() => {
    for (const frame of frames) {
      const own = frame.blocks.find(({ member }) => member === ONE_RANK);
      if (own !== undefined) decodeBlock(own.block.bytes, stream, decodeFrame(frame.bytes));
    }
  });
  const stored = frames.reduce((sum, frame) => sum + frame.bytes.length + frame.blocks.reduce((blocks, { block }) => blocks + block.bytes.length, 0), 0);
  row(label, stored, encodeMs, allMs, oneMs);
};
framesRow('shared frames', () => encodeGroupFrames(members.map(memberOfColumns), frameTargetBytes * 2));
for (const chunkKb of [8, 16, 32, 64]) framesRow(`reference, ${chunkKb} KB chunks`, () => encodeReferenceFrames(members.map(memberOfColumns), frameTargetBytes, chunkKb * 1024));
