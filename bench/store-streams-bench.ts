// Many streams (issue 10): memory per stream held by the store, the time a flush (what SIGTERM runs)
// takes with that many heads, and the WAL replay time of a store that was not closed.
//   node_modules/node/bin/node bench/store-streams-bench.ts [--streams 100000] [--replay-streams 600000]
//        [--before-repo DIR|none] [--rounds N]
// Each stream gets one push of one 60-byte line with Kubernetes-like labels, in batches of 1,000
// streams per append (a busy cluster's agents). Every figure is taken in a fresh child process
// (`--phase`), for this checkout and for `--before-repo` (default /work/main when it exists: the
// reference in the same run), alternating `--rounds` times (median reported):
// - memory: RSS and JS heap growth after a full GC, divided by the stream count; the reference is the
//   same process before the appends. Then flush + close, what a SIGTERM runs.
// - replay: a child fills a store and exits without closing (as after a kill -9); another opens it.
//   Wall and CPU seconds of the open, and the RSS growth per stream it leaves.
// - the before-repo's WAL is also replayed by this checkout: old WAL segments must still replay.
// CPU-seconds beside wall time: on the shared machine wall time mostly measures the neighbours.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { AppendStream, LogStore } from '../src/store/types.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '100000' },
    'replay-streams': { type: 'string', default: '600000' },
    'before-repo': { type: 'string' },
    rounds: { type: 'string', default: '1' },
    phase: { type: 'string' },
    repo: { type: 'string' },
    dir: { type: 'string' },
  },
});
const BATCH_STREAMS = 1000;
const thisRepo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function options(dataDir: string) {
  return { dataDir, walFsync: false, headCutBytes: 1 << 30, headCutAgeMs: 3_600_000, blockTargetBytes: 2 * 1024 * 1024, compactionIntervalMs: 0, retentionPeriodMs: 0 };
}

async function openStoreOf(repo: string, dataDir: string): Promise<LogStore> {
  const module = (await import(pathToFileURL(join(repo, 'src/store/store.ts')).href)) as { openStore: (options: object) => Promise<LogStore> };
  return module.openStore(options(dataDir));
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

function usage(): { rss: number; heap: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('phases run with node --expose-gc');
  gc();
  const memory = process.memoryUsage();
  return { rss: memory.rss, heap: memory.heapUsed };
}

function cpuSecondsSince(before: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(before);
  return (cpu.user + cpu.system) / 1e6;
}

/** One measurement in this (child) process; prints one JSON line. */
async function runPhase(phase: string, repo: string, dir: string, streams: number): Promise<void> {
  if (phase === 'memory') {
    const store = await openStoreOf(repo, dir);
    const before = usage();
    let started = performance.now();
    let cpu = process.cpuUsage();
    await fill(store, streams);
    const appendSeconds = (performance.now() - started) / 1000;
    const appendCpuSeconds = cpuSecondsSince(cpu);
    const after = usage();
    started = performance.now();
    cpu = process.cpuUsage();
    await store.close();
    const flushSeconds = (performance.now() - started) / 1000;
    const flushCpuSeconds = cpuSecondsSince(cpu);
    const perStream = (bytes: number) => Math.round(bytes / streams);
    console.log(JSON.stringify({ perStreamRssBytes: perStream(after.rss - before.rss), perStreamHeapBytes: perStream(after.heap - before.heap), appendSeconds, appendCpuSeconds, flushSeconds, flushCpuSeconds }));
  } else if (phase === 'write') {
    const store = await openStoreOf(repo, dir);
    await fill(store, streams);
    // Not closed: the WAL holds every entry, as after a kill -9.
    console.log(JSON.stringify({}));
  } else if (phase === 'replay') {
    // Load the store's code first, so the reference RSS holds it and the figure is the replay's.
    await import(pathToFileURL(join(repo, 'src/store/store.ts')).href);
    const before = usage();
    const started = performance.now();
    const cpu = process.cpuUsage();
    const store = await openStoreOf(repo, dir);
    const replaySeconds = (performance.now() - started) / 1000;
    const replayCpuSeconds = cpuSecondsSince(cpu);
    const after = usage();
    console.log(JSON.stringify({ replaySeconds, replayCpuSeconds, headStreams: store.metrics().headStreams, perStreamRssBytes: Math.round((after.rss - before.rss) / streams), perStreamHeapBytes: Math.round((after.heap - before.heap) / streams) }));
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
  process.exit(0);
}

function child(phase: string, repo: string, dir: string, streams: number): Promise<Record<string, number>> {
  return new Promise((resolvePhase, reject) => {
    // The V8 and glibc tuning `rankscope server` runs with (bin/rankscope.js), so the figures are the server's.
    const args = ['--expose-gc', '--max-semi-space-size=2', fileURLToPath(import.meta.url), '--phase', phase, '--repo', repo, '--dir', dir, '--streams', String(streams)];
    const process_ = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '4194304' } });
    let stdout = '';
    process_.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    process_.on('error', reject);
    process_.on('exit', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`${phase} in ${repo} exited ${code}: ${stdout}`));
      else resolvePhase(JSON.parse(last) as Record<string, number>);
    });
  });
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

