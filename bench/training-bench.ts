// Training tracker figures (issue 11), measured in one process on the same generated run:
// 1. Ingest cost: CPU of ingest without the tracker (Distributor: validation + WAL append with fsync
//    + head) over the push batches, then CPU of the tracker's own work (identity, extractors,
//    signatures, run state) over the same batches. The ratio is the extra CPU ingest pays for run
//    tracking. It leaves out HTTP decoding, which the tracker does not add to either, so the real
//    ratio through the HTTP API is lower than the one printed. Target ≤ 15%.
// 2. The series API on a run of N lines (default 10M): a real Fastify server with the training routes
//    over the tracker that ingested them; the latency of `GET …/series?name=loss` (all ranks, and one
//    rank) and of `GET /api/v1/runs/{id}`, best of 5, cold and warm. Target < 200 ms.
//
// Usage: node bench/training-bench.ts [--lines N] [--ingest-lines N]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { Distributor } from '../src/ingest/distributor.ts';
import type { PushStream } from '../src/push/types.ts';
import { trainingRoutes } from '../src/server/training-routes.ts';
import { storeConfigSchema, storeOptionsFromConfig } from '../src/store/config.ts';
import { openStore } from '../src/store/store.ts';
import { trainingConfigSchema } from '../src/training/config.ts';
import { RunTracker } from '../src/training/run-tracker.ts';
import { generateTrainingLog, syntheticLabels } from './synthetic-log.ts';

/** Entries per push batch, about what an agent's 1 MB batch holds. */
const BATCH_ENTRIES = 5000;

function batchesOf(lines: number, runId: string): PushStream[][] {
  const batches: PushStream[][] = [];
  let current = new Map<string, PushStream>();
  let count = 0;
  for (const entry of generateTrainingLog({ seed: 7, hosts: 4, ranksPerHost: 8 })) {
    const labels = { ...syntheticLabels(entry), run_id: runId };
    const key = `${entry.host}/${entry.rank}`;
    let stream = current.get(key);
    if (stream === undefined) {
      stream = { labels, entries: [] };
      current.set(key, stream);
    }
    // Decoded lines are flat strings; the generator's are concatenations (flattening them is not the tracker's cost).
    stream.entries.push({ timestampNs: entry.timestampNs, line: Buffer.from(entry.line).toString() });
    count++;
    if (count % BATCH_ENTRIES === 0) {
      batches.push([...current.values()]);
      current = new Map();
    }
    if (count >= lines) break;
  }
  if (current.size > 0) batches.push([...current.values()]);
  return batches;
}

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

export interface TrainingBenchResult {
  ingestLines: number;
  ingestCpuSeconds: number;
  trackerCpuSeconds: number;
  trackerCpuRatio: number;
  seriesLines: number;
  trackerLinesPerSecond: number;
  seriesAllRanksMs: number;
  seriesOneRankMs: number;
  runDetailMs: number;
  seriesPoints: number;
}

