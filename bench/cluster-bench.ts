// Cluster mode against single-node mode, in one run on this machine: ingest and query throughput of
// 1, 2 and 3 replicas over one nats-server (JetStream, R1) and a shared object store directory, and
// the cost of the JetStream hop as the ratio to a single-node server fed the same pushes. Every
// process shares the same cores, so ingest is also reported per CPU-second of all server processes
// (rankscope and nats-server). Then JetStream publish latency and throughput straight from the
// client at our batch sizes, under the default max_payload (1 MB) and 8 MB. Metrics the same way:
// remote_write of GPU series (--metric-series series, one sample per --metric-steps scrape steps, in
// requests of 2000 samples as Prometheus sends them) and PromQL latency over heads and blocks.
//   node_modules/.bin/node bench/cluster-bench.ts [--size-mb 32] [--pushers 4] [--batch-kb 512] [--queries 20] [--metric-series 4000] [--metric-steps 30]
// Figures: docs/cluster.md.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { encodePushBody } from '../src/agent/push-encoder.ts';
import { encodeWriteRequestV1, snappyCompress } from '../src/push/remote-write-encode.ts';
import type { PushStream } from '../src/push/types.ts';
import { JetStreamWal } from '../src/cluster/jetstream-wal.ts';
import { startNats } from '../test/cluster/nats-fixture.ts';
import { median, readProcessUsage } from './process-usage.ts';
import { startServerChild, type ServerChild } from './server-child.ts';
import { generateTrainingLog, syntheticLabels } from './synthetic-log.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1_000_000;
const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '32' },
    pushers: { type: 'string', default: '4' },
    'batch-kb': { type: 'string', default: '512' },
    queries: { type: 'string', default: '20' },
    'metric-series': { type: 'string', default: '4000' },
    'metric-steps': { type: 'string', default: '30' },
  },
});
const sizeBytes = Number(values['size-mb']) * MB;
const pushers = Number(values.pushers);
const batchBytes = Number(values['batch-kb']) * 1000;
const queryRounds = Number(values.queries);
const metricSeries = Number(values['metric-series']);
const metricSteps = Number(values['metric-steps']);
/** Prometheus' remote_write max_samples_per_send. */
const SAMPLES_PER_WRITE = 2000;
const SCRAPE_STEP_MS = 15_000;

interface MetricDataset {
  bodies: Buffer[];
  samples: number;
  startMs: number;
  endMs: number;
}

/** GPU utilisation of metricSeries GPUs (8 per node) over metricSteps scrapes, as remote_write requests. */
function buildMetricDataset(): MetricDataset {
  const startMs = Math.floor(Date.now() / SCRAPE_STEP_MS) * SCRAPE_STEP_MS - metricSteps * SCRAPE_STEP_MS;
  const bodies: Buffer[] = [];
  for (let step = 0; step < metricSteps; step++) {
    for (let from = 0; from < metricSeries; from += SAMPLES_PER_WRITE) {
      const series = [];
      for (let s = from; s < Math.min(metricSeries, from + SAMPLES_PER_WRITE); s++) {
        series.push({ labels: { __name__: 'bench_gpu_util', job: 'dcgm', node: `node-${Math.floor(s / 8)}`, gpu: String(s % 8) }, samples: [{ timestampMs: startMs + step * SCRAPE_STEP_MS, value: (s * 7 + step * 13) % 100 }] });
      }
      bodies.push(snappyCompress(encodeWriteRequestV1(series)));
    }
  }
  return { bodies, samples: metricSeries * metricSteps, startMs, endMs: startMs + (metricSteps - 1) * SCRAPE_STEP_MS };
}

async function remoteWriteAll(urls: string[], bodies: Buffer[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: pushers }, async (_, pusher) => {
      for (let index = next++; index < bodies.length; index = next++) {
        const url = urls[(index + pusher) % urls.length]!;
        const response = await fetch(`${url}/api/v1/write`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' }, body: bodies[index]! });
        if (response.status !== 204) throw new Error(`remote_write to ${url}: ${response.status} ${await response.text()}`);
      }
    }),
  );
}

