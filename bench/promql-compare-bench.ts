// PromQL query latency against a real Prometheus in the same run: rankscope (a child process through
// the real CLI) and Debian's Prometheus 2.42 (--web.enable-remote-write-receiver) both receive the
// same fixed-seed workload by remote write (bench/promql-compare-workload.ts: node_exporter-, DCGM-
// and HTTP-server-like series every 15 s), then the issue's queries (rate, sum by, histogram_quantile,
// topk, plus an avg over 1 h and a group_left join) run against both, instant at the end of the data
// and as range queries over all of it at a 1 m step. Per query: --repeat rounds after --warmup untimed
// ones, each round running the query once on every server in turn (the order rotating), so that a
// neighbour's load on this shared machine falls on all of them alike; the median wall time, each
// server's CPU time per query (from /proc, summed over the rounds), rankscope/Prometheus ratios, and
// whether the answers agree (bench/promql-compare-peers.ts compareAnswers).
//
// --baseline DIR starts a second rankscope from another checkout (e.g. the previous commit's) beside
// them, given the same data and the same rounds: a before/after comparison from the same run.
//
//   node_modules/node/bin/node bench/promql-compare-bench.ts [--series 10000] [--hours 2] [--repeat 5] [--warmup 1] [--seed 7] [--baseline DIR] [--only substring]
//
// Prints a table, then the figures as one JSON line (bench/run.ts reads it).

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readProcessUsage } from './process-usage.ts';
import { answerSize, compareAnswers, remoteWriteToAll, runQuery, startPrometheusReceiver, type PrometheusPeer, type QuerySpec } from './promql-compare-peers.ts';
import { benchQueries } from './promql-compare-queries.ts';
import { compareWorkload } from './promql-compare-workload.ts';
import { startServerChild, type ServerChild } from './server-child.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '10000' },
    hours: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    seed: { type: 'string', default: '7' },
    baseline: { type: 'string' },
    /** Only the queries whose id contains this (for a focused rerun; the full table is what counts). */
    only: { type: 'string', default: '' },
  },
});
const seriesTarget = Number(args.series);
const hours = Number(args.hours);
const repeat = Math.max(1, Math.round(Number(args.repeat)));
/** Untimed runs first: a server runs for weeks, so its steady state is what counts, not V8's first optimisations. */
const warmup = Math.max(1, Math.round(Number(args.warmup)));
if (!(seriesTarget > 0) || !(hours > 0)) throw new Error('--series and --hours must be positive numbers');

export interface QueryFigures {
  id: string;
  query: string;
  oursMs: number;
  prometheusMs: number;
  /** rankscope's median wall time over Prometheus' (below 1: rankscope is faster). */
  latencyRatio: number;
  oursCpuMs: number;
  prometheusCpuMs: number;
  agree: boolean;
  difference?: string;
  series: number;
  samples: number;
  /** With --baseline: the other checkout's figures, and whether its answer agreed with Prometheus'. */
  baselineMs?: number;
  baselineCpuMs?: number;
  baselineAgree?: boolean;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * CPU time of all of a process's threads in ns, from /proc/<pid>/task/<tid>/schedstat (nanoseconds on
 * the CPU): /proc/<pid>/stat counts 10 ms ticks, too coarse for queries of a few milliseconds.
 * Falls back to the ticks where schedstat is missing.
 */
function cpuNs(pid: number): number {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return total;
  } catch {
    return (readProcessUsage(pid)?.cpuSeconds ?? 0) * 1e9;
  }
}

interface TimedServer {
  url: string;
  pid: number;
}

/**
 * Runs the query on every server `warmup` untimed times, then `repeat` rounds of one run each, the
 * servers' order rotating from round to round. Per server: median wall ms, and mean CPU ms (the
 * server's /proc CPU time read around each of its own runs, so another server's work never counts).
 */
