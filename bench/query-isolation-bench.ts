// Queries must not starve ingest or health checks. A real server (the CLI, as a child process) is
// loaded with --size-mb of training-like lines, then for --seconds a pusher sends small batches back
// to back while /ready is probed every 50 ms: once alone ("idle"), once while 2 clients loop a heavy
// metric query ("loaded"). Prints push and /ready p50/p99 and lines/s for each phase. With
// --before-repo (default /work/main when present) the same run measures that checkout first, as the
// reference. Targets (issue 10): loaded push p99 ≤ 250 ms, loaded /ready p99 ≤ 50 ms.
//
//   node bench/query-isolation-bench.ts [--size-mb 200] [--seconds 15] [--before-repo DIR|none]

import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodePushRequest } from '../src/push/protobuf.ts';
import type { PushStream } from '../src/push/types.ts';
import { startServerChild, type ServerChild } from './server-child.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const RANKS = 32;
const LOAD_BATCH_LINES = 8000;
const LIVE_BATCH_LINES = 1000;
const READY_INTERVAL_MS = 50;
const HEAVY_QUERIES = [
  'sum by (rank) (count_over_time({job="train"} |= "loss" [1m]))',
  'sum by (rank) (rate({job="train"} |~ "step=[0-9]+0 " [5m]))',
];
/** Keys every version of the config schema knows: rate limits off, room for heavy queries. */
const CONFIG_YAML = `limits:
  ingestion_rate_mb: 100000
  ingestion_burst_size_mb: 100000
  query_timeout: 10m
  max_query_series: 10000
`;

interface PhaseResult {
  pushMs: number[];
  readyMs: number[];
  lines: number;
  seconds: number;
  queries: number;
  queryErrors: Map<number, number>;
}

function line(rank: number, step: number): string {
  return `2026-01-01 00:00:00,000 - INFO - rank ${rank} step=${step} loss=${(2 / (1 + step / 1000)).toFixed(4)} lr=3.0e-4 grad_norm=${(rank / 7 + 0.5).toFixed(3)} tokens/s=51234 elapsed=${step}s`;
}

function batch(lines: number, fromStep: number, startNs: bigint, stepNs: bigint): Buffer {
  const perRank = Math.ceil(lines / RANKS);
  const streams: PushStream[] = [];
  for (let rank = 0; rank < RANKS; rank++) {
    const entries = Array.from({ length: perRank }, (_, i) => ({ timestampNs: startNs + BigInt(i) * stepNs, line: line(rank, fromStep + i) }));
    streams.push({ labels: { job: 'train', rank: String(rank), node: `node-${rank >> 3}` }, entries });
  }
  return encodePushRequest(streams);
}

async function push(url: string, body: Buffer): Promise<void> {
  const response = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
  const text = await response.text();
  if (response.status !== 204) throw new Error(`push answered ${response.status}: ${text.slice(0, 200)}`);
}

