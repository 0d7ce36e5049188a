// How the push decoder should take snappy's output: the addon's external buffer (the default) or a
// copy into a buffer of Node's own (`copyOutputData`). Decompresses ~1 MB protobuf+snappy pushes of
// the synthetic training log, the two ways alternating per round, and prints each one's process
// CPU-seconds (median over rounds) and their ratio.
//   node_modules/node/bin/node bench/snappy-output.ts [--size-mb 100] [--rounds 5]

import { parseArgs } from 'node:util';
import snappy from 'snappy';
import { encodePushRequest } from '../src/push/protobuf.ts';
import type { PushEntry, PushStream } from '../src/push/types.ts';
import { median } from './process-usage.ts';
import { generateTrainingLog, syntheticFileName, syntheticLabels } from './synthetic-log.ts';

const { values } = parseArgs({ options: { 'size-mb': { type: 'string', default: '100' }, rounds: { type: 'string', default: '5' } } });
const targetBytes = Number(values['size-mb']) * 1_000_000;
const PUSH_BYTES = 1_000_000;

const bodies: Buffer[] = [];
let streams = new Map<string, PushStream>();
let pushBytes = 0;
let totalBytes = 0;
for (const entry of generateTrainingLog({ seed: 42 })) {
  const key = syntheticFileName(entry);
  let stream = streams.get(key);
  if (stream === undefined) streams.set(key, (stream = { labels: syntheticLabels(entry), entries: [] as PushEntry[] }));
  stream.entries.push({ timestampNs: entry.timestampNs, line: entry.line });
  pushBytes += entry.line.length;
  totalBytes += entry.line.length;
  if (pushBytes >= PUSH_BYTES || totalBytes >= targetBytes) {
    bodies.push(encodePushRequest([...streams.values()]));
    streams = new Map();
    pushBytes = 0;
    if (totalBytes >= targetBytes) break;
  }
}

const ways: Array<[string, { asBuffer: true; copyOutputData?: boolean }]> = [
  ['external buffer (default)', { asBuffer: true }],
  ['copyOutputData', { asBuffer: true, copyOutputData: true }],
];
const cpuSeconds: number[][] = ways.map(() => []);
let checksum = 0;
for (let round = 0; round < Math.max(1, Number(values.rounds)); round++) {
  for (let w = 0; w < ways.length; w++) {
    const before = process.cpuUsage();
    for (const body of bodies) checksum += (snappy.uncompressSync(body, ways[w]![1]) as Buffer).length;
    const used = process.cpuUsage(before);
    cpuSeconds[w]!.push((used.user + used.system) / 1e6);
  }
}
const medians = cpuSeconds.map((rounds) => median(rounds));
console.log(`${bodies.length} pushes, ${(totalBytes / 1e6).toFixed(0)} MB of lines (checksum ${checksum})`);
for (let w = 0; w < ways.length; w++) console.log(`${ways[w]![0].padEnd(28)} ${medians[w]!.toFixed(3)} CPU-s (rounds: ${cpuSeconds[w]!.map((s) => s.toFixed(3)).join(' ')})`);
console.log(`copyOutputData / default: ${(medians[1]! / medians[0]!).toFixed(2)}×`);
