// What decompressing into a reused output buffer would save on the block scan (issue 9's floor), on
// 2 MB one-rank blocks of the synthetic training log compressed as the store does (zstd level 1).
// Three ways, alternating in one process, CPU time summed over the rounds:
// - `sync`: zstdDecompressSync with one exact output chunk, as src/store/block.ts does;
// - `context`: one decompression context reused, a fresh output buffer per block;
// - `reused`: one context and one output buffer for every block.
// The last two go through Node's internal zlib handle (`_handle.writeSync`), which is not an API:
// this bench only measures what a public decompress-into-buffer call would be worth. glibc's mmap
// threshold changes the `sync` figure (it decides whether each output is a fresh mmap), so run it
// as the server runs: MALLOC_MMAP_THRESHOLD_=4194304 node_modules/node/bin/node bench/block-decompress-reuse.ts

import { parseArgs } from 'node:util';
import * as zlib from 'node:zlib';
import { zstdCompress } from '../src/store/block.ts';
import { generateTrainingLog } from './synthetic-log.ts';

const { values } = parseArgs({ options: { 'size-mb': { type: 'string', default: '48' }, rounds: { type: 'string', default: '12' } } });
const BLOCK_BYTES = 2 * 1024 * 1024;
const blocks: Array<{ compressed: Buffer; bytes: number }> = [];
let current: string[] = [];
let currentBytes = 0;
for (const entry of generateTrainingLog({ seed: 7 })) {
  if (entry.rank !== 0) continue;
  current.push(entry.line);
  currentBytes += Buffer.byteLength(entry.line);
  if (currentBytes < BLOCK_BYTES) continue;
  const lines = Buffer.from(current.join(''));
  blocks.push({ compressed: zstdCompress(lines), bytes: lines.length });
  current = [];
  currentBytes = 0;
  if (blocks.length * BLOCK_BYTES >= Number(values['size-mb']) * 1024 * 1024) break;
}

interface InternalZstd {
  _handle: { writeSync(flush: number, input: Buffer, inOffset: number, inLength: number, out: Buffer, outOffset: number, outLength: number): void; reset(): void };
  _writeState: Uint32Array;
}
const decompressor = zlib.createZstdDecompress() as unknown as InternalZstd;
const intoBuffer = (compressed: Buffer, out: Buffer, bytes: number): Buffer => {
  decompressor._handle.reset();
  decompressor._handle.writeSync(zlib.constants.ZSTD_e_end, compressed, 0, compressed.length, out, 0, out.length);
  const produced = out.length - decompressor._writeState[0]!;
  if (produced !== bytes) throw new Error(`decompressed ${produced} bytes, expected ${bytes}`);
  return out.subarray(0, bytes);
};
const shared = Buffer.allocUnsafe(BLOCK_BYTES * 2);
const ways = {
  sync: (block: (typeof blocks)[number]) => zlib.zstdDecompressSync(block.compressed, { chunkSize: block.bytes + 1, maxOutputLength: block.bytes }),
  context: (block: (typeof blocks)[number]) => intoBuffer(block.compressed, Buffer.allocUnsafe(block.bytes + 1), block.bytes),
  reused: (block: (typeof blocks)[number]) => intoBuffer(block.compressed, shared, block.bytes),
};
type Way = keyof typeof ways;
for (const block of blocks) {
  const expected = ways.sync(block);
  for (const way of ['context', 'reused'] as const) if (!ways[way](block).equals(expected)) throw new Error(`${way} decompressed different bytes`);
}
const cpuUs: Record<Way, number> = { sync: 0, context: 0, reused: 0 };
const order: Way[] = ['sync', 'context', 'reused'];
let checksum = 0;
for (let round = 0; round < Number(values.rounds); round++) {
  // Each way first in turn, so none always runs on what another left warm.
  for (let i = 0; i < order.length; i++) {
    const way = order[(round + i) % order.length]!;
    const started = process.cpuUsage();
    for (const block of blocks) checksum += ways[way](block)[100]!;
    const used = process.cpuUsage(started);
    cpuUs[way] += used.user + used.system;
  }
}
const mb = (blocks.reduce((sum, block) => sum + block.bytes, 0) * Number(values.rounds)) / 1e6;
console.log(`${blocks.length} blocks of ~2 MB, ${values.rounds} rounds, MALLOC_MMAP_THRESHOLD_=${process.env.MALLOC_MMAP_THRESHOLD_ ?? 'unset'} (checksum ${checksum})`);
for (const way of order) {
  console.log(`  ${way.padEnd(8)} ${(cpuUs[way] / 1000).toFixed(0)} ms CPU, ${(mb / (cpuUs[way] / 1e6)).toFixed(0)} MB/s/core, ${(cpuUs[way] / cpuUs.sync).toFixed(3)}× sync`);
}
