// Metrics ingest benchmark: a DCGM- and node_exporter-like workload (fixed seed) sent by remote write
// 1.0 to rankscope and to Debian's Prometheus (--web.enable-remote-write-receiver) in the same run,
// each request to both at once. Measures, per server: samples ingested per server CPU-second, bytes
// per sample in blocks after compaction, and RSS per active series; prints rankscope/Prometheus ratios.
//
//   node bench/tsdb-bench.ts [--series 100000] [--hours 4] [--seed 42] [--batch 2000] [--concurrency 4]
//
// Prometheus cuts its first 2 h block once its head spans 3 h, so --hours must be ≥ 3.5 for its
// bytes-per-sample figure (that of its compacted blocks); with fewer hours only the totals are shown.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../src/push/remote-write-encode.ts';
import { readProcessUsage, type ProcessUsage } from './process-usage.ts';
import { startServerChild } from './server-child.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const INTERVAL_MS = 15_000;
const BLOCK_RANGE_MS = 2 * 3_600_000;
const PROMETHEUS = '/usr/bin/prometheus';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '100000' },
    hours: { type: 'string', default: '4' },
    seed: { type: 'string', default: '42' },
    batch: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '4' },
  },
});
const targetSeries = Number(args.series);
const hours = Number(args.hours);
const batchSize = Number(args.batch);
const concurrency = Number(args.concurrency);

/** mulberry32: a small seeded PRNG, so every run sends the same values. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = 'counter' | 'gauge_int' | 'gauge_float' | 'percent';
interface WorkloadSeries {
  labels: Record<string, string>;
  kind: Kind;
  value: number;
}

const DCGM_METRICS: Array<[string, Kind]> = [
  ['DCGM_FI_DEV_GPU_UTIL', 'percent'], ['DCGM_FI_DEV_MEM_COPY_UTIL', 'percent'], ['DCGM_FI_DEV_GPU_TEMP', 'gauge_int'],
  ['DCGM_FI_DEV_MEMORY_TEMP', 'gauge_int'], ['DCGM_FI_DEV_POWER_USAGE', 'gauge_float'], ['DCGM_FI_DEV_SM_CLOCK', 'gauge_int'],
  ['DCGM_FI_DEV_MEM_CLOCK', 'gauge_int'], ['DCGM_FI_DEV_FB_USED', 'gauge_int'], ['DCGM_FI_DEV_FB_FREE', 'gauge_int'],
  ['DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', 'counter'], ['DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 'counter'], ['DCGM_FI_DEV_XID_ERRORS', 'gauge_int'],
  ['DCGM_FI_PROF_GR_ENGINE_ACTIVE', 'gauge_float'], ['DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', 'gauge_float'], ['DCGM_FI_PROF_DRAM_ACTIVE', 'gauge_float'],
  ['DCGM_FI_PROF_NVLINK_TX_BYTES', 'counter'], ['DCGM_FI_PROF_NVLINK_RX_BYTES', 'counter'], ['DCGM_FI_PROF_PCIE_TX_BYTES', 'counter'],
  ['DCGM_FI_PROF_PCIE_RX_BYTES', 'counter'], ['DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', 'counter'],
];
const CPU_MODES = ['idle', 'user', 'system', 'iowait', 'irq', 'softirq', 'nice', 'steal'];

/** One node: 8 GPUs × 20 DCGM fields, 48 CPUs × 8 modes, and ~100 other node_exporter series. */
function nodeSeries(node: number, random: () => number): WorkloadSeries[] {
  const hostname = `gpu-node-${String(node).padStart(4, '0')}`;
  const out: WorkloadSeries[] = [];
  for (let gpu = 0; gpu < 8; gpu++) {
    for (const [name, kind] of DCGM_METRICS) {
      out.push({ labels: { __name__: name, gpu: String(gpu), UUID: `GPU-${node.toString(16)}-${gpu}`, device: `nvidia${gpu}`, modelName: 'NVIDIA H100 80GB HBM3', Hostname: hostname, job: 'dcgm', instance: `${hostname}:9400` }, kind, value: kind === 'percent' ? Math.floor(random() * 100) : Math.floor(random() * 1000) });
    }
  }
  for (let cpu = 0; cpu < 48; cpu++) {
    for (const mode of CPU_MODES) out.push({ labels: { __name__: 'node_cpu_seconds_total', cpu: String(cpu), mode, job: 'node', instance: `${hostname}:9100` }, kind: 'counter', value: Math.floor(random() * 1e6) / 100 });
  }
  for (let i = 0; i < 100; i++) {
    const kind: Kind = i % 3 === 0 ? 'counter' : i % 3 === 1 ? 'gauge_int' : 'gauge_float';
    out.push({ labels: { __name__: `node_misc_metric_${i % 25}`, device: `dev${i >> 2}`, job: 'node', instance: `${hostname}:9100` }, kind, value: Math.floor(random() * 1e6) });
  }
  return out;
}