async function promql(url: string, path: string, params: Record<string, string>): Promise<unknown> {
  const response = await fetch(`${url}${path}?${new URLSearchParams(params)}`);
  const body = (await response.json()) as { status: string; data: { result: unknown } };
  if (body.status !== 'success') throw new Error(`PromQL on ${url}: ${JSON.stringify(body).slice(0, 300)}`);
  return body.data.result;
}

async function countSamples(url: string, metrics: MetricDataset): Promise<number> {
  const result = (await promql(url, '/api/v1/query', { query: 'sum(count_over_time(bench_gpu_util[1h]))', time: String(metrics.endMs / 1000) })) as Array<{ value: [number, string] }>;
  return Number(result[0]?.value[1] ?? 0);
}

/** Median ms of a range query (per-node average over the whole window) and an instant top-5, round-robin over the replicas. */
async function promqlLatencies(urls: string[], metrics: MetricDataset): Promise<{ rangeMs: number; instantMs: number }> {
  const range: number[] = [];
  const instant: number[] = [];
  for (let round = 0; round < queryRounds; round++) {
    const url = urls[round % urls.length]!;
    let started = performance.now();
    await promql(url, '/api/v1/query_range', { query: 'avg by (node) (bench_gpu_util)', start: String(metrics.startMs / 1000), end: String(metrics.endMs / 1000), step: '15' });
    range.push(performance.now() - started);
    started = performance.now();
    await promql(url, '/api/v1/query', { query: 'topk(5, max_over_time(bench_gpu_util[10m]))', time: String(metrics.endMs / 1000) });
    instant.push(performance.now() - started);
  }
  return { rangeMs: median(range), instantMs: median(instant) };
}

interface Dataset {
  bodies: Buffer[];
  rawBytes: number;
  entries: number;
  startNs: bigint;
  endNs: bigint;
}

function buildDataset(): Dataset {
  const startNs = (BigInt(Date.now()) - 3_600_000n) * 1_000_000n;
  const bodies: Buffer[] = [];
  let streams = new Map<string, PushStream>();
  let batch = 0;
  let rawBytes = 0;
  let entries = 0;
  let endNs = startNs;
  for (const entry of generateTrainingLog({ startTimeNs: startNs, hosts: 2, ranksPerHost: 4, stepMs: 5 })) {
    const labels = syntheticLabels(entry);
    const key = JSON.stringify(labels);
    let stream = streams.get(key);
    if (stream === undefined) streams.set(key, (stream = { labels, entries: [] }));
    stream.entries.push({ timestampNs: entry.timestampNs, line: entry.line });
    batch += entry.line.length;
    rawBytes += entry.line.length;
    entries++;
    endNs = entry.timestampNs;
    if (batch >= batchBytes) {
      bodies.push(encodePushBody([...streams.values()]));
      streams = new Map();
      batch = 0;
    }
    if (rawBytes >= sizeBytes) break;
  }
  if (streams.size > 0) bodies.push(encodePushBody([...streams.values()]));
  return { bodies, rawBytes, entries, startNs, endNs: endNs + 1n };
}

async function pushAll(urls: string[], bodies: Buffer[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: pushers }, async (_, pusher) => {
      for (let index = next++; index < bodies.length; index = next++) {
        const url = urls[(index + pusher) % urls.length]!;
        const response = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: bodies[index]! });
        if (response.status !== 204) throw new Error(`push to ${url}: ${response.status} ${await response.text()}`);
      }
    }),
  );
}

