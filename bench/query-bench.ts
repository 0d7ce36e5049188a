// Queries over the whole data set through the server's HTTP API, each checked against the answer
// counted at generation time and timed against the grep command that does the same job on the raw
// file, in the same run.

import type { Dataset } from './dataset.ts';
import { JSON_LOSS_THRESHOLD } from './dataset.ts';
import { median, timeCommand, type TimedCommand } from './process-usage.ts';
import type { ServerChild } from './server-child.ts';

const NS_PER_SECOND = 1_000_000_000n;
const QUERY_TIMEOUT_MS = 300_000;
/** Repeats stop once one query has used this much time: a slow query is measured once, not thrice. */
const QUERY_REPEAT_BUDGET_MS = 30_000;
/** rankscope's and Loki's default max entries per log query. */
export const LOG_QUERY_LIMIT = 5000;
/** Loki refuses range queries of more than 11,000 points per series. */
const MAX_POINTS = 10_000;

type QueryKind = 'instant' | 'range' | 'log';

export interface QuerySpec {
  id: string;
  title: string;
  kind: QueryKind;
  query: string;
  limit?: number;
  /** grep arguments before the file name (run with LC_ALL=C, the fastest grep). */
  grep: string[];
  /** Figure-specific target, printed beside the result. */
  target?: { latencyMs?: number; grepRatio?: number; gbPerCoreSecond?: number };
  /** Returns a message when the answer is wrong. */
  verify(answer: QueryAnswer): string | undefined;
}

export interface QueryAnswer {
  resultType: string;
  /** Sum of sample values (metric queries) or number of entries (log queries). */
  total: number;
  series: number;
  values: number[];
  stats: Record<string, unknown> | undefined;
}

export interface QueryMeasurement {
  id: string;
  title: string;
  query: string;
  runs: number;
  latencyMs: number;
  firstLatencyMs: number;
  serverCpuSeconds: number;
  /** Raw text bytes of the whole data set per second of server CPU. */
  rawGbPerCoreSecond: number;
  rawGbPerWallSecond: number;
  grepCommand: string;
  grepMs: number;
  grepCpuSeconds: number;
  grepCount: number;
  /** rankscope wall time / grep wall time. */
  wallRatioVsGrep: number;
  /** rankscope server CPU / grep CPU. */
  cpuRatioVsGrep: number;
  answerTotal: number;
  answerSeries: number;
  correct: boolean;
  verifyMessage?: string;
  bytesProcessed?: number;
  /** Blocks the store considered and the ones it had to read (Loki's index.totalChunks / postFilterChunks). */
  blocksTotal?: number;
  blocksRead?: number;
  target?: QuerySpec['target'];
}

export interface QueryWindow {
  firstNs: bigint;
  lastNs: bigint;
  /** Evaluation time for instant queries, and the range that covers every entry from it. */
  instantTimeNs: bigint;
  instantRangeSeconds: number;
  rangeStartNs: bigint;
  rangeEndNs: bigint;
  stepSeconds: number;
}

/** Windows chosen so that step-sized ranges tile [first, last] exactly and sums equal totals. */
export function queryWindow(dataset: Pick<Dataset, 'firstTimestampNs' | 'lastTimestampNs'>): QueryWindow {
  const firstNs = dataset.firstTimestampNs;
  const lastNs = dataset.lastTimestampNs;
  const instantTimeNs = (lastNs / NS_PER_SECOND + 1n) * NS_PER_SECOND;
  const instantRangeSeconds = Number((instantTimeNs - firstNs) / NS_PER_SECOND) + 1;
  const spanSeconds = Number((lastNs - firstNs) / NS_PER_SECOND) + 1;
  const stepSeconds = Math.max(60, Math.ceil(spanSeconds / MAX_POINTS / 60) * 60);
  const step = BigInt(stepSeconds) * NS_PER_SECOND;
  // Range windows are (t - step, t]: start one step past the boundary just below the first entry.
  const rangeStartNs = ((firstNs - 1n) / step) * step + step;
  const rangeEndNs = ((lastNs + step - 1n) / step) * step;
  return { firstNs, lastNs, instantTimeNs, instantRangeSeconds, rangeStartNs, rangeEndNs, stepSeconds };
}

