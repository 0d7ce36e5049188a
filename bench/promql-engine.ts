// PromQL engine speed on a node_exporter-like counter workload, against a reference measured in the
// same run: one tight pass over every sample doing the work rate() cannot avoid (a difference and a
// reset check per sample). The ratio says how much the engine costs beyond touching each sample once.
//
//   node_modules/node/bin/node bench/promql-engine.ts [--series N] [--hours H]
//
// Data: N series (default 10 000) of a 15 s counter over H hours (default 2), labels job/instance/cpu,
// a fixed-seed generator, kept in memory behind the MetricsSource interface (no storage cost measured).

import { parseArgs } from 'node:util';
import { PromQLEngine } from '../src/promql/index.ts';
import type { Labels } from '../src/push/types.ts';
import type { MetricLabelMatcher, MetricsSource, SeriesSamples, SeriesSelectQuery } from '../src/tsdb/types.ts';

const { values: options } = parseArgs({ options: { series: { type: 'string', default: '10000' }, hours: { type: 'string', default: '2' } } });
const seriesCount = Number(options.series);
const hours = Number(options.hours);
const intervalMs = 15_000;
const samplesPerSeries = Math.floor((hours * 3_600_000) / intervalMs) + 1;

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const next = random(42);
const data: SeriesSamples[] = [];
for (let s = 0; s < seriesCount; s++) {
  const labels: Labels = { __name__: 'node_cpu_seconds_total', job: `job${s % 10}`, instance: `host${Math.floor(s / 64)}`, cpu: String(s % 64) };
  const timestampsMs = new Float64Array(samplesPerSeries);
  const values = new Float64Array(samplesPerSeries);
  let value = 0;
  for (let i = 0; i < samplesPerSeries; i++) {
    timestampsMs[i] = i * intervalMs;
    value = next() < 0.0005 ? 0 : value + next() * 15; // rare counter resets
    values[i] = value;
  }
  data.push({ labels, timestampsMs, values });
}

function matches(labels: Labels, matchers: MetricLabelMatcher[]): boolean {
  return matchers.every((m) => (m.type === '=' ? (labels[m.name] ?? '') === m.value : true));
}

const source: MetricsSource = {
  async select(_tenant: string, query: SeriesSelectQuery) {
    const out: SeriesSamples[] = [];
    for (const s of data) {
      if (!matches(s.labels, query.matchers)) continue;
      // Samples sit every 15 s from 0: the window's indexes are arithmetic (a store would seek).
      const lo = Math.max(0, Math.ceil(query.startMs / intervalMs));
      const hi = Math.min(s.timestampsMs.length, Math.floor(query.endMs / intervalMs) + 1);
      out.push({ labels: s.labels, timestampsMs: s.timestampsMs.subarray(lo, hi), values: s.values.subarray(lo, hi) });
    }
    return out;
  },
  async series() {
    return [];
  },
  async labelNames() {
    return [];
  },
  async labelValues() {
    return [];
  },
};

function reference(): number {
  // Every sample once: difference and reset check, as rate() must do at least.
  let total = 0;
  for (const s of data) {
    const v = s.values;
    for (let i = 1; i < v.length; i++) total += v[i]! < v[i - 1]! ? v[i]! : v[i]! - v[i - 1]!;
  }
  return total;
}

async function time(fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const engine = new PromQLEngine(source, { maxSamples: 1e9 });
const endMs = (samplesPerSeries - 1) * intervalMs;
const queries = [
  { name: 'sum by (job) (rate(x[5m])), range 1h step 15s', run: () => engine.rangeQuery('', 'sum by (job) (rate(node_cpu_seconds_total[5m]))', endMs - 3_600_000, endMs, 15_000) },
  { name: 'rate(x[5m]) all series, range 1h step 60s', run: () => engine.rangeQuery('', 'rate(node_cpu_seconds_total[5m])', endMs - 3_600_000, endMs, 60_000) },
  { name: 'topk(5, rate(x[5m])), instant', run: () => engine.instantQuery('', 'topk(5, rate(node_cpu_seconds_total[5m]))', endMs) },
];
const totalSamples = seriesCount * samplesPerSeries;
console.log(`series ${seriesCount}, samples ${totalSamples} (${samplesPerSeries} per series, 15 s interval)`);
// Warm up both sides once (JIT), then take the median of three.
reference();
const referenceMs = [await time(reference), await time(reference), await time(reference)].sort((a, b) => a - b)[1]!;
console.log(`reference (one pass over every sample): ${referenceMs.toFixed(1)} ms`);
for (const query of queries) {
  await query.run();
  const runs = [await time(query.run), await time(query.run), await time(query.run)].sort((a, b) => a - b);
  const ms = runs[1]!;
  console.log(`${query.name}: ${ms.toFixed(1)} ms (${(ms / referenceMs).toFixed(1)}× reference)`);
}
