// What the stored size owes to how the log is split into streams: the store's own blocks (columns,
// zstd, token filters) and part index for the 8-rank training log, with one stream per rank (how the
// benchmarks push it: labels host + rank) and one stream per node (its ranks' lines interleaved in
// time order, as a file tail of each node's combined `torchrun` output would push them), and the
// whole log as one stream. Each row says what a one-rank read then decompresses per byte of its own.
//   node bench/store-stream-grouping.ts [--size-mb 48] [--block-mb 2]
// Measured (48 MB, 2 MB blocks; % of line bytes, index included): per rank 14.01% (index 0.48);
// per node (4 ranks) 10.72%, a one-rank read decompressing 4x its bytes; one stream 9.56%, 8x.
// Even the whole log in one stream stays near 10% with level-1 blocks: the text the ranks share is
// what a wider stream saves, the digits each rank prints on its own stay. (Issue 9's 10.1% beside
// Loki fits a push of one stream per node; the benchmark pushes one stream per rank.)

import { parseArgs } from 'node:util';
import { columnsFromEntries } from '../src/store/block.ts';
import { encodeStreamBlocks } from '../src/store/block-encoding.ts';
import { encodePartIndex, finishPartMeta, type BlockMeta, type PartStreamMeta } from '../src/store/part-index.ts';
import type { PushEntry } from '../src/store/types.ts';
import { generateTrainingLog, type SyntheticLogEntry } from './synthetic-log.ts';

const { values } = parseArgs({ options: { 'size-mb': { type: 'string', default: '48' }, 'block-mb': { type: 'string', default: '2' } } });
const targetBytes = Number(values['size-mb']) * 1_000_000;
const blockTargetBytes = Number(values['block-mb']) * 1024 * 1024;

const entries: SyntheticLogEntry[] = [];
let generatedBytes = 0;
for (const entry of generateTrainingLog({ seed: 42 })) {
  entries.push(entry);
  generatedBytes += Buffer.byteLength(entry.line);
  if (generatedBytes >= targetBytes) break;
}

interface Stored {
  lineBytes: number;
  blockBytes: number;
  indexBytes: number;
  streams: number;
}

function store(streamOf: (entry: SyntheticLogEntry) => string): Stored {
  const byStream = new Map<string, PushEntry[]>();
  for (const entry of entries) {
    const key = streamOf(entry);
    let list = byStream.get(key);
    if (list === undefined) byStream.set(key, (list = []));
    list.push({ timestampNs: entry.timestampNs, line: entry.line });
  }
  const streams = new Map<string, PartStreamMeta>();
  const blocks: BlockMeta[] = [];
  let lineBytes = 0;
  let blockBytes = 0;
  for (const [key, list] of byStream) {
    // Entries of different ranks may share a timestamp order only loosely: sort as the head does.
    list.sort((a, b) => (a.timestampNs < b.timestampNs ? -1 : a.timestampNs > b.timestampNs ? 1 : 0));
    streams.set(key, { info: { id: key, labels: { stream: key } }, walSeq: 0n });
    for (const block of encodeStreamBlocks(columnsFromEntries(list), blockTargetBytes)) {
      blocks.push({ streamId: key, minTimeNs: block.minTimeNs, maxTimeNs: block.maxTimeNs, entryCount: block.entryCount, rawBytes: block.rawBytes, offset: blockBytes, length: block.bytes.length, filter: block.filter });
      lineBytes += block.rawBytes;
      blockBytes += block.bytes.length;
    }
  }
  const indexBytes = encodePartIndex(finishPartMeta({ partId: 'grouping', tenant: 'bench', day: 0, replaces: [], streams, blocks, dataBytes: blockBytes, indexBytes: 0 })).length;
  return { lineBytes, blockBytes, indexBytes, streams: byStream.size };
}

const rows: Array<[string, (entry: SyntheticLogEntry) => string, string]> = [
  ['one stream per rank (host, rank)', (entry) => `${entry.host}/${entry.rank ?? 'launcher'}`, '1x'],
  ['one stream per node (host)', (entry) => entry.host, '4x'],
  ['one stream', () => 'all', '8x'],
];
console.log(`${(generatedBytes / 1e6).toFixed(1)} MB of line bytes, ${entries.length} entries, ${values['block-mb']} MB blocks`);
for (const [label, streamOf, readBytes] of rows) {
  const stored = store(streamOf);
  const percent = (bytes: number): string => `${((100 * bytes) / stored.lineBytes).toFixed(2)}%`;
  console.log(
    `${label.padEnd(34)} ${String(stored.streams).padStart(3)} streams  stored ${percent(stored.blockBytes + stored.indexBytes).padStart(6)} (blocks ${percent(stored.blockBytes)}, index ${percent(stored.indexBytes)})  one-rank read decompresses ${readBytes} its bytes`,
  );
}
