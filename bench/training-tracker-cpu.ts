// The run tracker's own CPU per ingested line, in process (no server): the generated 8-rank run
// (bench/synthetic-log.ts) grouped into pushes of 5000 entries as the distributor hands them over,
// fed to `RunTracker.ingest`. With `--base DIR` (a copy of an earlier `src/`, e.g.
// `git archive <commit> src | tar -x -C DIR`) the two trackers run alternately on the same pushes,
// the median of each is reported, and a digest of what each kept (series points, hits, ranks) must
// agree: a faster tracker that answers differently is a regression, not a speed-up.
// `--entries raw` (the default) hands the lines over as the server does: each push encoded to
// protobuf+snappy and decoded by the server's decoder, lines still UTF-8 bytes in the body
// (RawLineEntry); `--entries strings` gives plain string entries.
//
// The digest holds every kept series point, so two trackers whose MAX_POINTS_PER_SERIES differ
// (16,384 before 2026-12-07, 10,240 since) agree only while no series is thinned: the default of
// 300,000 lines stays below both (~8,400 points per series and rank).
//
// `--dataset-mb N` feeds instead the pushes of bench/dataset.ts (what bench/ingest-flush-bench.ts and
// `npm run bench` push: default generator options, ~1 MB protobuf+snappy batches), decoded as the
// server decodes them, so the line mix is the one the ingest figures are measured on.
//
// `--memory` (needs `node --expose-gc`) prints what a tracker holds once every push is in: the heap
// and array-buffer growth from before it was made to after, collected, with its pushes released.
//
// Usage: node [--expose-gc] bench/training-tracker-cpu.ts [--lines N] [--rounds N] [--base DIR] [--entries raw|strings] [--dataset-mb N] [--memory]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { encodePushRequest } from '../src/push/protobuf.ts';
import { decodeSnappyPushRequestFast } from '../src/push/protobuf-decode.ts';
import { rawColumnsOf } from '../src/push/raw-push-stream.ts';
import type { PushStream } from '../src/push/types.ts';
import { trainingConfigSchema } from '../src/training/config.ts';
import { RunTracker } from '../src/training/run-tracker.ts';
import { buildDataset, type PushBatch } from './dataset.ts';
import { generateTrainingLog, syntheticLabels } from './synthetic-log.ts';

const BATCH_ENTRIES = 5000;

type TrackerClass = typeof RunTracker;

type Decode = typeof decodeSnappyPushRequestFast;

/**
 * The pushes as the tracker of a checkout gets them. `decode` is that checkout's decoder: its tracker
 * knows lines still in bytes by its own classes (`instanceof`), so a base tracker fed this checkout's
 * decoded pushes would take its slow path and measure something the server never runs.
 */
export function buildPushes(lines: number, seed = 5, entries: 'raw' | 'strings' = 'strings', decode: Decode = decodeSnappyPushRequestFast): PushStream[][] {
  const pushes = buildStringPushes(lines, seed);
  // As the server's push route decodes a body: lines stay bytes (src/server/push-routes.ts).
  return entries === 'raw' ? pushes.map((push) => decode(encodePushRequest(push), undefined, true)) : pushes;
}

function buildStringPushes(lines: number, seed: number): PushStream[][] {
  const pushes: PushStream[][] = [];
  let current = new Map<string, PushStream>();
  let count = 0;
  for (const entry of generateTrainingLog({ seed, hosts: 2, ranksPerHost: 4, rareLineScale: 20, incidentEverySteps: 3000 })) {
    const key = `${entry.host}/${entry.rank}`;
    let stream = current.get(key);
    if (stream === undefined) {
      stream = { labels: syntheticLabels(entry), entries: [] };
      current.set(key, stream);
    }
    // Decoded from bytes, as the push decoder hands lines over (flat strings, not the generator's concatenations).
    stream.entries.push({ timestampNs: entry.timestampNs, line: Buffer.from(entry.line, 'utf8').toString('utf8') });
    count++;
    if (count % BATCH_ENTRIES === 0) {
      pushes.push([...current.values()]);
      current = new Map();
    }
    if (count >= lines) break;
  }
  if (current.size > 0) pushes.push([...current.values()]);
  return pushes;
}

