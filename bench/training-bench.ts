// Training tracker figures (issue 11), each against a reference measured in the same run:
// 1. Ingest cost: the same protobuf+snappy push batches (bench/dataset.ts) into two real servers
//    (child processes, the real CLI), one with `training.enabled: false` and one with it on; the
//    ratio of their CPU seconds over the pushes is what run tracking (identity, extractors,
//    signatures, run state) adds to ingest. Each configuration runs `--rounds` times (default 2),
//    alternating, and the lower CPU of each is kept (other processes share the machine). Target ≤ 15%
//    more. `--before-repo DIR` (a checkout of the previous version, with node_modules) adds its server
//    with tracking on to every round, so the before/after figures come from the same run.
// 2. The series API on a run of N lines (default 10M): a real Fastify server with the training routes
//    over a tracker that ingested them; the latency of `GET …/series?name=loss` (all ranks, and one
//    rank) and of `GET /api/v1/runs/{id}`, best of 5. Target < 200 ms.
//
// 3. The tracker alone in process: CPU µs per line over the series run's lines (bench/training-tracker-cpu.ts
//    compares two trackers in process, line for line).
//
// Usage: node bench/training-bench.ts [--lines N] [--ingest-mb N] [--rounds N] [--before-repo DIR]

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
  /** The previous version's server with tracking on (`beforeRepo`), and its ratio to this version's without. */
  ingestCpuSecondsWithBefore?: number;
  beforeTrackerCpuRatio?: number;
  /** The tracker's own CPU per line, in process. */
  trackerUsPerLine: number;
  seriesLines: number;
  trackerLinesPerSecond: number;
  seriesAllRanksMs: number;
  seriesOneRankMs: number;
  runDetailMs: number;
  seriesPoints: number;
}

async function serverIngestCpu(dir: string, batches: Awaited<ReturnType<typeof buildDataset>>['batches'], trainingEnabled: boolean, root = repoRoot): Promise<number> {
  const dataDir = mkdtempSync(join(dir, trainingEnabled ? 'with-' : 'without-'));
  const configPath = join(dataDir, 'server.yaml');
  writeFileSync(configPath, `limits:\n  ingestion_rate_mb: 100000\n  ingestion_burst_size_mb: 100000\ntraining:\n  enabled: ${trainingEnabled}\n`);
  const server = await startServerChild(root, join(dataDir, 'data'), configPath);
  try {
    const result = await runIngest(server, batches, 4);
    return result.serverCpuSeconds;
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runTrainingBench(options: { lines: number; ingestMb: number; rounds?: number; beforeRepo?: string }): Promise<TrainingBenchResult> {
  const config = trainingConfigSchema.parse({});
  // 1. Ingest cost through real servers, tracking off and on, alternating.
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-training-bench-'));
  let without = Infinity;
  let withTracking = Infinity;
  let withBefore = Infinity;
  let ingestLines = 0;
  try {
    const sizeBytes = Math.round(options.ingestMb * MB);
    const startTimeNs = BigInt(Math.floor(Date.now() / 1000 - sizeBytes / GENERATED_BYTES_PER_SIMULATED_SECOND - 3600)) * 1_000_000_000n;
    const dataset = await buildDataset({ dir, sizeBytes, seed: 5, batchBytes: 1024 * 1024, startTimeNs });
    ingestLines = dataset.entries;
    for (let round = 0; round < (options.rounds ?? 2); round++) {
      without = Math.min(without, await serverIngestCpu(dir, dataset.batches, false));
      withTracking = Math.min(withTracking, await serverIngestCpu(dir, dataset.batches, true));
      if (options.beforeRepo !== undefined) withBefore = Math.min(withBefore, await serverIngestCpu(dir, dataset.batches, true, options.beforeRepo));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // 2. The series API over a run of `lines` lines.
  const big = new RunTracker({ config });
  const runId = 'bench-series';
  let seriesLines = 0;
  // Only the tracker's calls are timed (the generator's string building is not the tracker's cost).
  let ingestAllSeconds = 0;
  const ingestTimed = (streams: PushStream[]): void => {
    const started = cpuSeconds();
    big.ingest('fake', streams);
    ingestAllSeconds += cpuSeconds() - started;
  };
  let current = new Map<string, PushStream>();
  for (const entry of generateTrainingLog({ seed: 11, hosts: 4, ranksPerHost: 8 })) {
    const key = `${entry.host}/${entry.rank}`;
    let stream = current.get(key);
    if (stream === undefined) {
      stream = { labels: { ...syntheticLabels(entry), run_id: runId }, entries: [] };
      current.set(key, stream);
    }
    // Decoded from bytes, as the push decoder hands lines over (flat strings, not the generator's concatenations).
    stream.entries.push({ timestampNs: entry.timestampNs, line: Buffer.from(entry.line, 'utf8').toString('utf8') });
    seriesLines++;
    if (seriesLines % BATCH_ENTRIES === 0) {
      ingestTimed([...current.values()]);
      current = new Map();
    }
    if (seriesLines >= options.lines) break;
  }
  ingestTimed([...current.values()]);

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
    ...(options.beforeRepo !== undefined ? { ingestCpuSecondsWithBefore: withBefore, beforeTrackerCpuRatio: withBefore / without - 1 } : {}),
    trackerUsPerLine: (ingestAllSeconds / seriesLines) * 1e6,
    seriesLines,
    trackerLinesPerSecond: seriesLines / ingestAllSeconds,
    seriesAllRanksMs: all.ms,
    seriesOneRankMs: one.ms,
    runDetailMs: detail.ms,
    seriesPoints,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { lines: { type: 'string', default: '10000000' }, 'ingest-mb': { type: 'string', default: '200' }, rounds: { type: 'string', default: '2' }, 'before-repo': { type: 'string' } } });
  const result = await runTrainingBench({ lines: Number(values.lines), ingestMb: Number(values['ingest-mb']), rounds: Number(values.rounds), ...(values['before-repo'] !== undefined ? { beforeRepo: values['before-repo'] } : {}) });
  const pct = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;
  console.log(`server ingest CPU, ${result.ingestLines} lines: ${result.ingestCpuSecondsWithout.toFixed(2)} s without run tracking, ${result.ingestCpuSecondsWith.toFixed(2)} s with → +${pct(result.trackerCpuRatio)} (target ≤ 15%)`);
  if (result.ingestCpuSecondsWithBefore !== undefined) console.log(`  before (${values['before-repo']}) with run tracking: ${result.ingestCpuSecondsWithBefore.toFixed(2)} s → +${pct(result.beforeTrackerCpuRatio!)}`);
  console.log(`series run: ${result.seriesLines} lines tracked at ${Math.round(result.trackerLinesPerSecond)} lines/CPU s (${result.trackerUsPerLine.toFixed(2)} µs CPU/line in process)`);
  console.log(`GET /api/v1/runs/{id}: ${result.runDetailMs.toFixed(1)} ms`);
  console.log(`GET …/series?name=loss (all ranks, ${result.seriesPoints} points): ${result.seriesAllRanksMs.toFixed(1)} ms (target < 200 ms)`);
  console.log(`GET …/series?name=loss&rank=0: ${result.seriesOneRankMs.toFixed(1)} ms (target < 200 ms)`);
}
