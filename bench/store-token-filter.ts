// Token-filter build speed on the synthetic training log, 2 MB blocks of one stream each, and a
// check that the filter equals a reference build (bench/store-token-filter.ts --reference FILE.ts).
//   node_modules/.bin/node bench/store-token-filter.ts [--size-mb 16] [--reference /path/old.ts]
// Variants measured with it (2-core shared machine, best of 5, MB/s per core): the shipped loop
// ~180-200; a rolling 18-bit trigram index ~180; two passes (branchless trigrams, then tokens) ~190;
// a branchless blocked bloom ~150; a direct-mapped cache skipping repeated tokens' bloom inserts
// ~160; no bloom at all ~220. The byte loop itself (lookup + branch + imul) is the floor in JS.

import { parseArgs } from 'node:util';
import { generateTrainingLog, syntheticFileName } from './synthetic-log.ts';
import { columnsFromEntries, type BlockColumns } from '../src/store/block.ts';
import { sliceColumns } from '../src/store/block-slice.ts';
import { buildTokenFilter, encodeTokenFilter, type TokenFilter } from '../src/store/token-filter.ts';
import type { PushEntry } from '../src/store/types.ts';

const { values } = parseArgs({ options: { 'size-mb': { type: 'string', default: '16' }, reference: { type: 'string' } } });
const targetBytes = Number(values['size-mb']) * 1024 * 1024;
const BLOCK_BYTES = 2 * 1024 * 1024;

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
const blocks: BlockColumns[] = [];
for (const entries of byStream.values()) {
  const columns = columnsFromEntries(entries);
  let first = 0;
  while (first < entries.length) {
    const startByte = first === 0 ? 0 : columns.lineEnds[first - 1]!;
    let last = first + 1;
    while (last < entries.length && columns.lineEnds[last - 1]! - startByte < BLOCK_BYTES) last++;
    blocks.push(sliceColumns(columns, first, last));
    first = last;
  }
}
const rawBytes = blocks.reduce((sum, block) => sum + block.lines.length, 0);

function speed(build: (lines: Buffer, lineEnds: Uint32Array) => TokenFilter): number {
  for (const block of blocks) build(block.lines, block.lineEnds); // warm-up
  const start = process.cpuUsage();
  let runs = 0;
  let seconds = 0;
  do {
    for (const block of blocks) build(block.lines, block.lineEnds);
    runs++;
    const used = process.cpuUsage(start);
    seconds = (used.user + used.system) / 1e6;
  } while (seconds < 1 && runs < 20);
  return (rawBytes * runs) / seconds / 1e6;
}

console.log(`${(rawBytes / 1e6).toFixed(1)} MB in ${blocks.length} blocks`);
console.log(`buildTokenFilter: ${speed(buildTokenFilter).toFixed(0)} MB/s per core`);
if (values.reference !== undefined) {
  const reference = (await import(values.reference)) as { buildTokenFilter: typeof buildTokenFilter };
  console.log(`reference:        ${speed(reference.buildTokenFilter).toFixed(0)} MB/s per core`);
  for (const block of blocks) {
    const a = encodeTokenFilter(buildTokenFilter(block.lines, block.lineEnds));
    const b = encodeTokenFilter(reference.buildTokenFilter(block.lines, block.lineEnds));
    if (!a.equals(b)) throw new Error('filters differ from the reference build');
  }
  console.log('filters identical to the reference build');
}