export function querySpecs(dataset: Dataset, window: QueryWindow, needle: string): QuerySpec[] {
  const all = `${window.instantRangeSeconds}s`;
  const step = window.stepSeconds === 60 ? '1m' : `${window.stepSeconds}s`;
  const expectTotal = (expected: number) => (answer: QueryAnswer): string | undefined =>
    answer.total === expected ? undefined : `counted ${answer.total}, expected ${expected}`;
  return [
    {
      id: 'literal-count',
      title: 'literal filter, count over everything',
      kind: 'instant',
      query: `sum(count_over_time({job="train"} |= "loss" [${all}]))`,
      grep: ['-c', '-F', 'loss'],
      target: { gbPerCoreSecond: 1, grepRatio: 3 },
      verify: expectTotal(dataset.expected.loss),
    },
    {
      id: 'literal-log',
      title: `literal filter, log query (limit ${LOG_QUERY_LIMIT})`,
      kind: 'log',
      query: '{job="train"} |= "loss"',
      limit: LOG_QUERY_LIMIT,
      grep: ['-c', '-F', 'loss'],
      verify: expectTotal(Math.min(LOG_QUERY_LIMIT, dataset.expected.loss)),
    },
    {
      id: 'needle',
      title: 'needle (token in one block)',
      kind: 'log',
      query: `{job="train"} |= "${needle}"`,
      limit: 100,
      grep: ['-c', '-F', needle],
      target: { latencyMs: 100 },
      verify: expectTotal(1),
    },
    {
      id: 'count-by-rank',
      title: 'sum by (rank) count_over_time |= "loss" [1m]',
      kind: 'range',
      query: `sum by (rank) (count_over_time({job="train"} |= "loss" [${step}]))`,
      grep: ['-c', '-F', 'loss'],
      target: { grepRatio: 3 },
      // Launchers print no "loss", so they form no series: one per rank.
      verify: (answer) => expectTotal(dataset.expected.loss)(answer) ?? (answer.series === 8 ? undefined : `${answer.series} series, expected 8 (one per rank)`),
    },
    {
      id: 'regex-error',
      title: 'regex |~ "(?i)(error|fail)" log query',
      kind: 'log',
      query: '{job="train"} |~ "(?i)(error|fail)"',
      limit: LOG_QUERY_LIMIT,
      grep: ['-c', '-i', '-E', 'error|fail'],
      target: { grepRatio: 3 },
      verify: expectTotal(Math.min(LOG_QUERY_LIMIT, dataset.expected.errorOrFail)),
    },
    {
      id: 'loss-curve',
      title: 'pattern + unwrap loss avg_over_time',
      kind: 'range',
      query: `avg by (rank) (avg_over_time({job="train"} |= "| loss " | pattern "<_> step <_>/<_> | loss <loss> | <_>" | unwrap loss [${step}]))`,
      grep: ['-c', '-F', '| loss '],
      verify: (answer) => {
        if (answer.series !== 8) return `${answer.series} series, expected one per rank (8)`;
        const bad = answer.values.find((value) => !(value > 1 && value < 20));
        return bad === undefined ? undefined : `loss value ${bad} outside the generated range`;
      },
    },
    {
      id: 'json-filter',
      title: `json + label filter (loss > ${JSON_LOSS_THRESHOLD})`,
      kind: 'instant',
      query: `sum(count_over_time({job="train"} | json | event="train_metrics" and loss > ${JSON_LOSS_THRESHOLD} [${all}]))`,
      grep: ['-c', '-F', '"event": "train_metrics"'],
      verify: expectTotal(dataset.expected.jsonHighLoss),
    },
  ];
}

interface LokiResponse {
  status?: string;
  data?: { resultType?: string; result?: unknown[]; stats?: Record<string, unknown> };
}