function step(series: WorkloadSeries, random: () => number): number {
  switch (series.kind) {
    case 'counter':
      // Counters move by a few units per scrape, in hundredths (node_cpu_seconds_total).
      series.value = Math.round((series.value + random() * 15) * 100) / 100;
      break;
    case 'gauge_int':
      if (random() < 0.3) series.value = Math.max(0, series.value + Math.floor(random() * 5) - 2);
      break;
    case 'gauge_float':
      series.value = Math.round(Math.max(0, series.value + (random() - 0.5) * 10) * 1000) / 1000;
      break;
    case 'percent':
      if (random() < 0.5) series.value = Math.min(100, Math.max(0, series.value + Math.floor(random() * 11) - 5));
      break;
  }
  return series.value;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function directoryBytes(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    total += entry.isDirectory() ? directoryBytes(full) : statSync(full).size;
  }
  return total;
}

/** Prometheus' persisted blocks: bytes and samples (from each block's meta.json). */
function prometheusBlocks(dataDir: string): { blocks: number; bytes: number; samples: number } {
  let blocks = 0;
  let bytes = 0;
  let samples = 0;
  for (const entry of readdirSync(dataDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !/^[0-9A-Z]{26}$/.test(entry.name)) continue;
    try {
      const meta = JSON.parse(readFileSync(join(dataDir, entry.name, 'meta.json'), 'utf8')) as { stats: { numSamples: number } };
      blocks++;
      samples += meta.stats.numSamples;
      bytes += directoryBytes(join(dataDir, entry.name));
    } catch {
      // A block still being written (no meta.json yet).
    }
  }
  return { blocks, bytes, samples };
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean> | boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  // Bounded by the deadline.
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  console.error(`(gave up waiting for ${what})`);
  return false;
}

