// The data that rankscope and a real Prometheus are both given when their PromQL answers and query
// speed are compared (test/promql/prometheus-compare.test.ts, bench/promql-compare-bench.ts): a fixed-
// seed mix of node_exporter-, DCGM- and HTTP-server-like series scraped every 15 s, with counter
// resets, a classic histogram, info-style series for group_left joins, a series that stops (with a
// staleness marker) and one that stops without one.
//
// Every sample sits a few hundred milliseconds past a whole second, and queries are evaluated at whole
// seconds: Debian's Prometheus 2.42 has left-closed range windows where 3.x (and rankscope) has left-
// open ones, and the two agree wherever no sample lies on a window's lower bound.

import { seededRandom } from '../src/demo/torch-output.ts';
import type { RemoteWriteSeriesInput } from '../src/push/remote-write-encode.ts';

export const SCRAPE_INTERVAL_MS = 15_000;

export interface CompareWorkloadOptions {
  /** About this many series (the fixed families come on top, rounded to whole hosts). */
  series: number;
  hours: number;
  seed: number;
  /** First scrape, ms; whole minute. */
  startMs: number;
}

type Kind = 'counter' | 'gauge' | 'bucket';

interface GeneratedSeries {
  labels: Record<string, string>;
  kind: Kind;
  /** Sub-second offset of every scrape of this series (100–899 ms). */
  jitterMs: number;
  value: number;
  /** Scrape index after which the series is gone (exclusive); Infinity for never. */
  endStep: number;
  /** Whether a staleness marker follows the last sample. */
  staleAtEnd: boolean;
  /** For buckets: the series it must stay below or equal to (the next-lower bucket is the previous). */
  below?: GeneratedSeries;
}

export interface CompareWorkload {
  startMs: number;
  endMs: number;
  steps: number;
  seriesCount: number;
  /**
   * Remote-write batches in time order, each a slice of the series with their samples of
   * `stepsPerBatch` scrapes (default 1) from scrape `step` on.
   */
  batches(batchSeries: number, stepsPerBatch?: number): Generator<{ step: number; series: RemoteWriteSeriesInput[] }>;
}

const HTTP_METHODS = ['GET', 'POST'];
const HTTP_CODES = ['200', '500'];
const LATENCY_BUCKETS = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];

function hostSeries(host: number, random: () => number, steps: number): GeneratedSeries[] {
  const instance = `host-${String(host).padStart(4, '0')}:9100`;
  const job = host % 2 === 0 ? 'trainer' : 'loader';
  const out: GeneratedSeries[] = [];
  const jitter = (): number => 100 + Math.floor(random() * 800);
  const add = (labels: Record<string, string>, kind: Kind, value: number, extra: Partial<GeneratedSeries> = {}): GeneratedSeries => {
    const series: GeneratedSeries = { labels, kind, jitterMs: jitter(), value, endStep: Infinity, staleAtEnd: false, ...extra };
    out.push(series);
    return series;
  };
  for (const method of HTTP_METHODS) {
    for (const code of HTTP_CODES) add({ __name__: 'http_requests_total', job, instance, method, code }, 'counter', Math.floor(random() * 1000));
  }
  for (let cpu = 0; cpu < 4; cpu++) {
    for (const mode of ['idle', 'user', 'system']) add({ __name__: 'node_cpu_seconds_total', job: 'node', instance, cpu: String(cpu), mode }, 'counter', Math.floor(random() * 1e5) / 100);
  }
  for (let gpu = 0; gpu < 2; gpu++) {
    add({ __name__: 'DCGM_FI_DEV_GPU_TEMP', job: 'dcgm', instance, gpu: String(gpu) }, 'gauge', 50 + Math.floor(random() * 30));
    add({ __name__: 'DCGM_FI_DEV_GPU_UTIL', job: 'dcgm', instance, gpu: String(gpu) }, 'gauge', Math.floor(random() * 100));
    add({ __name__: 'gpu_rank_info', job: 'dcgm', instance, gpu: String(gpu), rank: String(host * 2 + gpu) }, 'gauge', 1);
  }
  add({ __name__: 'node_uname_info', job: 'node', instance, nodename: `host-${host}`, release: host % 3 === 0 ? '6.1.0' : '5.15.0' }, 'gauge', 1);
  add({ __name__: 'node_memory_MemAvailable_bytes', job: 'node', instance }, 'gauge', 1e10 + Math.floor(random() * 1e10));
  let previous: GeneratedSeries | undefined;
  for (const le of LATENCY_BUCKETS) previous = add({ __name__: 'request_duration_seconds_bucket', job, instance, le }, 'bucket', 0, previous === undefined ? {} : { below: previous });
  add({ __name__: 'request_duration_seconds_count', job, instance }, 'bucket', 0, { below: previous });
  add({ __name__: 'request_duration_seconds_sum', job, instance }, 'counter', Math.floor(random() * 100));
  for (const quantile of ['0.5', '0.9', '0.99']) add({ __name__: 'step_time_seconds', job, instance, quantile }, 'gauge', Number(quantile));
  // A batch job that ends halfway: on even hosts with a staleness marker (as a scrape that lost the
  // series writes it), on odd ones without (it then fades after the 5 m lookback).
  add({ __name__: 'batch_job_progress', job, instance }, 'gauge', 0, { endStep: Math.floor(steps / 2), staleAtEnd: host % 2 === 0 });
  return out;
}