async function timeQuery(servers: TimedServer[], spec: QuerySpec): Promise<Array<{ wallMs: number; cpuMs: number }>> {
  for (const server of servers) {
    for (let run = 0; run < warmup; run++) {
      const warmUp = await runQuery(server.url, spec);
      if (warmUp.status !== 'success') throw new Error(`${spec.id} failed on ${server.url}: ${warmUp.error}`);
    }
  }
  const walls = servers.map((): number[] => []);
  const cpuSeconds = servers.map(() => 0);
  for (let round = 0; round < repeat; round++) {
    for (let turn = 0; turn < servers.length; turn++) {
      const k = (round + turn) % servers.length;
      const server = servers[k]!;
      const cpuBefore = cpuNs(server.pid);
      const startedMs = performance.now();
      const answer = await runQuery(server.url, spec);
      walls[k]!.push(performance.now() - startedMs);
      cpuSeconds[k]! += (cpuNs(server.pid) - cpuBefore) / 1e9;
      if (answer.status !== 'success') throw new Error(`${spec.id} failed on ${server.url}: ${answer.error}`);
    }
  }
  return servers.map((_, k) => ({ wallMs: median(walls[k]!), cpuMs: (cpuSeconds[k]! * 1000) / repeat }));
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'rankscope-promql-bench-'));
  const configPath = join(work, 'rankscope.yaml');
  writeFileSync(configPath, 'ruler:\n  enabled: false\nui:\n  enabled: false\n');
  const endMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const workload = compareWorkload({ series: seriesTarget, hours, seed: Number(args.seed), startMs: endMs - Math.round(hours * 60) * 60_000 });
  const samples = workload.seriesCount * workload.steps;
  console.error(`promql-compare: ${workload.seriesCount} series × ${workload.steps} scrapes (${samples} samples, seed ${args.seed}) to rankscope and Prometheus…`);
  let ours: ServerChild | undefined;
  let baseline: ServerChild | undefined;
  let prometheus: PrometheusPeer | undefined;
  try {
    [ours, prometheus, baseline] = await Promise.all([
      startServerChild(repoRoot, join(work, 'rankscope-data'), configPath),
      startPrometheusReceiver(work),
      args.baseline === undefined ? undefined : startServerChild(args.baseline, join(work, 'baseline-data'), configPath),
    ]);
    const writeStartedMs = performance.now();
    // About 10,000 samples a request at most: a small workload sends several scrapes in each.
    const stepsPerBatch = Math.max(1, Math.floor(10_000 / workload.seriesCount));
    await remoteWriteToAll([ours.url, prometheus.url, ...(baseline ? [baseline.url] : [])], workload, { batchSeries: 2000, concurrency: 4, stepsPerBatch });
    console.error(`  written to both in ${((performance.now() - writeStartedMs) / 1000).toFixed(1)} s`);

    const figures: QueryFigures[] = [];
    for (const spec of benchQueries(workload.startMs, workload.endMs)) {
      if (!spec.id.includes(args.only)) continue;
      const [ourAnswer, theirAnswer] = await Promise.all([runQuery(ours.url, spec), runQuery(prometheus.url, spec)]);
      const differences = compareAnswers(spec, ourAnswer, theirAnswer);
      const baselineDifferences = baseline === undefined ? [] : compareAnswers(spec, await runQuery(baseline.url, spec), theirAnswer);
      const servers: TimedServer[] = [prometheus, ours, ...(baseline ? [baseline] : [])];
      const [theirs, mine, before] = await timeQuery(servers, spec);
      const size = answerSize(theirAnswer);
      figures.push({
        id: spec.id,
        query: spec.query,
        oursMs: mine!.wallMs,
        prometheusMs: theirs!.wallMs,
        latencyRatio: mine!.wallMs / theirs!.wallMs,
        oursCpuMs: mine!.cpuMs,
        prometheusCpuMs: theirs!.cpuMs,
        agree: differences.length === 0,
        ...(differences.length > 0 ? { difference: differences[0] } : {}),
        series: size.series,
        samples: size.samples,
        ...(before ? { baselineMs: before.wallMs, baselineCpuMs: before.cpuMs, baselineAgree: baselineDifferences.length === 0 } : {}),
      });
      console.error(`  ${spec.id}: ${mine!.wallMs.toFixed(1)} ms vs ${theirs!.wallMs.toFixed(1)} ms${before ? ` (baseline ${before.wallMs.toFixed(1)} ms)` : ''}`);
    }

    console.log(`\nPromQL latency, rankscope vs Prometheus 2.42 (same run, same data: ${workload.seriesCount} series × ${hours} h at 15 s; ${repeat} alternating rounds after ${warmup} untimed; wall median, server CPU mean)`);
    const baselineHeader = baseline ? `  ${'baseline'.padStart(10)} ${'ratio'.padStart(6)} ${'CPU'.padStart(8)} ${'ratio'.padStart(6)}` : '';
    console.log(`${'query'.padEnd(32)} ${'rankscope'.padStart(10)} ${'prometheus'.padStart(11)} ${'ratio'.padStart(7)} ${'CPU ours'.padStart(9)} ${'CPU prom'.padStart(9)} ${'CPU ratio'.padStart(10)}${baselineHeader}  answers`);
    const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
    for (const row of figures) {
      const baselineColumns = row.baselineMs === undefined
        ? ''
        : `  ${`${row.baselineMs.toFixed(1)} ms`.padStart(10)} ${ratio(row.baselineMs, row.prometheusMs).padStart(6)} ${`${row.baselineCpuMs!.toFixed(2)}`.padStart(8)} ${ratio(row.baselineCpuMs!, row.prometheusCpuMs).padStart(6)}`;
      const answers = row.agree ? `equal (${row.series} series, ${row.samples} samples)` : `DIFFER: ${row.difference}`;
      console.log(`${row.id.padEnd(32)} ${`${row.oursMs.toFixed(1)} ms`.padStart(10)} ${`${row.prometheusMs.toFixed(1)} ms`.padStart(11)} ${`${row.latencyRatio.toFixed(2)}×`.padStart(7)} ${row.oursCpuMs.toFixed(2).padStart(9)} ${row.prometheusCpuMs.toFixed(2).padStart(9)} ${ratio(row.oursCpuMs, row.prometheusCpuMs).padStart(10)}${baselineColumns}  ${answers}${row.baselineAgree === false ? ' (baseline DIFFERS)' : ''}`);
    }
    const geometricMean = Math.exp(figures.reduce((sum, row) => sum + Math.log(row.latencyRatio), 0) / figures.length);
    console.log(`geometric mean of the latency ratios: ${geometricMean.toFixed(2)}× (below 1: rankscope is faster)`);
    if (baseline) {
      const baselineMean = Math.exp(figures.reduce((sum, row) => sum + Math.log(row.baselineMs! / row.prometheusMs), 0) / figures.length);
      console.log(`baseline (${args.baseline}) geometric mean: ${baselineMean.toFixed(2)}×`);
    }
    console.log(JSON.stringify({ command: `node bench/promql-compare-bench.ts --series ${seriesTarget} --hours ${hours} --repeat ${repeat} --warmup ${warmup} --seed ${args.seed}${args.baseline ? ` --baseline ${args.baseline}` : ''}${args.only ? ` --only '${args.only}'` : ''}`, series: workload.seriesCount, hours, samples, repeat, geometricMeanLatencyRatio: geometricMean, queries: figures }));
  } finally {
    await Promise.all([ours?.stop(), prometheus?.stop(), baseline?.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