async function countEntries(url: string, data: Dataset): Promise<number> {
  const params = new URLSearchParams({ query: 'sum(count_over_time({job="train"}[2h]))', time: String(data.endNs + 1_000_000_000n) });
  const response = await fetch(`${url}/loki/api/v1/query?${params}`);
  if (response.status !== 200) throw new Error(`count on ${url}: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
  return Number(body.data.result[0]?.value[1] ?? 0);
}

/** Median ms of a needle query and a metric query, asked round-robin over the replicas. */
async function queryLatencies(urls: string[], data: Dataset): Promise<{ needleMs: number; metricMs: number }> {
  const needle: number[] = [];
  const metric: number[] = [];
  for (let round = 0; round < queryRounds; round++) {
    const url = urls[round % urls.length]!;
    let started = performance.now();
    const search = new URLSearchParams({ query: '{job="train"} |= "NCCL WARN"', limit: '100', start: String(data.startNs), end: String(data.endNs) });
    let response = await fetch(`${url}/loki/api/v1/query_range?${search}`);
    await response.arrayBuffer();
    needle.push(performance.now() - started);
    started = performance.now();
    response = await fetch(`${url}/loki/api/v1/query?${new URLSearchParams({ query: 'sum by (rank) (count_over_time({job="train"}[2h]))', time: String(data.endNs) })}`);
    await response.arrayBuffer();
    metric.push(performance.now() - started);
  }
  return { needleMs: median(needle), metricMs: median(metric) };
}

interface ModeResult {
  mode: string;
  ingestSeconds: number;
  visibleSeconds: number;
  cpuSeconds: number;
  needleMs: number;
  metricMs: number;
  /** The same queries after POST /flush: the data read from parts in the object store. */
  partsNeedleMs: number;
  partsMetricMs: number;
  metricIngestSeconds: number;
  metricCpuSeconds: number;
  metricVisibleSeconds: number;
  rangeMs: number;
  instantMs: number;
  blocksRangeMs: number;
  blocksInstantMs: number;
}

const PARTITIONS = 6;

/** Waits until every partition has an owner and every replica owns some, so ingest does not race the start-up hand-overs. */
async function waitForBalance(natsUrls: string[], name: string, replicaCount: number): Promise<void> {
  const connection = await connect({ servers: natsUrls });
  try {
    const kv = await new Kvm(connection).open(`${name}-leases`);
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      const holders = await Promise.all(Array.from({ length: PARTITIONS }, async (_, p) => (await kv.get(`partition.${p}`))?.string() ?? ''));
      const distinct = new Set(holders.filter((holder) => holder !== ''));
      if (holders.every((holder) => holder !== '') && distinct.size === replicaCount) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${name}: partitions not spread over ${replicaCount} replicas`);
  } finally {
    await connection.close();
  }
}

