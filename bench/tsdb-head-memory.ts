// Where the TSDB head's memory goes per series, in-process (no HTTP, no Prometheus): the tsdb bench's
// workload (bench/metrics-workload.ts, fixed seed) encoded as remote write 1.0 requests, decoded as
// the server decodes them (LabelCache) and appended to a Head. Prints V8 heap, external and
// array-buffer bytes and RSS per series after a forced GC, against the same process before ingest.
// Run with --expose-gc. A fast loop for bench/tsdb-bench.ts' "RSS per active series" figure.
//
//   node --expose-gc bench/tsdb-head-memory.ts [--series 20000] [--hours 2] [--seed 42] [--snapshot FILE]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { parseArgs } from 'node:util';
import { decodeWriteRequestV1Into, LabelCache, RemoteWriteColumns } from '../src/push/remote-write-decode.ts';
import { encodeWriteRequestV1, type RemoteWriteSeriesInput } from '../src/push/remote-write-encode.ts';
import { seededRandom } from '../src/demo/torch-output.ts';
import { Head } from '../src/tsdb/head.ts';
import { buildWorkload } from './metrics-workload.ts';

const INTERVAL_MS = 15_000;
const BLOCK_RANGE_MS = 2 * 3_600_000;
const BATCH = 2000;

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '20000' },
    hours: { type: 'string', default: '2' },
    seed: { type: 'string', default: '42' },
    snapshot: { type: 'string' },
  },
});
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function usage(): { heap: number; external: number; arrayBuffers: number; rss: number } {
  gc!();
  gc!();
  const memory = process.memoryUsage();
  return { heap: memory.heapUsed, external: memory.external, arrayBuffers: memory.arrayBuffers, rss: memory.rss };
}

const random = seededRandom(Number(args.seed));
const workload = buildWorkload(Number(args.series), 'realistic', random);
const steps = Math.floor((Number(args.hours) * 3_600_000) / INTERVAL_MS);
const startMs = Math.floor((Date.now() - Number(args.hours) * 3_600_000) / BLOCK_RANGE_MS) * BLOCK_RANGE_MS;
// Sealed chunks go to a file as the TSDB's do (tsdb.ts puts it in the WAL directory).
const chunksDirectory = mkdtempSync(join(tmpdir(), 'tsdb-head-memory-'));
const head = new Head({ blockRangeMs: BLOCK_RANGE_MS, outOfOrderWindowMs: 0, chunksFile: join(chunksDirectory, 'head-chunks.tmp') });
const labelCache = new LabelCache();
const columns = new RemoteWriteColumns();
const before = usage();
const cpuStart = process.cpuUsage();
for (let s = 0; s < steps; s++) {
  const timestampMs = startMs + s * INTERVAL_MS;
  for (let from = 0; from < workload.length; from += BATCH) {
    const batch: RemoteWriteSeriesInput[] = [];
    for (let i = from; i < Math.min(from + BATCH, workload.length); i++) batch.push({ labels: workload[i]!.labels, samples: [{ timestampMs, value: workload[i]!.step(random) }] });
    decodeWriteRequestV1Into(encodeWriteRequestV1(batch), columns, labelCache);
    head.appendColumns('fake', columns);
    columns.reset();
  }
}
const cpu = process.cpuUsage(cpuStart);
const after = usage();
const n = workload.length;
const per = (bytes: number): string => (bytes / n).toFixed(0).padStart(6);
console.log(`${n} series, ${steps} samples each, head samples ${head.sampleCount}; bench CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (encode + decode + append)`);
console.log(`per series, bytes: heap ${per(after.heap - before.heap)}  external ${per(after.external - before.external)}  (array buffers ${per(after.arrayBuffers - before.arrayBuffers)})  RSS ${per(after.rss - before.rss)}`);
if (args.snapshot !== undefined) console.log(`heap snapshot: ${writeHeapSnapshot(args.snapshot)}`);
// Keep the head and cache alive until after the measurement.
if (head.seriesCount === 0 || labelCache === undefined) process.exitCode = 1;
head.close();
rmSync(chunksDirectory, { recursive: true, force: true });
