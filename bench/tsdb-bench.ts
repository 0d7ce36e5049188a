// Metrics benchmark: a DCGM- and node_exporter-like workload (bench/metrics-workload.ts, fixed seed)
// sent by remote write 1.0 to rankscope and to Debian's Prometheus (--web.enable-remote-write-receiver)
// in the same run, each request to both at once. Measures, per server: samples ingested per server
// CPU-second, RSS per active series at the end of ingest, and bytes per sample in blocks: ours after
// POST /flush and compaction, Prometheus' in its blocks plus a snapshot of its head
// (POST /api/v1/admin/tsdb/snapshot writes the head as a block, so no 3 h wait for its first cut).
// Prints rankscope/Prometheus ratios and, last, the figures as one JSON line (bench/run.ts reads it).
//
//   node bench/tsdb-bench.ts [--series 100000] [--hours 2] [--workload realistic|noisy] [--seed 42]
//                            [--batch 2000] [--concurrency 4] [--out bench/out]

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../src/push/remote-write-encode.ts';
import { readProcessUsage, type ProcessUsage } from './process-usage.ts';
import { startServerChild } from './server-child.ts';
import { seededRandom } from '../src/demo/torch-output.ts';
import { buildWorkload, type WorkloadModel } from './metrics-workload.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const INTERVAL_MS = 15_000;
const BLOCK_RANGE_MS = 2 * 3_600_000;
const PROMETHEUS = '/usr/bin/prometheus';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '100000' },
    hours: { type: 'string', default: '2' },
    workload: { type: 'string', default: 'realistic' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'out') },
    seed: { type: 'string', default: '42' },
    batch: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '4' },
  },
});
const targetSeries = Number(args.series);
const hours = Number(args.hours);
const batchSize = Number(args.batch);
const concurrency = Number(args.concurrency);
const model = args.workload as WorkloadModel;
if (model !== 'realistic' && model !== 'noisy') throw new Error(`--workload must be realistic or noisy, got ${JSON.stringify(args.workload)}`);
if (!(targetSeries > 0 && hours > 0 && batchSize > 0 && concurrency > 0)) throw new Error('--series, --hours, --batch and --concurrency must be positive numbers');

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
  const random = seededRandom(Number(args.seed));
  const workload = buildWorkload(targetSeries, model, random);
  const steps = Math.floor((hours * 3_600_000) / INTERVAL_MS);
  const nowMs = Date.now();
  const startMs = Math.floor((nowMs - hours * 3_600_000) / BLOCK_RANGE_MS) * BLOCK_RANGE_MS;
  console.log(`workload: ${workload.length} series, ${steps} scrapes of ${INTERVAL_MS / 1000} s (${hours} h from ${new Date(startMs).toISOString()}), ${workload.length * steps} samples, ${model} values, seed ${args.seed}`);

  const work = mkdtempSync(join(tmpdir(), 'rankscope-tsdb-bench-'));
  const oursDir = join(work, 'rankscope');
  const promDir = join(work, 'prometheus');
  const configPath = join(work, 'rankscope.yaml');
  writeFileSync(configPath, 'ruler:\n  enabled: false\nui:\n  enabled: false\ntsdb:\n  maintenance_interval: 1s\n  retention_period: 0\n');
  writeFileSync(join(work, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
  const ours = await startServerChild(repoRoot, oursDir, configPath);
  const promPort = await freePort();
  const prometheus: ChildProcess = spawn(PROMETHEUS, [`--config.file=${join(work, 'prometheus.yml')}`, `--storage.tsdb.path=${promDir}`, `--web.listen-address=127.0.0.1:${promPort}`, '--web.enable-remote-write-receiver', '--web.enable-admin-api', '--storage.tsdb.retention.time=3650d'], { stdio: ['ignore', 'ignore', 'pipe'] });
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
          batch.push({ labels: series.labels, samples: [{ timestampMs, value: series.step(random) }] });
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

    // Blocks: ours after POST /flush and the maintenance pass (compaction); Prometheus' persisted
    // blocks plus its head written as a block by a snapshot.
    await fetch(`${ours.url}/flush`, { method: 'POST' });
    const blockCount = async (): Promise<number> => Number(/^rankscope_tsdb_blocks (\d+)/m.exec(await (await fetch(`${ours.url}/metrics`)).text())?.[1] ?? -1);
    let previous = -1;
    await waitFor('rankscope compaction', 120_000, async () => {
      const count = await blockCount();
      const stable = count === previous && count <= Math.ceil(hours / 2) + 1;
      previous = count;
      return stable;
    });
    const snapshot = await fetch(`${promUrl}/api/v1/admin/tsdb/snapshot`, { method: 'POST' });
    const snapshotName = ((await snapshot.json()) as { data?: { name?: string } }).data?.name;
    if (snapshotName === undefined) throw new Error(`Prometheus snapshot failed: HTTP ${snapshot.status}`);
    const oursObjects = directoryBytes(join(oursDir, 'objects', 'tsdb'));
    const oursWal = directoryBytes(join(oursDir, 'tsdb-wal'));
    const promBlocks = prometheusBlocks(join(promDir, 'snapshots', snapshotName));

    const samples = workload.length * steps;
    const oursCpu = oursAfter.cpuSeconds - oursBefore.cpuSeconds;
    const promCpu = promAfter.cpuSeconds - promBefore.cpuSeconds;
    const row = (label: string, oursValue: number, promValue: number, unit: string, digits = 2): void => {
      console.log(`${label.padEnd(40)} ${oursValue.toFixed(digits).padStart(12)} ${promValue.toFixed(digits).padStart(12)}  ${(oursValue / promValue).toFixed(2).padStart(6)}x  ${unit}`);
    };
    const oursBytesPerSample = oursObjects / samples;
    const promBytesPerSample = promBlocks.bytes / promBlocks.samples;
    console.log(`\nsent ${samples} samples in ${wallSeconds.toFixed(0)} s wall (both servers at once, 2-core machine shared)`);
    console.log(`${''.padEnd(40)} ${'rankscope'.padStart(12)} ${'prometheus'.padStart(12)}  ratio`);
    row('ingest: samples per server CPU-second', samples / oursCpu, samples / promCpu, 'higher is better', 0);
    row('server CPU seconds', oursCpu, promCpu, '');
    row('RSS at end of ingest, MB', oursAfter.rssBytes / 1e6, promAfter.rssBytes / 1e6, '');
    row('RSS per active series, bytes', oursAfter.rssBytes / workload.length, promAfter.rssBytes / workload.length, 'lower is better', 0);
    row('RSS above idle per active series, bytes', (oursAfter.rssBytes - oursBefore.rssBytes) / workload.length, (promAfter.rssBytes - promBefore.rssBytes) / workload.length, 'lower is better', 0);
    row('bytes per sample in blocks', oursBytesPerSample, promBytesPerSample, `lower is better (Prometheus: ${promBlocks.blocks} block(s) incl. its head snapshot, ${promBlocks.samples} samples)`, 3);
    console.log(`${'rankscope WAL left after the flush, bytes'.padEnd(40)} ${String(oursWal).padStart(12)}`);
    const figures = {
      command: `node bench/tsdb-bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
      workload: model,
      series: workload.length,
      steps,
      samples,
      seed: Number(args.seed),
      wallSeconds,
      rssRatio: oursAfter.rssBytes / promAfter.rssBytes,
      oursRssPerSeriesBytes: oursAfter.rssBytes / workload.length,
      prometheusRssPerSeriesBytes: promAfter.rssBytes / workload.length,
      oursBytesPerSample,
      prometheusBytesPerSample: promBytesPerSample,
      ingestRatio: promCpu / oursCpu,
      oursSamplesPerCpuSecond: samples / oursCpu,
      prometheusSamplesPerCpuSecond: samples / promCpu,
      oursWalBytes: oursWal,
      prometheusBlocks: promBlocks.blocks,
      failedRequests: targets.reduce((sum, target) => sum + target.errors, 0),
    };
    mkdirSync(args.out, { recursive: true });
    writeFileSync(join(args.out, 'tsdb-results.json'), JSON.stringify(figures, null, 2));
    console.log(JSON.stringify(figures));
  } catch (error) {
    // Whatever failed, the server's own words say whether it was still there and why not.
    console.error(`rankscope server output (tail):\n${ours.output().slice(-3000)}`);
    throw error;
  } finally {
    await ours.stop();
    prometheus.kill('SIGTERM');
    await new Promise((resolve) => prometheus.once('exit', resolve));
    if (promLog.includes('level=error')) console.error(promLog.split('\n').filter((line) => line.includes('level=error')).slice(-3).join('\n'));
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
