// PromQL query latency against a real Prometheus in the same run: rankscope (a child process through
// the real CLI) and Debian's Prometheus 2.42 (--web.enable-remote-write-receiver) both receive the
// same fixed-seed workload by remote write (bench/promql-compare-workload.ts: node_exporter-, DCGM-
// and HTTP-server-like series every 15 s), then the issue's queries (rate, sum by, histogram_quantile,
// topk, plus an avg over 1 h and a group_left join) run against both, instant at the end of the data
// and as range queries over all of it at a 1 m step. Per query: the median wall time of --repeat runs
// after --warmup untimed ones, each server's CPU time, rankscope/Prometheus ratios, and whether the answers
// agree (bench/promql-compare-peers.ts compareAnswers).
//
//   node_modules/node/bin/node bench/promql-compare-bench.ts [--series 10000] [--hours 2] [--repeat 5] [--warmup 1] [--seed 7]
//
// Prints a table, then the figures as one JSON line (bench/run.ts reads it).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Runs the query `repeat` times after `warmup` untimed runs; median wall ms and mean CPU ms of the server. */
async function timeQuery(baseUrl: string, pid: number, spec: QuerySpec): Promise<{ wallMs: number; cpuMs: number }> {
  for (let run = 0; run < warmup; run++) {
    const warmUp = await runQuery(baseUrl, spec);
    if (warmUp.status !== 'success') throw new Error(`${spec.id} failed on ${baseUrl}: ${warmUp.error}`);
  }
  const walls: number[] = [];
  const cpuBefore = readProcessUsage(pid)?.cpuSeconds ?? 0;
  for (let run = 0; run < repeat; run++) {
    const startedMs = performance.now();
    const answer = await runQuery(baseUrl, spec);
    walls.push(performance.now() - startedMs);
    if (answer.status !== 'success') throw new Error(`${spec.id} failed on ${baseUrl}: ${answer.error}`);
  }
  const cpuAfter = readProcessUsage(pid)?.cpuSeconds ?? cpuBefore;
  return { wallMs: median(walls), cpuMs: ((cpuAfter - cpuBefore) * 1000) / repeat };
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
  let prometheus: PrometheusPeer | undefined;
  try {
    [ours, prometheus] = await Promise.all([startServerChild(repoRoot, join(work, 'rankscope-data'), configPath), startPrometheusReceiver(work)]);
    const writeStartedMs = performance.now();
    await remoteWriteToAll([ours.url, prometheus.url], workload, { batchSeries: 2000, concurrency: 4 });
    console.error(`  written to both in ${((performance.now() - writeStartedMs) / 1000).toFixed(1)} s`);

    const figures: QueryFigures[] = [];
    for (const spec of benchQueries(workload.startMs, workload.endMs)) {
      const [ourAnswer, theirAnswer] = await Promise.all([runQuery(ours.url, spec), runQuery(prometheus.url, spec)]);
      const differences = compareAnswers(spec, ourAnswer, theirAnswer);
      // One server at a time, so neither measures the other's load.
      const theirs = await timeQuery(prometheus.url, prometheus.pid, spec);
      const mine = await timeQuery(ours.url, ours.pid, spec);
      const size = answerSize(theirAnswer);
      figures.push({
        id: spec.id,
        query: spec.query,
        oursMs: mine.wallMs,
        prometheusMs: theirs.wallMs,
        latencyRatio: mine.wallMs / theirs.wallMs,
        oursCpuMs: mine.cpuMs,
        prometheusCpuMs: theirs.cpuMs,
        agree: differences.length === 0,
        ...(differences.length > 0 ? { difference: differences[0] } : {}),
        series: size.series,
        samples: size.samples,
      });
      console.error(`  ${spec.id}: ${mine.wallMs.toFixed(1)} ms vs ${theirs.wallMs.toFixed(1)} ms`);
    }

    console.log(`\nPromQL latency, rankscope vs Prometheus 2.42 (same run, same data: ${workload.seriesCount} series × ${hours} h at 15 s; median of ${repeat} after ${warmup} untimed)`);
    console.log(`${'query'.padEnd(32)} ${'rankscope'.padStart(10)} ${'prometheus'.padStart(11)} ${'ratio'.padStart(7)} ${'CPU ratio'.padStart(10)}  answers`);
    for (const row of figures) {
      const cpuRatio = row.prometheusCpuMs > 0 ? (row.oursCpuMs / row.prometheusCpuMs).toFixed(2) : 'n/a';
      console.log(`${row.id.padEnd(32)} ${`${row.oursMs.toFixed(1)} ms`.padStart(10)} ${`${row.prometheusMs.toFixed(1)} ms`.padStart(11)} ${`${row.latencyRatio.toFixed(2)}×`.padStart(7)} ${cpuRatio.padStart(10)}  ${row.agree ? `equal (${row.series} series, ${row.samples} samples)` : `DIFFER: ${row.difference}`}`);
    }
    const geometricMean = Math.exp(figures.reduce((sum, row) => sum + Math.log(row.latencyRatio), 0) / figures.length);
    console.log(`geometric mean of the latency ratios: ${geometricMean.toFixed(2)}× (below 1: rankscope is faster)`);
    console.log(JSON.stringify({ command: `node bench/promql-compare-bench.ts --series ${seriesTarget} --hours ${hours} --repeat ${repeat} --warmup ${warmup} --seed ${args.seed}`, series: workload.seriesCount, hours, samples, repeat, geometricMeanLatencyRatio: geometricMean, queries: figures }));
  } finally {
    await Promise.all([ours?.stop(), prometheus?.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
