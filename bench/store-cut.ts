// The CPU of a head cut's encoding half, in process: one stream's sorted columns → blocks (token
// filter + block encode: timestamps plan, zstd of the columns, CRC) → one part's data bytes and its
// zstd'd part index, on the synthetic 8-rank training log. Beside it, the same work by another
// checkout's store modules (--reference), alternating rounds in the same run.
//   node_modules/node/bin/node bench/store-cut.ts [--size-mb 100] [--rounds 3]
//        [--reference /work/base-6899ce7]
// Prints CPU ms per 100 MB of raw line text (median of the rounds) for the filter, the block encode
// and the whole, and the stored size (part data + part index) as a share of raw: a faster cut must
// not store more.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateTrainingLog, syntheticFileName } from './synthetic-log.ts';
import { median } from './process-usage.ts';
import type { BlockColumns } from '../src/store/block.ts';
import type { PushEntry } from '../src/store/types.ts';

interface StoreModules {
  columnsFromEntries: (entries: readonly PushEntry[]) => BlockColumns;
  encodeBlock: (columns: BlockColumns) => Buffer;
  buildTokenFilter: (lines: Buffer, lineEnds: Uint32Array) => unknown;
  encodeStreamBlocks: (columns: BlockColumns, blockTargetBytes: number) => Array<{ bytes: Uint8Array; filter: unknown }>;
  sliceColumns: (columns: BlockColumns, first: number, last: number) => BlockColumns;
  blockRanges: (columns: BlockColumns, blockTargetBytes: number) => Array<[number, number]>;
  encodeTokenFilter: (filter: never) => Buffer;
  zstdCompress: (data: Uint8Array) => Buffer;
}

async function loadModules(root: string): Promise<StoreModules> {
  const store = join(root, 'src', 'store');
  const block = (await import(join(store, 'block.ts'))) as StoreModules;
  const encoding = (await import(join(store, 'block-encoding.ts'))) as StoreModules;
  const slice = (await import(join(store, 'block-slice.ts'))) as StoreModules;
  const filter = (await import(join(store, 'token-filter.ts'))) as StoreModules;
  return {
    columnsFromEntries: block.columnsFromEntries,
    encodeBlock: block.encodeBlock,
    zstdCompress: block.zstdCompress,
    buildTokenFilter: filter.buildTokenFilter,
    encodeTokenFilter: filter.encodeTokenFilter,
    encodeStreamBlocks: encoding.encodeStreamBlocks,
    blockRanges: encoding.blockRanges,
    sliceColumns: slice.sliceColumns,
  };
}

const { values } = parseArgs({ options: { 'size-mb': { type: 'string', default: '100' }, rounds: { type: 'string', default: '3' }, reference: { type: 'string' } } });
const targetBytes = Number(values['size-mb']) * 1_000_000;
const BLOCK_TARGET_BYTES = 2 * 1024 * 1024;
const repoRoot = join(import.meta.dirname, '..');

const byStream = new Map<string, PushEntry[]>();
let rawBytes = 0;
for (const entry of generateTrainingLog({ seed: 42 })) {
  const key = syntheticFileName(entry);
  let list = byStream.get(key);
  if (list === undefined) byStream.set(key, (list = []));
  list.push({ timestampNs: entry.timestampNs, line: entry.line });
  rawBytes += Buffer.byteLength(entry.line);
  if (rawBytes >= targetBytes) break;
}

const variants: Array<[string, StoreModules]> = [['this tree', await loadModules(repoRoot)]];
if (values.reference !== undefined) variants.push([`reference (${values.reference})`, await loadModules(values.reference)]);
const streams = [...byStream.values()].map((entries) => variants[0]![1].columnsFromEntries(entries));

function cpuMs(task: () => void): number {
  const start = process.cpuUsage();
  task();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

interface Round {
  filterMs: number;
  encodeMs: number;
  cutMs: number;
  storedBytes: number;
}

function round(modules: StoreModules): Round {
  const blocks = streams.flatMap((columns) => modules.blockRanges(columns, BLOCK_TARGET_BYTES).map(([first, last]) => modules.sliceColumns(columns, first, last)));
  const filterMs = cpuMs(() => {
    for (const block of blocks) modules.buildTokenFilter(block.lines, block.lineEnds);
  });
  const encodeMs = cpuMs(() => {
    for (const block of blocks) modules.encodeBlock(block);
  });
  let storedBytes = 0;
  // What a cut does per part: every stream's blocks, the data object, the filters in the index.
  const cutMs = cpuMs(() => {
    const encoded = streams.flatMap((columns) => modules.encodeStreamBlocks(columns, BLOCK_TARGET_BYTES));
    const data = Buffer.concat(encoded.map((block) => block.bytes));
    const index = modules.zstdCompress(Buffer.concat(encoded.map((block) => modules.encodeTokenFilter(block.filter as never))));
    storedBytes = data.length + index.length;
  });
  return { filterMs, encodeMs, cutMs, storedBytes };
}

const rounds = new Map<string, Round[]>(variants.map(([name]) => [name, []]));
for (const [, modules] of variants) round(modules); // warm-up
for (let r = 0; r < Number(values.rounds); r++) for (const [name, modules] of variants) rounds.get(name)!.push(round(modules));

const per100Mb = (ms: number): string => ((ms * 100_000_000) / rawBytes).toFixed(0).padStart(5);
console.log(`${(rawBytes / 1e6).toFixed(1)} MB raw in ${streams.length} streams; CPU ms per 100 MB (median of ${values.rounds} rounds)`);
for (const [name, list] of rounds) {
  const filterMs = median(list.map((r) => r.filterMs));
  const encodeMs = median(list.map((r) => r.encodeMs));
  const cutMs = median(list.map((r) => r.cutMs));
  const stored = list[0]!.storedBytes;
  console.log(`${name.padEnd(40)} filter ${per100Mb(filterMs)}  block encode ${per100Mb(encodeMs)}  cut ${per100Mb(cutMs)}  stored ${((100 * stored) / rawBytes).toFixed(2)}% of raw`);
}