async function load(url: string, sizeBytes: number): Promise<number> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const bytesPerBatch = LOAD_BATCH_LINES * line(0, 100000).length;
  const batches = Math.max(1, Math.ceil(sizeBytes / bytesPerBatch));
  // Spread over the last 50 minutes, oldest first, as a running job's logs would be.
  const spanNs = 50n * 60_000_000_000n;
  const perRank = BigInt(Math.ceil(LOAD_BATCH_LINES / RANKS));
  const stepNs = spanNs / (BigInt(batches) * perRank);
  let next = 0;
  const worker = async () => {
    while (next < batches) {
      const index = next++;
      const startNs = nowNs - spanNs + BigInt(index) * perRank * stepNs;
      await push(url, batch(LOAD_BATCH_LINES, index * Number(perRank), startNs, stepNs));
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return batches * LOAD_BATCH_LINES;
}

async function phase(url: string, seconds: number, queryClients: number): Promise<PhaseResult> {
  const result: PhaseResult = { pushMs: [], readyMs: [], lines: 0, seconds, queries: 0, queryErrors: new Map() };
  const endMs = Date.now() + seconds * 1000;
  const pusher = async () => {
    let step = 1_000_000;
    while (Date.now() < endMs) {
      const body = batch(LIVE_BATCH_LINES, step, BigInt(Date.now()) * 1_000_000n, 1000n);
      step += LIVE_BATCH_LINES;
      const startedMs = performance.now();
      await push(url, body);
      result.pushMs.push(performance.now() - startedMs);
      result.lines += LIVE_BATCH_LINES;
    }
  };
  const prober = async () => {
    while (Date.now() < endMs) {
      const startedMs = performance.now();
      const response = await fetch(`${url}/ready`);
      await response.arrayBuffer();
      result.readyMs.push(performance.now() - startedMs);
      await new Promise((resolve) => setTimeout(resolve, READY_INTERVAL_MS));
    }
  };
  const querier = async (client: number) => {
    let i = client;
    while (Date.now() < endMs) {
      const nowS = Math.floor(Date.now() / 1000);
      const params = new URLSearchParams({ query: HEAVY_QUERIES[i++ % HEAVY_QUERIES.length]!, start: String(nowS - 3600), end: String(nowS), step: '60' });
      const response = await fetch(`${url}/loki/api/v1/query_range?${params}`);
      await response.arrayBuffer();
      if (response.status === 200) result.queries++;
      else result.queryErrors.set(response.status, (result.queryErrors.get(response.status) ?? 0) + 1);
      // A client told to back off (429) waits a little, as Grafana's retries would.
      if (response.status === 429) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  await Promise.all([pusher(), prober(), ...Array.from({ length: queryClients }, (_, client) => querier(client))]);
  return result;
}

function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

async function measure(label: string, repo: string, sizeBytes: number, seconds: number): Promise<Array<[string, PhaseResult]>> {
  const dir = await mkdtemp(join(tmpdir(), 'rankscope-isolation-'));
  const configPath = join(dir, 'server.yaml');
  await writeFile(configPath, CONFIG_YAML);
  let server: ServerChild | undefined;
  try {
    server = await startServerChild(repo, join(dir, 'data'), configPath);
    const log = (message: string) => console.error(`[${label}] ${message}`);
    log(`loading ${(sizeBytes / 1e6).toFixed(0)} MB…`);
    const lines = await load(server.url, sizeBytes);
    log(`loaded ${lines} lines; idle phase ${seconds}s…`);
    const idle = await phase(server.url, seconds, 0);
    log(`loaded phase ${seconds}s with 2 query clients…`);
    const loaded = await phase(server.url, seconds, 2);
    return [
      [`${label} idle`, idle],
      [`${label} loaded`, loaded],
    ];
  } finally {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'size-mb': { type: 'string', default: '200' }, seconds: { type: 'string', default: '15' }, 'before-repo': { type: 'string' } },
  });
  const sizeBytes = Number(values['size-mb']) * 1e6;
  const seconds = Number(values.seconds);
  const beforeRepo = values['before-repo'] ?? (existsSync('/work/main/bin/rankscope.js') ? '/work/main' : 'none');
  const rows: Array<[string, PhaseResult]> = [];
  if (beforeRepo !== 'none' && beforeRepo !== repoRoot) rows.push(...(await measure(`before (${beforeRepo})`, beforeRepo, sizeBytes, seconds)));
  rows.push(...(await measure('this tree', repoRoot, sizeBytes, seconds)));
  const fixed = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(1));
  console.log('\nphase                          push p50  push p99  ready p50  ready p99   lines/s  queries ok  query errors');
  for (const [name, result] of rows) {
    const errors = [...result.queryErrors].map(([status, count]) => `${status}×${count}`).join(' ') || '-';
    console.log(
      `${name.padEnd(30)} ${fixed(percentile(result.pushMs, 0.5)).padStart(8)}  ${fixed(percentile(result.pushMs, 0.99)).padStart(8)}  ${fixed(percentile(result.readyMs, 0.5)).padStart(9)}  ${fixed(percentile(result.readyMs, 0.99)).padStart(9)}  ${String(Math.round(result.lines / result.seconds)).padStart(8)}  ${String(result.queries).padStart(10)}  ${errors}`,
    );
  }
  console.log('(milliseconds; targets for "loaded": push p99 ≤ 250, ready p99 ≤ 50)');
  // Other work on the machine moves every figure; compare rows of the same run.
  console.log(`machine load average at the end: ${loadavg().map((load) => load.toFixed(1)).join(' ')}`);
}

await main();
