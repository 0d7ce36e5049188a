// A real Prometheus (Debian's /usr/bin/prometheus, 2.42) beside rankscope, for comparing PromQL: it
// starts Prometheus with its remote-write receiver, sends the same workload to both servers, and
// compares their HTTP API answers. Used by test/promql/prometheus-compare.test.ts and
// bench/promql-compare-bench.ts.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { encodeWriteRequestV1, snappyCompress } from '../src/push/remote-write-encode.ts';
import type { CompareWorkload } from './promql-compare-workload.ts';

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';
const READY_TIMEOUT_MS = 60_000;

export interface PrometheusPeer {
  url: string;
  pid: number;
  /** The tail of its log, for error messages. */
  log(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Starts Prometheus on a free 127.0.0.1 port with an empty TSDB in `workDir`, scraping nothing. */
export async function startPrometheusReceiver(workDir: string): Promise<PrometheusPeer> {
  const configPath = join(workDir, 'prometheus.yml');
  writeFileSync(configPath, 'global:\n  scrape_interval: 1h\n  evaluation_interval: 1m\n');
  const port = await freePort();
  const child: ChildProcess = spawn(
    PROMETHEUS_BINARY,
    [`--config.file=${configPath}`, `--storage.tsdb.path=${join(workDir, 'prometheus-data')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--storage.tsdb.retention.time=3650d'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString('utf8')).slice(-8000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  // Bounded by the deadline; Prometheus answers /-/ready once its TSDB is open.
  for (;;) {
    const status = await fetch(`${url}/-/ready`).then((response) => response.status, () => 0);
    if (status === 200) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Prometheus did not become ready (exit ${child.exitCode}):\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid: child.pid!,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Sends every batch to each URL's /api/v1/write (remote write 1.0), `concurrency` requests in flight,
 * one scrape's batches finished before the next scrape's start so that each series stays in order
 * (Prometheus 2.42 accepts no out-of-order samples). `stepsPerBatch` scrapes go in one request
 * (default 1): a day of a few thousand series is otherwise thousands of one-after-another round trips,
 * each waiting for rankscope's WAL fsync. Throws on the first rejected request.
 */
export async function remoteWriteToAll(baseUrls: string[], workload: CompareWorkload, options: { batchSeries: number; concurrency: number; stepsPerBatch?: number }): Promise<number> {
  let samples = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;
  let lastStep = -1;
  const send = async (body: Buffer): Promise<void> => {
    await Promise.all(
      baseUrls.map(async (baseUrl) => {
        const response = await fetch(`${baseUrl}/api/v1/write`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' }, body });
        const text = await response.text();
        if (response.status >= 300) failure ??= new Error(`POST ${baseUrl}/api/v1/write answered ${response.status}: ${text.slice(0, 300)}`);
      }),
    );
  };
  for (const batch of workload.batches(options.batchSeries, options.stepsPerBatch)) {
    if (failure !== undefined) throw failure;
    // A batch of a later scrape waits for the earlier scrape's requests.
    if (batch.step !== lastStep) {
      await Promise.all(inFlight);
      lastStep = batch.step;
    }
    for (const series of batch.series) samples += series.samples.length;
    const job = send(snappyCompress(encodeWriteRequestV1(batch.series)));
    inFlight.add(job);
    void job.finally(() => inFlight.delete(job));
    if (inFlight.size >= options.concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  return samples;
}

export interface QuerySpec {
  /** What the case checks, for failure messages and the benchmark table. */
  id: string;
  query: string;
  /** Instant at `timeMs`, or range over [startMs, endMs] every stepMs. */
  timeMs?: number;
  range?: { startMs: number; endMs: number; stepMs: number };
}

export interface ApiAnswer {
  httpStatus: number;
  status: string;
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

function queryParams(spec: QuerySpec): URLSearchParams {
  const params = new URLSearchParams({ query: spec.query });
  if (spec.range !== undefined) {
    params.set('start', String(spec.range.startMs / 1000));
    params.set('end', String(spec.range.endMs / 1000));
    params.set('step', String(spec.range.stepMs / 1000));
  } else params.set('time', String(spec.timeMs! / 1000));
  return params;
}

/** POSTs the query as a form, as Grafana does, and returns the parsed answer. */
export async function runQuery(baseUrl: string, spec: QuerySpec): Promise<ApiAnswer> {
  const response = await fetch(`${baseUrl}/api/v1/${spec.range === undefined ? 'query' : 'query_range'}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: queryParams(spec).toString(),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await response.text();
  try {
    return { httpStatus: response.status, ...(JSON.parse(text) as Omit<ApiAnswer, 'httpStatus'>) };
  } catch {
    return { httpStatus: response.status, status: 'unparseable', error: text.slice(0, 300) };
  }
}

type SampleText = [number, string];
interface SeriesAnswer {
  metric: Record<string, string>;
  value?: SampleText;
  values?: SampleText[];
}

/** Relative tolerance: the engines sum in different orders (and 3.x with Kahan compensation). */
const RELATIVE_TOLERANCE = 1e-9;
const ABSOLUTE_TOLERANCE = 1e-12;

function sameNumber(ours: string, theirs: string): boolean {
  if (ours === theirs) return true;
  const a = Number(ours);
  const b = Number(theirs);
  if (Number.isNaN(a) || Number.isNaN(b) || !Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
}

const labelKey = (metric: Record<string, string>): string => `{${Object.keys(metric).sort().map((name) => `${name}=${JSON.stringify(metric[name])}`).join(', ')}}`;

function samplesOf(series: SeriesAnswer): SampleText[] {
  return series.values ?? (series.value === undefined ? [] : [series.value]);
}

/**
 * The differences between two answers to the same query (empty when they agree): same status and
 * error type, same result type, the same label sets, and per series the same timestamps with values
 * within float tolerance. The order of series is compared only for sort()/sort_desc() instant
 * queries, where Prometheus defines it; topk/bottomk answers are compared up to ties (compareSelectK).
 */
export function compareAnswers(spec: QuerySpec, ours: ApiAnswer, theirs: ApiAnswer): string[] {
  if (ours.status !== theirs.status) return [`status: ours ${ours.status} (${ours.httpStatus}) ${ours.error ?? ''}, Prometheus ${theirs.status} (${theirs.httpStatus}) ${theirs.error ?? ''}`];
  if (theirs.status !== 'success') return ours.errorType === theirs.errorType ? [] : [`errorType: ours ${ours.errorType} (${ours.error}), Prometheus ${theirs.errorType} (${theirs.error})`];
  const ourData = ours.data!;
  const theirData = theirs.data!;
  if (ourData.resultType !== theirData.resultType) return [`resultType: ours ${ourData.resultType}, Prometheus ${theirData.resultType}`];
  if (theirData.resultType === 'scalar' || theirData.resultType === 'string') {
    const [ourTime, ourValue] = ourData.result as SampleText;
    const [theirTime, theirValue] = theirData.result as SampleText;
    return ourTime === theirTime && sameNumber(ourValue, theirValue) ? [] : [`${theirData.resultType}: ours ${ourTime} ${ourValue}, Prometheus ${theirTime} ${theirValue}`];
  }
  const differences: string[] = [];
  const ourSeries = ourData.result as SeriesAnswer[];
  const theirSeries = theirData.result as SeriesAnswer[];
  if (SELECT_K.test(spec.query)) return compareSelectK(ourSeries, theirSeries);
  const ourByKey = new Map(ourSeries.map((series) => [labelKey(series.metric), series]));
  const theirByKey = new Map(theirSeries.map((series) => [labelKey(series.metric), series]));
  for (const key of theirByKey.keys()) if (!ourByKey.has(key)) differences.push(`missing series ${key}`);
  for (const key of ourByKey.keys()) if (!theirByKey.has(key)) differences.push(`extra series ${key}`);
  if (spec.range === undefined && /^\s*(sort|sort_desc)\(/.test(spec.query) && differences.length === 0) {
    const ourOrder = ourSeries.map((series) => labelKey(series.metric)).join(' ');
    const theirOrder = theirSeries.map((series) => labelKey(series.metric)).join(' ');
    if (ourOrder !== theirOrder) differences.push(`order: ours ${ourOrder}, Prometheus ${theirOrder}`);
  }
  for (const [key, theirOne] of theirByKey) {
    const ourOne = ourByKey.get(key);
    if (ourOne === undefined) continue;
    const ourSamples = samplesOf(ourOne);
    const theirSamples = samplesOf(theirOne);
    const ourTimes = ourSamples.map((sample) => sample[0]).join(',');
    const theirTimes = theirSamples.map((sample) => sample[0]).join(',');
    if (ourTimes !== theirTimes) {
      differences.push(`${key}: timestamps differ: ours ${ourSamples.length} [${ourTimes.slice(0, 200)}], Prometheus ${theirSamples.length} [${theirTimes.slice(0, 200)}]`);
      continue;
    }
    for (let i = 0; i < theirSamples.length; i++) {
      if (!sameNumber(ourSamples[i]![1], theirSamples[i]![1])) {
        differences.push(`${key} at ${theirSamples[i]![0]}: ours ${ourSamples[i]![1]}, Prometheus ${theirSamples[i]![1]}`);
        break;
      }
    }
  }
  return differences;
}

/** A query whose outermost operation is topk or bottomk (compared by compareSelectK). */
const SELECT_K = /^\s*(topk|bottomk)\s*(\(|by\b|without\b)/;

/**
 * topk/bottomk answers compared up to ties: which of several series with the same value fills the last
 * places is not defined by Prometheus. Its engine keeps a heap of the k best in the order the series
 * come from storage (2.42: the head's series-reference order, i.e. creation order; 3.x the same) and
 * replaces the heap's minimum only by a strictly greater value, so which of two equal values it keeps
 * depends on that order and the heap's layout; the documentation (querying/operators.md, "topk and
 * bottomk") leaves it open. rankscope keeps the series that comes first in its input (label order for a selector). So at every step the
 * two answers must hold the same multiset of values (to float tolerance), and every series both chose
 * must have the same value in both; a series only one side chose must be matched by one the other
 * side chose in its place with the same value. Found at 2,000 series × 24 h: three steps where the
 * 10th and 11th rates were bit-identical (0.8524912280701755) and each engine kept a different one.
 */
function compareSelectK(ourSeries: SeriesAnswer[], theirSeries: SeriesAnswer[]): string[] {
  const byStep = (series: SeriesAnswer[]): Map<number, Map<string, string>> => {
    const steps = new Map<number, Map<string, string>>();
    for (const one of series) {
      const key = labelKey(one.metric);
      for (const [time, value] of samplesOf(one)) {
        let step = steps.get(time);
        if (step === undefined) steps.set(time, (step = new Map()));
        step.set(key, value);
      }
    }
    return steps;
  };
  const ours = byStep(ourSeries);
  const theirs = byStep(theirSeries);
  const differences: string[] = [];
  for (const time of new Set([...ours.keys(), ...theirs.keys()])) {
    const ourStep = ours.get(time) ?? new Map<string, string>();
    const theirStep = theirs.get(time) ?? new Map<string, string>();
    if (ourStep.size !== theirStep.size) {
      differences.push(`at ${time}: ours ${ourStep.size} series, Prometheus ${theirStep.size}`);
      continue;
    }
    const ourOnly: string[] = [];
    const theirOnly: string[] = [];
    for (const [key, value] of ourStep) {
      const theirValue = theirStep.get(key);
      if (theirValue === undefined) ourOnly.push(value);
      else if (!sameNumber(value, theirValue)) differences.push(`${key} at ${time}: ours ${value}, Prometheus ${theirValue}`);
    }
    for (const [key, value] of theirStep) if (!ourStep.has(key)) theirOnly.push(value);
    // Swapped members pair up by value: both lists sorted, each pair the same number.
    const numeric = (a: string, b: string): number => Number(a) - Number(b);
    ourOnly.sort(numeric);
    theirOnly.sort(numeric);
    for (let i = 0; i < ourOnly.length; i++) {
      if (!sameNumber(ourOnly[i]!, theirOnly[i]!)) {
        const chosenByUs = [...ourStep.keys()].filter((key) => !theirStep.has(key));
        const chosenByThem = [...theirStep.keys()].filter((key) => !ourStep.has(key));
        differences.push(`at ${time}: ours chose ${chosenByUs.join(' ')} (${ourOnly.join(', ')}), Prometheus ${chosenByThem.join(' ')} (${theirOnly.join(', ')}): not a tie`);
        break;
      }
    }
  }
  return differences;
}

/** Series in an answer and samples over all of them (for the benchmark's notes). */
export function answerSize(answer: ApiAnswer): { series: number; samples: number } {
  if (answer.data === undefined || !Array.isArray(answer.data.result) || answer.data.resultType === 'scalar' || answer.data.resultType === 'string') return { series: 0, samples: answer.data === undefined ? 0 : 1 };
  const series = answer.data.result as SeriesAnswer[];
  return { series: series.length, samples: series.reduce((sum, one) => sum + samplesOf(one).length, 0) };
}
