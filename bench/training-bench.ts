// Training tracker figures (issue 11), each against a reference measured in the same run:
// 1. Ingest cost: the same protobuf+snappy push batches (bench/dataset.ts) into two real servers
//    (child processes, the real CLI), one with `training.enabled: false` and one with it on; the
//    ratio of their CPU seconds over the pushes is what run tracking (identity, extractors,
//    signatures, run state) adds to ingest. Each configuration runs twice, alternating, and the lower
//    CPU of each is kept (other processes share the machine). Target ≤ 15% more.
// 2. The series API on a run of N lines (default 10M): a real Fastify server with the training routes
//    over a tracker that ingested them; the latency of `GET …/series?name=loss` (all ranks, and one
//    rank) and of `GET /api/v1/runs/{id}`, best of 5. Target < 200 ms.
//
// Usage: node bench/training-bench.ts [--lines N] [--ingest-mb N]

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import type { PushStream } from '../src/push/types.ts';
import { trainingRoutes } from '../src/server/training-routes.ts';
import { trainingConfigSchema } from '../src/training/config.ts';
import { RunTracker } from '../src/training/run-tracker.ts';
import { buildDataset, GENERATED_BYTES_PER_SIMULATED_SECOND } from './dataset.ts';
import { runIngest } from './ingest-bench.ts';
import { startServerChild } from './server-child.ts';
import { generateTrainingLog, syntheticLabels } from './synthetic-log.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1_000_000;

/** Entries per push batch, about what an agent's 1 MB batch holds. */
const BATCH_ENTRIES = 5000;

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

export interface TrainingBenchResult {
  ingestLines: number;
  /** Server CPU seconds over the pushes, tracking off / on. */
  ingestCpuSecondsWithout: number;
  ingestCpuSecondsWith: number;
  /** With / without − 1. */
  trackerCpuRatio: number;
  seriesLines: number;
  trackerLinesPerSecond: number;
  seriesAllRanksMs: number;
  seriesOneRankMs: number;
  runDetailMs: number;
  seriesPoints: number;
}

async function serverIngestCpu(dir: string, batches: Awaited<ReturnType<typeof buildDataset>>['batches'], trainingEnabled: boolean): Promise<number> {
  const dataDir = mkdtempSync(join(dir, trainingEnabled ? 'with-' : 'without-'));
  const configPath = join(dataDir, 'server.yaml');
  writeFileSync(configPath, `limits:\n  ingestion_rate_mb: 100000\n  ingestion_burst_size_mb: 100000\ntraining:\n  enabled: ${trainingEnabled}\n`);
  const server = await startServerChild(repoRoot, join(dataDir, 'data'), configPath);
  try {
    const result = await runIngest(server, batches, 4);
    return result.serverCpuSeconds;
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runTrainingBench(options: { lines: number; ingestMb: number }): Promise<TrainingBenchResult> {
  const config = trainingConfigSchema.parse({});
  // 1. Ingest cost through real servers, tracking off and on, alternating.
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-training-bench-'));
  let without = Infinity;
  let withTracking = Infinity;
  let ingestLines = 0;
  try {
    const sizeBytes = Math.round(options.ingestMb * MB);
    const startTimeNs = BigInt(Math.floor(Date.now() / 1000 - sizeBytes / GENERATED_BYTES_PER_SIMULATED_SECOND - 3600)) * 1_000_000_000n;
    const dataset = await buildDataset({ dir, sizeBytes, seed: 5, batchBytes: 1024 * 1024, startTimeNs });
    ingestLines = dataset.entries;
    for (let round = 0; round < 2; round++) {
      without = Math.min(without, await serverIngestCpu(dir, dataset.batches, false));
      withTracking = Math.min(withTracking, await serverIngestCpu(dir, dataset.batches, true));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

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
    ingestLines,
    ingestCpuSecondsWithout: without,
    ingestCpuSecondsWith: withTracking,
    trackerCpuRatio: withTracking / without - 1,
    seriesLines,
    trackerLinesPerSecond: seriesLines / ingestAllSeconds,
    seriesAllRanksMs: all.ms,
    seriesOneRankMs: one.ms,
    runDetailMs: detail.ms,
    seriesPoints,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { lines: { type: 'string', default: '10000000' }, 'ingest-mb': { type: 'string', default: '200' } } });
  const result = await runTrainingBench({ lines: Number(values.lines), ingestMb: Number(values['ingest-mb']) });
  const pct = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;
  console.log(`server ingest CPU, ${result.ingestLines} lines: ${result.ingestCpuSecondsWithout.toFixed(2)} s without run tracking, ${result.ingestCpuSecondsWith.toFixed(2)} s with → +${pct(result.trackerCpuRatio)} (target ≤ 15%)`);
  console.log(`series run: ${result.seriesLines} lines tracked at ${Math.round(result.trackerLinesPerSecond)} lines/CPU s`);
  console.log(`GET /api/v1/runs/{id}: ${result.runDetailMs.toFixed(1)} ms`);
  console.log(`GET …/series?name=loss (all ranks, ${result.seriesPoints} points): ${result.seriesAllRanksMs.toFixed(1)} ms (target < 200 ms)`);
  console.log(`GET …/series?name=loss&rank=0: ${result.seriesOneRankMs.toFixed(1)} ms (target < 200 ms)`);
}