/** bench/dataset.ts' push batches of `sizeMb` MB (the ingest benches' data); the text file it writes is removed. */
export async function buildDatasetBatches(sizeMb: number): Promise<PushBatch[]> {
  const dir = await mkdtemp(join(tmpdir(), 'training-tracker-cpu-'));
  try {
    const dataset = await buildDataset({ dir, sizeBytes: Math.round(sizeMb * 1_000_000), seed: 42, batchBytes: 1_000_000, startTimeNs: 1_767_600_000_000_000_000n });
    return dataset.batches;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Ingests every push into a fresh tracker; returns CPU seconds and a digest of the tracker's state. */
export function measureTracker(Tracker: TrackerClass, pushes: PushStream[][]): { cpuSeconds: number; digest: string } {
  const config = trainingConfigSchema.parse({});
  const tracker = new Tracker({ config, now: () => 0 });
  const started = cpuSeconds();
  for (const push of pushes) tracker.ingest('bench', push, 0);
  const cpu = cpuSeconds() - started;
  const run = tracker.run('bench', 'train');
  if (run === undefined) return { cpuSeconds: cpu, digest: 'no run' };
  const parts: string[] = [];
  for (const name of run.series.names()) {
    for (const rank of run.series.ranksOf(name)) {
      const points = run.series.get(name, rank)!.points(1e9);
      let sum = 0;
      for (const [x, value] of points) sum += x * 1e-6 + (Number.isFinite(value) ? value : 7);
      parts.push(`${name}/${rank}:${points.length}:${sum.toPrecision(12)}`);
    }
  }
  const hits = run.hits.map((hit) => `${hit.signature.id}@${hit.rank}@${hit.timeNs}@${JSON.stringify(hit.fields)}`).join('|');
  const ranks = [...run.ranks.values()].map((rank) => `${rank.rank}:${rank.lines}:${rank.maxStep}:${rank.pid}:${rank.exitCode}`).join(',');
  // The times and lines the runs API and the hang check read (rank-state.ts, log-time.ts).
  const rankTimes = [...run.ranks.values()]
    .map((rank) => `${rank.rank}:${rank.firstNs}:${rank.lastNs}:${rank.lastProgressNs}:${rank.maxStepNs}:${rank.medianIntervalMs()}:${rank.errorLines}:${hashText([...rank.stepTimes].join())}:${hashText(rank.lastLine)}`)
    .join(',');
  parts.push(`hits=${run.hits.length}:${hashText(hits)}`, `finishes=${run.finishes.length}`, `ranks=${ranks}`, `rankTimes=${rankTimes}`, `run=${run.firstNs}:${run.lastNs}`, `attempts=${run.attempts.length}`, `pids=${run.pids.size}`);
  return { cpuSeconds: cpu, digest: parts.join('\n') };
}

/** Bytes a tracker of `Tracker` holds after ingesting `pushes` (built by `build`, dropped before measuring): heap and array buffers, collected. */
async function retainedBytes(Tracker: TrackerClass, build: () => PushStream[][]): Promise<{ heapBytes: number; arrayBufferBytes: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('--memory: run node with --expose-gc');
  const collect = async (): Promise<NodeJS.MemoryUsage> => {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    gc();
    return process.memoryUsage();
  };
  const before = await collect();
  let pushes: PushStream[][] | undefined = build();
  const tracker = new Tracker({ config: trainingConfigSchema.parse({}), now: () => 0 });
  for (const push of pushes) tracker.ingest('bench', push, 0);
  pushes = undefined;
  const after = await collect();
  if (tracker.run('bench', 'train') === undefined) throw new Error('no run');
  // The decoded pushes' bodies and columns are gone by now; what is left is the tracker's.
  return { heapBytes: after.heapUsed - before.heapUsed, arrayBufferBytes: after.arrayBuffers - before.arrayBuffers };
}

function hashText(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return (hash >>> 0).toString(16);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { lines: { type: 'string', default: '300000' }, rounds: { type: 'string', default: '3' }, base: { type: 'string' }, entries: { type: 'string', default: 'raw' }, 'dataset-mb': { type: 'string' }, memory: { type: 'boolean', default: false } } });
  const lines = Number(values.lines);
  if (values.entries !== 'raw' && values.entries !== 'strings') throw new Error(`--entries: expected raw or strings, got ${values.entries}`);
  const datasetBatches = values['dataset-mb'] === undefined ? undefined : await buildDatasetBatches(Number(values['dataset-mb']));
  const build = (decode: Decode = decodeSnappyPushRequestFast): PushStream[][] =>
    datasetBatches === undefined ? buildPushes(lines, 5, values.entries as 'raw' | 'strings', decode) : datasetBatches.map((batch) => decode(batch.body, undefined, values.entries === 'raw'));
  const pushes = build();
  // Counted from the columns: reading `entries` would turn a push's columns into entry objects, and the tracker would then take the entries path the server seldom takes.
  const total = pushes.reduce((sum, push) => sum + push.reduce((s, stream) => s + (rawColumnsOf(stream)?.count ?? stream.entries.length), 0), 0);
  const base = values.base === undefined ? undefined : ((await import(join(resolve(values.base), 'src/training/run-tracker.ts'))) as { RunTracker: TrackerClass }).RunTracker;
  const baseDecode = values.base === undefined ? undefined : ((await import(join(resolve(values.base), 'src/push/protobuf-decode.ts'))) as { decodeSnappyPushRequestFast: Decode }).decodeSnappyPushRequestFast;
  const basePushes = baseDecode === undefined ? pushes : build(baseDecode);
  const current: number[] = [];
  const before: number[] = [];
  let digestNew = '';
  let digestBase = '';
  // One unmeasured round of each first: the JIT warms up on the same lines.
  if (base !== undefined) measureTracker(base, basePushes);
  measureTracker(RunTracker, pushes);
  for (let round = 0; round < Number(values.rounds); round++) {
    if (base !== undefined) {
      const measured = measureTracker(base, basePushes);
      before.push(measured.cpuSeconds);
      digestBase = measured.digest;
    }
    const measured = measureTracker(RunTracker, pushes);
    current.push(measured.cpuSeconds);
    digestNew = measured.digest;
  }
  const perLineUs = (seconds: number) => ((seconds / total) * 1e6).toFixed(3);
  console.log(`lines ${total} (entries: ${values.entries}), pushes ${pushes.length}, rounds ${values.rounds}`);
  console.log(`tracker: ${perLineUs(median(current))} µs CPU/line (runs: ${current.map((s) => s.toFixed(3)).join(', ')} s)`);
  if (base !== undefined) {
    console.log(`base:    ${perLineUs(median(before))} µs CPU/line (runs: ${before.map((s) => s.toFixed(3)).join(', ')} s)`);
    console.log(`ratio new/base: ${(median(current) / median(before)).toFixed(3)}`);
    console.log(`same state as base: ${digestNew === digestBase ? 'yes' : 'NO'}`);
    if (digestNew !== digestBase) {
      const a = digestBase.split('\n');
      const b = digestNew.split('\n');
      for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) console.log(`  base ${a[i]}\n  new  ${b[i]}`);
      process.exitCode = 1;
    }
  }
  if (values.memory) {
    const mb = (bytes: number) => (bytes / 1e6).toFixed(2);
    const held = await retainedBytes(RunTracker, build);
    console.log(`tracker holds: heap ${mb(held.heapBytes)} MB + array buffers ${mb(held.arrayBufferBytes)} MB`);
    if (base !== undefined && baseDecode !== undefined) {
      const baseHeld = await retainedBytes(base, () => build(baseDecode));
      console.log(`base holds:    heap ${mb(baseHeld.heapBytes)} MB + array buffers ${mb(baseHeld.arrayBufferBytes)} MB`);
    }
  }
}