export async function runTrainingBench(options: { lines: number; ingestLines: number }): Promise<TrainingBenchResult> {
  const config = trainingConfigSchema.parse({});
  // 1. Ingest cost.
  const ingestBatches = batchesOf(options.ingestLines, 'bench-ingest');
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-training-bench-'));
  let ingestCpuSeconds: number;
  try {
    const store = await openStore(storeOptionsFromConfig(storeConfigSchema.parse({ data_dir: dir, compaction_interval: 0 })));
    const distributor = new Distributor({
      store,
      limits: {
        ingestionRateBytesPerSecond: 1e12,
        ingestionBurstBytes: 1e12,
        maxLabelNamesPerSeries: 30,
        maxLabelNameLength: 1024,
        maxLabelValueLength: 2048,
        maxLineSizeBytes: 256 * 1024,
        maxLineSizeTruncate: false,
        rejectOldSamples: false,
        rejectOldSamplesMaxAgeMs: 0,
        creationGracePeriodMs: 1e15,
        allowStructuredMetadata: true,
        maxStructuredMetadataEntries: 128,
        maxStructuredMetadataSizeBytes: 64 * 1024,
      },
    });
    const before = cpuSeconds();
    for (const batch of ingestBatches) await distributor.push('fake', batch);
    ingestCpuSeconds = cpuSeconds() - before;
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const tracker = new RunTracker({ config });
  const trackerBefore = cpuSeconds();
  for (const batch of ingestBatches) tracker.ingest('fake', batch);
  const trackerCpuSeconds = cpuSeconds() - trackerBefore;

  // 2. The series API over a run of `lines` lines.
  const big = new RunTracker({ config });
  const runId = 'bench-series';
  let seriesLines = 0;
  const started = cpuSeconds();
  let current = new Map<string, PushStream>();
  for (const entry of generateTrainingLog({ seed: 11, hosts: 4, ranksPerHost: 8 })) {
    const key = `${entry.host}/${entry.rank}`;
    let stream = current.get(key);
    if (stream === undefined) {
      stream = { labels: { ...syntheticLabels(entry), run_id: runId }, entries: [] };
      current.set(key, stream);
    }
    stream.entries.push({ timestampNs: entry.timestampNs, line: entry.line });
    seriesLines++;
    if (seriesLines % BATCH_ENTRIES === 0) {
      big.ingest('fake', [...current.values()]);
      current = new Map();
    }
    if (seriesLines >= options.lines) break;
  }
  big.ingest('fake', [...current.values()]);
  const ingestAllSeconds = cpuSeconds() - started;

  const app = Fastify();
  await app.register(trainingRoutes, { tracker: big, authEnabled: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const time = async (path: string): Promise<{ ms: number; body: unknown }> => {
    let best = Infinity;
    let body: unknown;
    for (let i = 0; i < 5; i++) {
      const startedMs = performance.now();
      const response = await fetch(url + path);
      body = await response.json();
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(body)}`);
      best = Math.min(best, performance.now() - startedMs);
    }
    return { ms: best, body };
  };
  const detail = await time(`/api/v1/runs/${runId}`);
  const all = await time(`/api/v1/runs/${runId}/series?name=loss`);
  const one = await time(`/api/v1/runs/${runId}/series?name=loss&rank=0`);
  await app.close();
  const seriesPoints = (all.body as { series: Array<{ points: unknown[] }> }).series.reduce((sum, series) => sum + series.points.length, 0);
  return {
    ingestLines: ingestBatches.reduce((sum, batch) => sum + batch.reduce((n, stream) => n + stream.entries.length, 0), 0),
    ingestCpuSeconds,
    trackerCpuSeconds,
    trackerCpuRatio: trackerCpuSeconds / ingestCpuSeconds,
    seriesLines,
    trackerLinesPerSecond: seriesLines / ingestAllSeconds,
    seriesAllRanksMs: all.ms,
    seriesOneRankMs: one.ms,
    runDetailMs: detail.ms,
    seriesPoints,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { lines: { type: 'string', default: '10000000' }, 'ingest-lines': { type: 'string', default: '1000000' } } });
  const result = await runTrainingBench({ lines: Number(values.lines), ingestLines: Number(values['ingest-lines']) });
  const pct = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;
  console.log(`ingest without tracker: ${result.ingestCpuSeconds.toFixed(2)} CPU s for ${result.ingestLines} lines (validation + WAL fsync + head)`);
  console.log(`tracker on the same lines: ${result.trackerCpuSeconds.toFixed(2)} CPU s → +${pct(result.trackerCpuRatio)} of ingest CPU (target ≤ 15%)`);
  console.log(`series run: ${result.seriesLines} lines tracked at ${Math.round(result.trackerLinesPerSecond)} lines/CPU s`);
  console.log(`GET /api/v1/runs/{id}: ${result.runDetailMs.toFixed(1)} ms`);
  console.log(`GET …/series?name=loss (all ranks, ${result.seriesPoints} points): ${result.seriesAllRanksMs.toFixed(1)} ms (target < 200 ms)`);
  console.log(`GET …/series?name=loss&rank=0: ${result.seriesOneRankMs.toFixed(1)} ms (target < 200 ms)`);
}