async function runMode(mode: string, replicaCount: number, data: Dataset, metrics: MetricDataset, natsUrls: string[] | undefined, natsPid: number | undefined): Promise<ModeResult> {
  const dir = mkdtempSync(join(tmpdir(), `rankscope-cluster-bench-${replicaCount}-`));
  const servers: ServerChild[] = [];
  try {
    for (let i = 0; i < replicaCount; i++) {
      const config = join(dir, `replica-${i}.yaml`);
      const lines = ['ui: { enabled: false }', 'training: { enabled: false }', 'ruler: { enabled: false }', 'pushgateway: { enabled: false }', 'limits: { ingestion_rate_mb: 10000, ingestion_burst_size_mb: 10000 }'];
      if (natsUrls !== undefined) {
        lines.push('cluster:', '  enabled: true', `  nats_urls: ${JSON.stringify(natsUrls)}`, `  name: bench${replicaCount}`, `  replica_id: replica-${i}`, `  partitions: ${PARTITIONS}`, `  shared_directory: ${JSON.stringify(join(dir, 'shared'))}`);
      }
      writeFileSync(config, lines.join('\n') + '\n');
      servers.push(await startServerChild(repoRoot, join(dir, `replica-${i}`), config));
    }
    const urls = servers.map((server) => server.url);
    if (natsUrls !== undefined) await waitForBalance(natsUrls, `bench${replicaCount}`, replicaCount);
    const pids = [...servers.map((server) => server.pid), ...(natsPid === undefined ? [] : [natsPid])];
    const cpu = (): number => pids.reduce((sum, pid) => sum + (readProcessUsage(pid)?.cpuSeconds ?? 0), 0);
    const cpuBefore = cpu();
    const started = performance.now();
    await pushAll(urls, data.bodies);
    const ingestSeconds = (performance.now() - started) / 1000;
    const cpuSeconds = cpu() - cpuBefore;
    // Cluster mode acknowledges at the WAL; count until every replica's answer holds every entry.
    for (;;) {
      const counts = await Promise.all(urls.map((url) => countEntries(url, data).catch(() => 0)));
      if (counts.every((count) => count === data.entries)) break;
      if (performance.now() - started > 300_000) throw new Error(`${mode}: entries visible ${counts.join('/')} of ${data.entries}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const visibleSeconds = (performance.now() - started) / 1000;
    console.error(`${mode}: ingest ${ingestSeconds.toFixed(1)} s, all visible after ${visibleSeconds.toFixed(1)} s; querying`);
    const { needleMs, metricMs } = await queryLatencies(urls, data);
    await Promise.all(urls.map(async (url) => (await fetch(`${url}/flush`, { method: 'POST' })).arrayBuffer()));
    const parts = await queryLatencies(urls, data);

    const metricCpuBefore = cpu();
    const metricStarted = performance.now();
    await remoteWriteAll(urls, metrics.bodies);
    const metricIngestSeconds = (performance.now() - metricStarted) / 1000;
    const metricCpuSeconds = cpu() - metricCpuBefore;
    for (;;) {
      const counts = await Promise.all(urls.map((url) => countSamples(url, metrics).catch(() => 0)));
      if (counts.every((count) => count === metrics.samples)) break;
      if (performance.now() - metricStarted > 300_000) throw new Error(`${mode}: samples visible ${counts.join('/')} of ${metrics.samples}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const metricVisibleSeconds = (performance.now() - metricStarted) / 1000;
    console.error(`${mode}: remote_write ${metricIngestSeconds.toFixed(1)} s, all visible after ${metricVisibleSeconds.toFixed(1)} s; querying`);
    const heads = await promqlLatencies(urls, metrics);
    // Single node: flush every server; cluster: one POST /flush commits every partition.
    await Promise.all((natsUrls === undefined ? urls : urls.slice(0, 1)).map(async (url) => (await fetch(`${url}/flush`, { method: 'POST' })).arrayBuffer()));
    const blocks = await promqlLatencies(urls, metrics);
    return {
      mode, ingestSeconds, visibleSeconds, cpuSeconds, needleMs, metricMs, partsNeedleMs: parts.needleMs, partsMetricMs: parts.metricMs,
      metricIngestSeconds, metricCpuSeconds, metricVisibleSeconds, rangeMs: heads.rangeMs, instantMs: heads.instantMs, blocksRangeMs: blocks.rangeMs, blocksInstantMs: blocks.instantMs,
    };
  } finally {
    for (const server of servers) await server.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function publishFigures(): Promise<string[]> {
  const rows: string[] = [];
  for (const maxPayloadBytes of [1024 * 1024, 8 * 1024 * 1024]) {
    const dir = mkdtempSync(join(tmpdir(), 'rankscope-cluster-bench-nats-'));
    const nats = await startNats(dir, 1, maxPayloadBytes);
    const connection = await connect({ servers: nats.urls });
    try {
      const wal = await JetStreamWal.open(connection, { streamName: 'bench-publish', subjectPrefix: 'bench.publish', replicas: 1, maxAgeMs: 600_000, appendTimeoutMs: 30_000 });
      for (const sizeBytes of [16 * 1024, 256 * 1024, 1000 * 1024, 4 * 1024 * 1024]) {
        if (sizeBytes > wal.maxPayloadBytes) {
          rows.push(`| ${maxPayloadBytes / 1024 / 1024} MB | ${sizeBytes / 1024} KB | refused (above max_payload) | | |`);
          continue;
        }
        const payload = Buffer.alloc(sizeBytes, 7);
        const latencies: number[] = [];
        let id = 0;
        for (let i = 0; i < 50; i++) {
          const started = performance.now();
          await wal.append(i % 6, `${maxPayloadBytes}-${sizeBytes}-${id++}`, payload);
          latencies.push(performance.now() - started);
        }
        latencies.sort((a, b) => a - b);
        const count = Math.max(16, Math.floor((64 * MB) / sizeBytes));
        const started = performance.now();
        let issued = 0;
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (issued < count) {
              issued++;
              await wal.append(issued % 6, `${maxPayloadBytes}-${sizeBytes}-${id++}`, payload);
            }
          }),
        );
        const seconds = (performance.now() - started) / 1000;
        rows.push(`| ${maxPayloadBytes / 1024 / 1024} MB | ${sizeBytes / 1024} KB | ${median(latencies).toFixed(2)} ms (p90 ${latencies[Math.floor(latencies.length * 0.9)]!.toFixed(2)}) | ${((count * sizeBytes) / MB / seconds).toFixed(1)} MB/s | ${(count / seconds).toFixed(0)}/s |`);
      }
    } finally {
      await connection.close();
      await nats.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

const data = buildDataset();
const metrics = buildMetricDataset();
console.log(`dataset: ${(data.rawBytes / MB).toFixed(1)} MB raw, ${data.entries} entries, ${data.bodies.length} pushes of ~${batchBytes / 1000} KB raw, ${pushers} pushers`);
console.log(`metrics: ${metricSeries} series x ${metricSteps} steps = ${metrics.samples} samples in ${metrics.bodies.length} remote_write requests of up to ${SAMPLES_PER_WRITE} samples`);
const results: ModeResult[] = [await runMode('single node', 1, data, metrics, undefined, undefined)];
const natsDir = mkdtempSync(join(tmpdir(), 'rankscope-cluster-bench-js-'));
const nats = await startNats(natsDir, 1);
try {
  for (const replicas of [1, 2, 3]) results.push(await runMode(`cluster, ${replicas} replica${replicas > 1 ? 's' : ''}`, replicas, data, metrics, nats.urls, nats.nodes[0]!.child.pid));
} finally {
  await nats.stop();
  rmSync(natsDir, { recursive: true, force: true });
}
const reference = results[0]!;
const rawMb = data.rawBytes / MB;
console.log('\n| mode | ingest MB/s (ack) | ratio | MB per CPU-second | ratio | all visible after | needle query (heads / parts) | metric query (heads / parts) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const result of results) {
  console.log(
    `| ${result.mode} | ${(rawMb / result.ingestSeconds).toFixed(1)} | ${(reference.ingestSeconds / result.ingestSeconds).toFixed(2)}x | ${(rawMb / result.cpuSeconds).toFixed(1)} | ${(reference.cpuSeconds / result.cpuSeconds).toFixed(2)}x | ${result.visibleSeconds.toFixed(1)} s | ${result.needleMs.toFixed(0)} / ${result.partsNeedleMs.toFixed(0)} ms | ${result.metricMs.toFixed(0)} / ${result.partsMetricMs.toFixed(0)} ms |`,
  );
}
console.log('\n| mode | remote_write samples/s (ack) | ratio | samples per CPU-second | ratio | all visible after | range query (heads / blocks) | instant query (heads / blocks) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const result of results) {
  console.log(
    `| ${result.mode} | ${(metrics.samples / result.metricIngestSeconds).toFixed(0)} | ${(reference.metricIngestSeconds / result.metricIngestSeconds).toFixed(2)}x | ${(metrics.samples / result.metricCpuSeconds).toFixed(0)} | ${(reference.metricCpuSeconds / result.metricCpuSeconds).toFixed(2)}x | ${result.metricVisibleSeconds.toFixed(1)} s | ${result.rangeMs.toFixed(0)} / ${result.blocksRangeMs.toFixed(0)} ms | ${result.instantMs.toFixed(0)} / ${result.blocksInstantMs.toFixed(0)} ms |`,
  );
}
console.log('\n| max_payload | batch | publish latency (sequential, median) | throughput (8 in flight) | batches/s |');
console.log('|---|---|---|---|---|');
for (const row of await publishFigures()) console.log(row);