async function main(): Promise<void> {
  const random = prng(Number(args.seed));
  const workload: WorkloadSeries[] = [];
  for (let node = 0; workload.length < targetSeries; node++) workload.push(...nodeSeries(node, random));
  workload.length = targetSeries;
  const steps = Math.floor((hours * 3_600_000) / INTERVAL_MS);
  const nowMs = Date.now();
  const startMs = Math.floor((nowMs - hours * 3_600_000) / BLOCK_RANGE_MS) * BLOCK_RANGE_MS;
  console.log(`workload: ${workload.length} series, ${steps} scrapes of ${INTERVAL_MS / 1000} s (${hours} h from ${new Date(startMs).toISOString()}), ${workload.length * steps} samples, seed ${args.seed}`);

  const work = mkdtempSync(join(tmpdir(), 'rankscope-tsdb-bench-'));
  const oursDir = join(work, 'rankscope');
  const promDir = join(work, 'prometheus');
  const configPath = join(work, 'rankscope.yaml');
  writeFileSync(configPath, 'ruler:\n  enabled: false\nui:\n  enabled: false\ntsdb:\n  maintenance_interval: 1s\n  retention_period: 0\n');
  writeFileSync(join(work, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
  const ours = await startServerChild(repoRoot, oursDir, configPath);
  const promPort = await freePort();
  const prometheus: ChildProcess = spawn(PROMETHEUS, [`--config.file=${join(work, 'prometheus.yml')}`, `--storage.tsdb.path=${promDir}`, `--web.listen-address=127.0.0.1:${promPort}`, '--web.enable-remote-write-receiver', '--storage.tsdb.retention.time=3650d'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let promLog = '';
  prometheus.stderr!.on('data', (chunk: Buffer) => (promLog = (promLog + chunk.toString()).slice(-5000)));
  const promUrl = `http://127.0.0.1:${promPort}`;
  try {
    await waitFor('Prometheus to start', 60_000, async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200);
    const promUsage = (): ProcessUsage => readProcessUsage(prometheus.pid!)!;
    const oursBefore = ours.usage();
    const promBefore = promUsage();
    const targets = [
      { name: 'rankscope', url: `${ours.url}/api/v1/write`, errors: 0, firstError: '' },
      { name: 'prometheus', url: `${promUrl}/api/v1/write`, errors: 0, firstError: '' },
    ];
    const wallStart = performance.now();
    let sent = 0;
    const inFlight = new Set<Promise<void>>();
    for (let s = 0; s < steps; s++) {
      const timestampMs = startMs + s * INTERVAL_MS;
      for (let from = 0; from < workload.length; from += batchSize) {
        const batch: RemoteWriteSeriesInput[] = [];
        for (let i = from; i < Math.min(from + batchSize, workload.length); i++) {
          const series = workload[i]!;
          batch.push({ labels: series.labels, samples: [{ timestampMs, value: step(series, random) }] });
        }
        const body = snappyCompress(encodeWriteRequestV1(batch));
        sent += batch.length;
        const job = Promise.all(
          targets.map(async (target) => {
            const response = await fetch(target.url, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' }, body });
            if (response.status >= 300) {
              target.errors++;
              target.firstError ||= `${response.status} ${(await response.text()).slice(0, 300)}`;
            } else await response.arrayBuffer();
          }),
        ).then(() => undefined);
        inFlight.add(job);
        void job.finally(() => inFlight.delete(job));
        if (inFlight.size >= concurrency) await Promise.race(inFlight);
      }
      // A scrape's requests complete before the next scrape's start, so each series stays in order
      // (Prometheus' own sender keeps a series on one shard for the same reason).
      await Promise.all(inFlight);
      if (s % 60 === 59) console.log(`  ${s + 1}/${steps} scrapes sent (${(sent / ((performance.now() - wallStart) / 1000) / 1e3).toFixed(0)}k samples/s to each)`);
    }
    await Promise.all(inFlight);
    const wallSeconds = (performance.now() - wallStart) / 1000;
    const oursAfter = ours.usage();
    const promAfter = promUsage();
    for (const target of targets) if (target.errors > 0) console.log(`${target.name}: ${target.errors} failed requests, first: ${target.firstError}`);

    // Blocks after compaction: ours on POST /flush then the maintenance pass; Prometheus on its own
    // schedule (its first block once the head spans 3 h).
    await fetch(`${ours.url}/flush`, { method: 'POST' });
    const blockCount = async (): Promise<number> => Number(/^rankscope_tsdb_blocks (\d+)/m.exec(await (await fetch(`${ours.url}/metrics`)).text())?.[1] ?? -1);
    let previous = -1;
    await waitFor('rankscope compaction', 120_000, async () => {
      const count = await blockCount();
      const stable = count === previous && count <= Math.ceil(hours / 2) + 1;
      previous = count;
      return stable;
    });
    if (hours >= 3.5) await waitFor('Prometheus to write its first block', 180_000, () => prometheusBlocks(promDir).blocks > 0);
    const oursObjects = directoryBytes(join(oursDir, 'objects', 'tsdb'));
    const oursWal = directoryBytes(join(oursDir, 'tsdb-wal'));
    const promBlocks = prometheusBlocks(promDir);
    const promTotal = directoryBytes(promDir);

    const samples = workload.length * steps;
    const oursCpu = oursAfter.cpuSeconds - oursBefore.cpuSeconds;
    const promCpu = promAfter.cpuSeconds - promBefore.cpuSeconds;
    const row = (label: string, oursValue: number, promValue: number, unit: string, digits = 2): void => {
      console.log(`${label.padEnd(40)} ${oursValue.toFixed(digits).padStart(12)} ${promValue.toFixed(digits).padStart(12)}  ${(oursValue / promValue).toFixed(2).padStart(6)}x  ${unit}`);
    };
    console.log(`\nsent ${samples} samples in ${wallSeconds.toFixed(0)} s wall (both servers at once, 2-core machine shared)`);
    console.log(`${''.padEnd(40)} ${'rankscope'.padStart(12)} ${'prometheus'.padStart(12)}  ratio`);
    row('ingest: samples per server CPU-second', samples / oursCpu, samples / promCpu, 'higher is better', 0);
    row('server CPU seconds', oursCpu, promCpu, '');
    row('RSS at end of ingest, MB', oursAfter.rssBytes / 1e6, promAfter.rssBytes / 1e6, '');
    row('RSS per active series, bytes', oursAfter.rssBytes / workload.length, promAfter.rssBytes / workload.length, 'lower is better', 0);
    row('RSS above idle per active series, bytes', (oursAfter.rssBytes - oursBefore.rssBytes) / workload.length, (promAfter.rssBytes - promBefore.rssBytes) / workload.length, 'lower is better', 0);
    if (promBlocks.samples > 0) row('bytes per sample in compacted blocks', oursObjects / samples, promBlocks.bytes / promBlocks.samples, `lower is better (Prometheus: its ${promBlocks.blocks} block(s), ${promBlocks.samples} samples)`, 3);
    else console.log(`${'bytes per sample in blocks (rankscope)'.padEnd(40)} ${(oursObjects / samples).toFixed(3).padStart(12)}  (Prometheus cut no block yet: it needs a head spanning 3 h)`);
    console.log(`${'rankscope WAL left after the flush, bytes'.padEnd(40)} ${String(oursWal).padStart(12)}`);
    row('bytes per sample, whole data dir', (oursObjects + oursWal) / samples, promTotal / samples, 'Prometheus keeps its head in WAL + chunks_head', 3);
    const results = { series: workload.length, steps, samples, seed: Number(args.seed), wallSeconds, ours: { cpuSeconds: oursCpu, rssBytes: oursAfter.rssBytes, idleRssBytes: oursBefore.rssBytes, blockBytes: oursObjects, walBytes: oursWal }, prometheus: { cpuSeconds: promCpu, rssBytes: promAfter.rssBytes, idleRssBytes: promBefore.rssBytes, blocks: promBlocks, totalBytes: promTotal }, errors: Object.fromEntries(targets.map((target) => [target.name, target.errors])) };
    writeFileSync(join(repoRoot, 'bench', 'out', 'tsdb-results.json'), JSON.stringify(results, null, 2));
  } finally {
    await ours.stop();
    prometheus.kill('SIGTERM');
    await new Promise((resolve) => prometheus.once('exit', resolve));
    if (promLog.includes('level=error')) console.error(promLog.split('\n').filter((line) => line.includes('level=error')).slice(-3).join('\n'));
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