if (values.phase !== undefined) {
  await runPhase(values.phase, values.repo ?? thisRepo, values.dir!, Number(values.streams));
} else {
  const streams = Number(values.streams);
  const replayStreams = Number(values['replay-streams']);
  const rounds = Number(values.rounds);
  const beforeOption = values['before-repo'] ?? (existsSync('/work/main/src/store/store.ts') ? '/work/main' : 'none');
  const beforeRepo = beforeOption === 'none' || resolve(beforeOption) === thisRepo ? undefined : resolve(beforeOption);
  const repos = beforeRepo === undefined ? [thisRepo] : [beforeRepo, thisRepo];
  const results = new Map<string, Array<Record<string, number>>>(repos.map((repo) => [repo, []]));
  const crossReplays: Array<Record<string, number>> = [];
  console.log(`load average at start: ${loadavg().map((load) => load.toFixed(1)).join(' ')}`);
  for (let round = 0; round < rounds; round++) {
    for (const repo of repos) {
      const dir = await mkdtemp(join(tmpdir(), 'rankscope-streams-'));
      try {
        const memory = await child('memory', repo, join(dir, 'a'), streams);
        await child('write', repo, join(dir, 'b'), replayStreams);
        const replay = await child('replay', repo, join(dir, 'b'), replayStreams);
        if (replay.headStreams !== replayStreams) throw new Error(`${repo}: replay found ${replay.headStreams} heads, wrote ${replayStreams}`);
        // The previous version's WAL, replayed by this checkout: old segments must still replay.
        if (repo === beforeRepo) {
          const cross = await child('replay', thisRepo, join(dir, 'b'), replayStreams);
          if (cross.headStreams !== replayStreams) throw new Error(`this checkout replayed ${cross.headStreams} heads of ${replayStreams} from ${repo}'s WAL`);
          crossReplays.push(cross);
        }
        results.get(repo)!.push({ ...memory, ...Object.fromEntries(Object.entries(replay).map(([key, value]) => [`replay.${key}`, value])) });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
  const figure = (repo: string, key: string): number => median(results.get(repo)!.map((row) => row[key]!));
  const rows: Array<[string, string, number]> = [
    [`memory per stream after ${streams} appends, RSS (target ≤ 1024 B)`, 'perStreamRssBytes', 0],
    ['  JS heap', 'perStreamHeapBytes', 0],
    ['append, wall s', 'appendSeconds', 1],
    ['append, CPU s', 'appendCpuSeconds', 1],
    [`flush + close with ${streams} heads, wall s (shutdown timeout 30 s)`, 'flushSeconds', 1],
    ['  CPU s', 'flushCpuSeconds', 1],
    [`WAL replay of ${replayStreams} streams, wall s (target ≤ 5 s)`, 'replay.replaySeconds', 1],
    ['  CPU s', 'replay.replayCpuSeconds', 1],
    ['  RSS per stream after replay, B', 'replay.perStreamRssBytes', 0],
  ];
  const thisFigures: Record<string, number> = {};
  for (const [label, key, digits] of rows) {
    const value = figure(thisRepo, key);
    thisFigures[key] = value;
    let line = `${label.padEnd(72)} ${value.toFixed(digits).padStart(8)}`;
    if (beforeRepo !== undefined) {
      const reference = figure(beforeRepo, key);
      line += `   before ${reference.toFixed(digits).padStart(8)}  (${(value / reference).toFixed(2)}×)`;
    }
    console.log(line);
  }
  if (crossReplays.length > 0) {
    const cpu = median(crossReplays.map((row) => row.replayCpuSeconds!));
    const wall = median(crossReplays.map((row) => row.replaySeconds!));
    console.log(`${`the before-repo's WAL replayed by this checkout: all ${replayStreams} streams, wall s / CPU s`.padEnd(72)} ${wall.toFixed(1).padStart(8)} / ${cpu.toFixed(1)}`);
  }
  console.log(`load average at end: ${loadavg().map((load) => load.toFixed(1)).join(' ')}`);
  console.log(JSON.stringify({ streams, replayStreams, rounds, beforeRepo: beforeRepo ?? null, figures: thisFigures, before: beforeRepo === undefined ? null : Object.fromEntries(rows.map(([, key]) => [key, figure(beforeRepo, key)])) }));
}