export async function runQuery(server: ServerChild, spec: QuerySpec, window: QueryWindow): Promise<QueryAnswer> {
  const params = new URLSearchParams({ query: spec.query });
  let path = '/loki/api/v1/query_range';
  if (spec.kind === 'instant') {
    path = '/loki/api/v1/query';
    params.set('time', window.instantTimeNs.toString());
  } else if (spec.kind === 'range') {
    params.set('start', window.rangeStartNs.toString());
    params.set('end', window.rangeEndNs.toString());
    params.set('step', `${window.stepSeconds}s`);
  } else {
    params.set('start', (window.firstNs - NS_PER_SECOND).toString());
    params.set('end', (window.lastNs + NS_PER_SECOND).toString());
    params.set('limit', String(spec.limit ?? 100));
    params.set('direction', 'backward');
  }
  const response = await fetch(`${server.url}${path}?${params}`, { signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as LokiResponse;
  const resultType = body.data?.resultType ?? '?';
  const result = body.data?.result ?? [];
  const values: number[] = [];
  let total = 0;
  for (const item of result as Array<{ value?: [number, string]; values?: Array<[unknown, string]> }>) {
    if (resultType === 'vector' && item.value !== undefined) values.push(Number(item.value[1]));
    else if (resultType === 'matrix') for (const pair of item.values ?? []) values.push(Number(pair[1]));
    else if (resultType === 'streams') total += item.values?.length ?? 0;
  }
  if (resultType !== 'streams') total = values.reduce((sum, value) => sum + value, 0);
  return { resultType, total, series: result.length, values, stats: body.data?.stats };
}

/** A number anywhere in Loki's stats block, e.g. summary.totalBytesProcessed. */
function findStat(stats: unknown, key: string): number | undefined {
  if (stats === null || typeof stats !== 'object') return undefined;
  for (const [name, value] of Object.entries(stats)) {
    if (name === key && typeof value === 'number') return value;
    const nested = findStat(value, key);
    if (nested !== undefined) return nested;
  }
  return undefined;
}

function optionalStat<K extends string>(name: K, stats: unknown, key: string): Partial<Record<K, number>> {
  const value = findStat(stats, key);
  return value === undefined ? {} : ({ [name]: value } as Partial<Record<K, number>>);
}

export async function measureQuery(
  server: ServerChild,
  spec: QuerySpec,
  window: QueryWindow,
  dataset: Dataset,
  repeat: number,
  grepCache: Map<string, TimedCommand[]>,
): Promise<QueryMeasurement> {
  const latenciesMs: number[] = [];
  const cpuSeconds: number[] = [];
  let answer: QueryAnswer | undefined;
  const budgetStartedMs = performance.now();
  for (let run = 0; run < repeat && (run === 0 || performance.now() - budgetStartedMs < QUERY_REPEAT_BUDGET_MS); run++) {
    const before = server.usage().cpuSeconds;
    const startedMs = performance.now();
    answer = await runQuery(server, spec, window);
    latenciesMs.push(performance.now() - startedMs);
    cpuSeconds.push(server.usage().cpuSeconds - before);
  }
  const grepKey = spec.grep.join('\u0000');
  let greps = grepCache.get(grepKey);
  if (greps === undefined) {
    greps = [];
    for (let run = 0; run < repeat; run++) greps.push(await timeCommand(['grep', ...spec.grep, dataset.rawPath], { env: { LC_ALL: 'C' } }));
    grepCache.set(grepKey, greps);
  }
  const grepMs = median(greps.map((g) => g.wallSeconds)) * 1000;
  const grepCpuSeconds = median(greps.map((g) => g.cpuSeconds));
  const latencyMs = median(latenciesMs);
  const serverCpuSeconds = median(cpuSeconds);
  const verifyMessage = spec.verify(answer!);
  return {
    id: spec.id,
    title: spec.title,
    query: spec.query,
    runs: latenciesMs.length,
    latencyMs,
    firstLatencyMs: latenciesMs[0]!,
    serverCpuSeconds,
    rawGbPerCoreSecond: serverCpuSeconds > 0 ? dataset.rawBytes / serverCpuSeconds / 1e9 : Infinity,
    rawGbPerWallSecond: dataset.rawBytes / (latencyMs / 1000) / 1e9,
    grepCommand: `LC_ALL=C grep ${spec.grep.map((arg) => (/^[\w.-]+$/.test(arg) ? arg : `'${arg}'`)).join(' ')} <raw>`,
    grepMs,
    grepCpuSeconds,
    grepCount: Number(greps[0]!.stdout.trim()),
    wallRatioVsGrep: latencyMs / grepMs,
    cpuRatioVsGrep: grepCpuSeconds > 0 ? serverCpuSeconds / grepCpuSeconds : Infinity,
    answerTotal: answer!.total,
    answerSeries: answer!.series,
    correct: verifyMessage === undefined,
    ...(verifyMessage === undefined ? {} : { verifyMessage }),
    ...optionalStat('bytesProcessed', answer!.stats, 'totalBytesProcessed'),
    ...optionalStat('blocksTotal', answer!.stats, 'totalChunks'),
    ...optionalStat('blocksRead', answer!.stats, 'postFilterChunks'),
    ...(spec.target === undefined ? {} : { target: spec.target }),
  };
}
