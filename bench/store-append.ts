// Store append micro-benchmark: the store's share of ingest (WAL record encode, write, optional
// fsync, head copy, and the head cuts it triggers), with GC time, on the synthetic training log.
//   node_modules/.bin/node bench/store-append.ts [--size-mb 48] [--batch-kb 1024] [--concurrency 4] [--fsync]
// Pushes are pre-built PushEntry arrays (what the server hands to append), so the figure excludes
// HTTP, snappy and protobuf. CPU is the whole process (all threads, including encoder workers).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { generateTrainingLog, syntheticLabels, syntheticFileName } from './synthetic-log.ts';
import { openStore } from '../src/store/store.ts';
import type { AppendStream, PushEntry } from '../src/store/types.ts';

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '48' },
    'batch-kb': { type: 'string', default: '1024' },
    concurrency: { type: 'string', default: '4' },
    fsync: { type: 'boolean', default: false },
  },
});
const targetBytes = Number(values['size-mb']) * 1024 * 1024;
const batchBytes = Number(values['batch-kb']) * 1024;

// Batches as an agent would send them: entries of all streams in time order, cut at batchBytes.
const batches: AppendStream[][] = [];
let current = new Map<string, AppendStream>();
let currentBytes = 0;
let totalBytes = 0;
for (const entry of generateTrainingLog({ seed: 42 })) {
  const key = syntheticFileName(entry);
  let stream = current.get(key);
  if (stream === undefined) current.set(key, (stream = { labels: syntheticLabels(entry), entries: [] as PushEntry[] }));
  // Flat strings, as a protobuf decode yields (the generator builds cons strings, which Buffer.write
  // would flatten on every append and so bill the generator's layout to the store).
  (stream.entries as PushEntry[]).push({ timestampNs: entry.timestampNs, line: Buffer.from(entry.line).toString('utf8') });
  currentBytes += entry.line.length;
  totalBytes += entry.line.length;
  if (currentBytes >= batchBytes) {
    batches.push([...current.values()]);
    current = new Map();
    currentBytes = 0;
  }
  if (totalBytes >= targetBytes) break;
}
if (current.size > 0) batches.push([...current.values()]);

const dir = await mkdtemp(join(tmpdir(), 'rankscope-store-append-'));
let gcMs = 0;
let gcCount = 0;
const observer = new PerformanceObserver((list) => {
  for (const item of list.getEntries()) {
    gcMs += item.duration;
    gcCount++;
  }
});
observer.observe({ entryTypes: ['gc'] });
try {
  const store = await openStore({
    dataDir: dir,
    walFsync: values.fsync,
    headCutBytes: 64 * 1024 * 1024,
    headCutAgeMs: 3_600_000,
    blockTargetBytes: 2 * 1024 * 1024,
    compactionIntervalMs: 0,
    retentionPeriodMs: 0,
  });
  const startCpu = process.cpuUsage();
  const startWall = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) await store.append('bench', batches[next++]!);
  };
  await Promise.all(Array.from({ length: Number(values.concurrency) }, worker));
  const cpu = process.cpuUsage(startCpu);
  const wallS = (performance.now() - startWall) / 1000;
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const gcAppendMs = gcMs;
  await store.close();
  const closeCpu = process.cpuUsage(startCpu);
  const mb = totalBytes / 1e6;
  console.log(`${batches.length} appends, ${mb.toFixed(1)} MB of lines, fsync ${values.fsync ? 'on' : 'off'}`);
  console.log(`append: ${(mb / cpuS).toFixed(0)} MB/s per core (cpu ${cpuS.toFixed(2)} s, wall ${wallS.toFixed(2)} s), GC ${gcAppendMs.toFixed(0)} ms in ${gcCount} pauses`);
  console.log(`append + close (cuts everything): ${(mb / ((closeCpu.user + closeCpu.system) / 1e6)).toFixed(0)} MB/s per core`);
} finally {
  observer.disconnect();
  await rm(dir, { recursive: true, force: true });
}
