// Many streams (issue 10): memory per stream held by the store, the time a flush (what SIGTERM runs)
// takes with that many heads, and the WAL replay time of a store that was not closed.
//   node_modules/.bin/node --expose-gc bench/store-streams-bench.ts [--streams 100000] [--replay-streams 600000]
// Each stream gets one push of one 60-byte line with Kubernetes-like labels, in batches of 1,000
// streams per append (a busy cluster's agents). Memory is the RSS and heap growth after a full GC,
// divided by the stream count; the reference is the same process before the appends.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../src/store/store.ts';
import type { AppendStream, LogStore } from '../src/store/types.ts';

const { values } = parseArgs({ options: { streams: { type: 'string', default: '100000' }, 'replay-streams': { type: 'string', default: '600000' } } });
const BATCH_STREAMS = 1000;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function options(dataDir: string) {
  // The encoder thread as the server runs it (one when there is more than one core): a worker round
  // trip per small stream is what made a SIGTERM flush of 100k heads slow.
  return { dataDir, walFsync: false, headCutBytes: 1 << 30, headCutAgeMs: 3_600_000, blockTargetBytes: 2 * 1024 * 1024, compactionIntervalMs: 0, retentionPeriodMs: 0 };
}

async function fill(store: LogStore, streams: number): Promise<void> {
  const baseNs = BigInt(Date.now()) * 1_000_000n;
  for (let first = 0; first < streams; first += BATCH_STREAMS) {
    const batch: AppendStream[] = [];
    for (let s = first; s < Math.min(streams, first + BATCH_STREAMS); s++) {
      batch.push({
        labels: { namespace: 'training', pod: `job-${Math.floor(s / 8)}-worker-${s % 8}`, container: 'pytorch', node: `node-${s % 500}` },
        entries: [{ timestampNs: baseNs + BigInt(s), line: `rank ${s % 8} step 1 loss 2.3456 lr 0.0001 tokens/s 123456` }],
      });
    }
    await store.append('fake', batch);
  }
}

function usage(): { rss: number; heap: number; external: number } {
  gc!();
  const memory = process.memoryUsage();
  return { rss: memory.rss, heap: memory.heapUsed, external: memory.external };
}

const streams = Number(values.streams);
const replayStreams = Number(values['replay-streams']);
const dir = await mkdtemp(join(tmpdir(), 'rankscope-streams-'));
try {
  // 1. Memory per stream, and the flush a SIGTERM runs.
  const store = await openStore(options(join(dir, 'a')));
  const before = usage();
  let started = performance.now();
  await fill(store, streams);
  const appendSeconds = (performance.now() - started) / 1000;
  const after = usage();
  const perStream = (bytes: number) => Math.round(bytes / streams);
  console.log(`${streams} streams appended in ${appendSeconds.toFixed(1)} s`);
  console.log(`memory per stream: RSS ${perStream(after.rss - before.rss)} B, JS heap ${perStream(after.heap - before.heap)} B, external ${perStream(after.external - before.external)} B (target ≤ 1024 B)`);
  started = performance.now();
  await store.close();
  const flushSeconds = (performance.now() - started) / 1000;
  console.log(`flush + close with ${streams} heads: ${flushSeconds.toFixed(1)} s (server.shutdown_timeout default 30 s)`);

  // 2. WAL replay of a store that was never flushed.
  const crashed = await openStore(options(join(dir, 'b')));
  await fill(crashed, replayStreams);
  // Not closed: the WAL holds every entry, as after a kill -9.
  started = performance.now();
  const cpuBefore = process.cpuUsage();
  const reopened = await openStore(options(join(dir, 'b')));
  const replaySeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  // CPU time beside wall time: on a shared machine the wall time says more about the neighbours.
  const replayCpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(`WAL replay of ${replayStreams} streams: ${replaySeconds.toFixed(1)} s wall, ${replayCpuSeconds.toFixed(1)} s CPU (target ≤ 5 s); heads ${reopened.metrics().headStreams}`);
  console.log(JSON.stringify({ streams, perStreamRssBytes: perStream(after.rss - before.rss), perStreamHeapBytes: perStream(after.heap - before.heap), flushSeconds, replayStreams, replaySeconds, replayCpuSeconds }));
  process.exit(0);
} finally {
  await rm(dir, { recursive: true, force: true });
}
