// Queries over the whole data set through the server's HTTP API, each checked against the answer
// counted at generation time and timed against the grep command that does the same job on the raw
// file, in the same run.

import { readFile } from 'node:fs/promises';
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
  /** Returns a message when the answer is wrong; `grepCount` is the grep's count in the same run. */
  verify(answer: QueryAnswer, grepCount: number): string | undefined;
  /** A parser query (json, logfmt, regexp, pattern): reported with its previous figure. */
  parser?: boolean;
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
  /** The same query on the --before-repo server in the same run (parser queries), or why it failed. */
  before?: { repo: string; latencyMs?: number; serverCpuSeconds?: number; correct?: boolean; error?: string };
  /** The same query's figures in the previous run's results.json (same --out), when it had them. */
  previous?: { latencyMs: number; wallRatioVsGrep: number; rawGbPerCoreSecond: number; finishedAt?: string };
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

/** The loss-curve stage list: the step line's loss, as a Grafana panel would read it. */
const LOSS_PIPELINE = '|= "| loss " | pattern "<_> step <_>/<_> | loss <loss> | <_>" | unwrap loss';

/**
 * Parser queries (issue 9 item 5): each counts or reads lines the matching `grep -c` also counts, so
 * the answer is checked against grep's count from the same run where the two must agree.
 */
export interface ParserQueryShape {
  id: string;
  title: string;
  kind: 'instant' | 'range';
  /** The query text for a whole-data-set range (`all`) and the range query's step. */
  query(all: string, step: string): string;
  grep: string[];
  /** Whether the answer's total must equal grep's count. */
  totalIsGrepCount: boolean;
}

export const PARSER_QUERY_SHAPES: ParserQueryShape[] = [
  {
    id: 'loss-curve',
    title: 'pattern + unwrap loss avg_over_time',
    kind: 'range',
    query: (_all, step) => `avg by (rank) (avg_over_time({job="train"} ${LOSS_PIPELINE} [${step}]))`,
    grep: ['-c', '-F', '| loss '],
    totalIsGrepCount: false,
  },
  {
    id: 'loss-curve-rank0',
    title: 'loss curve of rank 0 (issue 9 shape)',
    kind: 'range',
    query: (_all, step) => `avg_over_time({job="train", rank="0"} ${LOSS_PIPELINE} [${step}])`,
    grep: ['-c', '-E', '^\\[rank0\\]:.*\\| loss '],
    totalIsGrepCount: false,
  },
  {
    id: 'json-filter',
    title: `json + label filter (loss > ${JSON_LOSS_THRESHOLD})`,
    kind: 'instant',
    query: (all) => `sum(count_over_time({job="train"} | json | event="train_metrics" and loss > ${JSON_LOSS_THRESHOLD} [${all}]))`,
    grep: ['-c', '-F', '"event": "train_metrics"'],
    totalIsGrepCount: false,
  },
  {
    id: 'json-every-line',
    title: `json on every line, __error__="" | loss > ${JSON_LOSS_THRESHOLD}`,
    kind: 'instant',
    query: (all) => `sum(count_over_time({job="train"} | json | __error__="" | loss > ${JSON_LOSS_THRESHOLD} [${all}]))`,
    grep: ['-c', '-F', '"event": "train_metrics"'],
    totalIsGrepCount: false,
  },
  {
    id: 'logfmt',
    title: 'logfmt | grad_norm != ""',
    kind: 'instant',
    query: (all) => `sum(count_over_time({job="train"} | logfmt | grad_norm != "" [${all}]))`,
    grep: ['-c', '-F', 'grad_norm='],
    totalIsGrepCount: true,
  },
  {
    id: 'regexp',
    title: 'regexp "step (?P<step>…)/…" | step != ""',
    kind: 'instant',
    query: (all) => `sum(count_over_time({job="train"} | regexp "step (?P<step>[0-9]+)/(?P<total>[0-9]+)" | step != "" [${all}]))`,
    grep: ['-c', '-E', 'step [0-9]+/[0-9]+'],
    totalIsGrepCount: true,
  },
];

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
      id: 'last-lines-rank',
      title: 'last 100 lines of one rank',
      kind: 'log',
      query: '{job="train", rank="3"}',
      limit: 100,
      grep: ['-c', '-F', '[rank3]:'],
      verify: expectTotal(100),
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
    ...PARSER_QUERY_SHAPES.map((shape) => parserSpec(shape, dataset, all, step)),
  ];
}

function parserSpec(shape: ParserQueryShape, dataset: Dataset, all: string, step: string): QuerySpec {
  const spec: QuerySpec = {
    id: shape.id,
    title: shape.title,
    kind: shape.kind,
    query: shape.query(all, step),
    grep: shape.grep,
    parser: true,
    // Issue 9: json, logfmt and regexp pipelines within 5× of grep -c on the same bytes.
    ...(shape.id.startsWith('loss-curve') ? {} : { target: { grepRatio: 5 } }),
    verify: (answer, grepCount) =>
      shape.totalIsGrepCount && answer.total !== grepCount ? `counted ${answer.total}, grep counted ${grepCount}` : undefined,
  };
  const inRange = (answer: QueryAnswer) => answer.values.find((value) => !(value > 1 && value < 20));
  if (shape.id === 'loss-curve') {
    spec.verify = (answer) => {
      if (answer.series !== 8) return `${answer.series} series, expected one per rank (8)`;
      const bad = inRange(answer);
      return bad === undefined ? undefined : `loss value ${bad} outside the generated range`;
    };
  } else if (shape.id === 'loss-curve-rank0') {
    spec.verify = (answer) => {
      if (answer.series !== 1) return `${answer.series} series, expected 1 (rank 0)`;
      const bad = inRange(answer);
      return bad === undefined ? undefined : `loss value ${bad} outside the generated range`;
    };
  } else if (shape.id.startsWith('json')) {
    spec.verify = (answer) => (answer.total === dataset.expected.jsonHighLoss ? undefined : `counted ${answer.total}, expected ${dataset.expected.jsonHighLoss}`);
  }
  return spec;
}

/** The previous run's query figures by id, from results.json in the output directory (empty when absent). */
export async function previousQueryFigures(resultsPath: string): Promise<Map<string, NonNullable<QueryMeasurement['previous']>>> {
  const figures = new Map<string, NonNullable<QueryMeasurement['previous']>>();
  let text: string;
  try {
    text = await readFile(resultsPath, 'utf8');
  } catch {
    return figures;
  }
  try {
    const results = JSON.parse(text) as { finishedAt?: string; queries?: Array<Partial<QueryMeasurement>> };
    for (const query of results.queries ?? []) {
      if (typeof query.id !== 'string' || typeof query.latencyMs !== 'number') continue;
      figures.set(query.id, {
        latencyMs: query.latencyMs,
        wallRatioVsGrep: query.wallRatioVsGrep ?? NaN,
        rawGbPerCoreSecond: query.rawGbPerCoreSecond ?? NaN,
        ...(results.finishedAt === undefined ? {} : { finishedAt: results.finishedAt }),
      });
    }
  } catch {
    // An unreadable previous file only means there is nothing to compare with.
  }
  return figures;
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
  previous?: QueryMeasurement['previous'],
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
  const grepCount = Number(greps[0]!.stdout.trim());
  const verifyMessage = spec.verify(answer!, grepCount);
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
    grepCount,
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
    ...(previous === undefined ? {} : { previous }),
  };
}