function advance(series: GeneratedSeries, random: () => number): number {
  switch (series.kind) {
    case 'counter':
      // A rare reset (a restarted exporter), else a few units per scrape.
      series.value = random() < 0.004 ? Math.floor(random() * 5) : Math.round((series.value + random() * 20) * 100) / 100;
      break;
    case 'gauge':
      if (series.labels.__name__!.endsWith('_info')) break;
      series.value = Math.round((series.value + (random() - 0.5) * 6) * 1000) / 1000;
      break;
    case 'bucket':
      // Cumulative buckets: each at least the one below it, all growing; _count equals le="+Inf".
      if (series.labels.le === undefined) series.value = series.below!.value;
      else series.value = Math.max(series.value + Math.floor(random() * 4), series.below?.value ?? 0);
      break;
  }
  return series.value;
}

export function compareWorkload(options: CompareWorkloadOptions): CompareWorkload {
  const random = seededRandom(options.seed);
  const steps = Math.floor((options.hours * 3_600_000) / SCRAPE_INTERVAL_MS);
  const all: GeneratedSeries[] = [];
  for (let host = 0; all.length < options.series; host++) all.push(...hostSeries(host, random, steps));
  return {
    startMs: options.startMs,
    endMs: options.startMs + steps * SCRAPE_INTERVAL_MS,
    steps,
    seriesCount: all.length,
    *batches(batchSeries: number, stepsPerBatch = 1) {
      // One generator state: replaying the batches twice would give different values. Samples are
      // drawn scrape by scrape in the same order whatever the grouping, so the data never depends on it.
      const perBatch = Math.max(1, Math.floor(stepsPerBatch));
      for (let first = 0; first < steps; first += perBatch) {
        const last = Math.min(steps, first + perBatch);
        const pending = new Map<GeneratedSeries, RemoteWriteSeriesInput>();
        for (let step = first; step < last; step++) {
          const scrapeMs = options.startMs + step * SCRAPE_INTERVAL_MS;
          for (const series of all) {
            let sample: RemoteWriteSeriesInput['samples'][number];
            if (step < series.endStep) sample = { timestampMs: scrapeMs + series.jitterMs, value: advance(series, random) };
            else if (step === series.endStep && series.staleAtEnd) sample = { timestampMs: scrapeMs + series.jitterMs, value: Number.NaN, stale: true };
            else continue;
            const entry = pending.get(series);
            if (entry === undefined) pending.set(series, { labels: series.labels, samples: [sample] });
            else entry.samples.push(sample);
          }
        }
        let batch: RemoteWriteSeriesInput[] = [];
        for (const entry of pending.values()) {
          batch.push(entry);
          if (batch.length >= batchSeries) {
            yield { step: first, series: batch };
            batch = [];
          }
        }
        if (batch.length > 0) yield { step: first, series: batch };
      }
    },
  };
}
