// rankscope's PromQL answers against a real Prometheus (Debian's 2.42): both servers receive the same
// fixed-seed workload by remote write (bench/promql-compare-workload.ts), then every query of the
// table in bench/promql-compare-queries.ts goes through both HTTP APIs, instant and range, and the
// answers must agree: status and error type, result type, label sets, timestamps, and values within
// float tolerance. Evaluation times keep every window's lower bound off the samples, where 2.42's
// left-closed windows and 3.x's left-open ones would differ.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { compareAnswers, PROMETHEUS_BINARY, remoteWriteToAll, runQuery, startPrometheusReceiver, type PrometheusPeer } from '../../bench/promql-compare-peers.ts';
import { compareQueries } from '../../bench/promql-compare-queries.ts';
import { compareWorkload, type CompareWorkload } from '../../bench/promql-compare-workload.ts';
import { pollUntil } from '../support/peers.ts';
import { startTestServer, type TestServer } from '../server/test-server.ts';

const HOURS = 2;
/** The cases whose right answer is no series at all. */
const EXPECTED_EMPTY = ['absent of present', 'staleness marker: gone at once', 'no marker: past lookback'];
const available = existsSync(PROMETHEUS_BINARY);

let server: TestServer | undefined;
let prometheus: PrometheusPeer | undefined;
let workDir: string | undefined;
let workload: CompareWorkload;

before(async () => {
  if (!available) return;
  workDir = mkdtempSync(join(tmpdir(), 'rankscope-promql-compare-'));
  // The workload ends a minute before now, so no sample is in the future for either server.
  const endMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  workload = compareWorkload({ series: 120, hours: HOURS, seed: 12, startMs: endMs - HOURS * 3_600_000 });
  [server, prometheus] = await Promise.all([startTestServer(), startPrometheusReceiver(workDir)]);
  await remoteWriteToAll([server.url, prometheus.url], workload, { batchSeries: 500, concurrency: 2 });
});

after(async () => {
  await prometheus?.stop();
  await server?.dispose();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

test('the same PromQL queries give the same answers from rankscope and Prometheus 2.42', { timeout: 300_000, skip: available ? false : `${PROMETHEUS_BINARY} is not installed` }, async () => {
  // Both acknowledged every write; wait until both also count every series at the last scrape.
  const countSpec = { id: 'count', query: 'count({__name__=~".+"})', timeMs: workload.endMs };
  await pollUntil('both servers to hold the workload', async () => {
    const answers = await Promise.all([runQuery(server!.url, countSpec), runQuery(prometheus!.url, countSpec)]);
    const counts = answers.map((answer) => ((answer.data?.result as Array<{ value: [number, string] }> | undefined)?.[0]?.value[1]));
    return counts[0] !== undefined && counts[0] === counts[1] && Number(counts[0]) > 0 ? counts : undefined;
  }, { timeoutMs: 60_000, intervalMs: 200, context: () => prometheus!.log() });

  const specs = compareQueries(workload.startMs, workload.endMs);
  const failures: string[] = [];
  const empty: string[] = [];
  for (const spec of specs) {
    const [ours, theirs] = await Promise.all([runQuery(server!.url, spec), runQuery(prometheus!.url, spec)]);
    const differences = compareAnswers(spec, ours, theirs);
    if (differences.length > 0) failures.push(`${spec.id} (${spec.range === undefined ? 'instant' : 'range'}) ${spec.query}\n    ${differences.slice(0, 5).join('\n    ')}`);
    const result = theirs.data?.result;
    if (theirs.status === 'success' && Array.isArray(result) && result.length === 0) empty.push(spec.id);
  }
  console.log(`# Prometheus comparison: ${specs.length - failures.length}/${specs.length} queries agree over ${workload.seriesCount} series × ${workload.steps} scrapes`);
  assert.deepEqual(failures, [], `${failures.length} of ${specs.length} queries differ from Prometheus:\n${failures.join('\n')}`);
  // A table of empty answers would agree trivially: only the cases about absence may be empty.
  assert.deepEqual(empty, EXPECTED_EMPTY);
});

test('series, labels and label values over the same data match Prometheus 2.42', { timeout: 120_000, skip: available ? false : `${PROMETHEUS_BINARY} is not installed` }, async () => {
  const startSeconds = String(workload.startMs / 1000);
  const midSeconds = String((workload.startMs + workload.endMs) / 2000);
  const endSeconds = String(workload.endMs / 1000);
  const cases: Array<[path: string, params: Array<[string, string]>]> = [
    ['series', [['match[]', 'http_requests_total{method="GET"}'], ['match[]', 'gpu_rank_info'], ['start', startSeconds], ['end', endSeconds]]],
    ['series', [['match[]', '{__name__=~"request_duration.*", le=~"0\\\\..*"}'], ['start', startSeconds], ['end', endSeconds]]],
    ['labels', [['start', startSeconds], ['end', endSeconds]]],
    ['labels', [['match[]', 'node_uname_info'], ['start', startSeconds], ['end', endSeconds]]],
    ['label/__name__/values', [['start', startSeconds], ['end', endSeconds]]],
    ['label/instance/values', [['match[]', 'node_uname_info{release="6.1.0"}'], ['start', startSeconds], ['end', endSeconds]]],
    ['label/le/values', [['start', startSeconds], ['end', endSeconds]]],
    ['label/job/values', [['match[]', 'batch_job_progress'], ['start', startSeconds], ['end', midSeconds]]],
    ['label/job/values', [['match[]', '{__name__=~"http.*|DCGM.*"}'], ['start', midSeconds], ['end', endSeconds]]],
  ];
  // Not compared: a time range that holds only a series' staleness marker or none of its samples but
  // overlaps the head; Prometheus lists such series (its head index does not look at sample times).
  const failures: string[] = [];
  for (const [path, params] of cases) {
    const body = new URLSearchParams(params).toString();
    const [ours, theirs] = await Promise.all([server!.url, prometheus!.url].map(async (baseUrl) => {
      // GET: Prometheus takes POST forms for series and labels, but not for label values.
      const response = await fetch(`${baseUrl}/api/v1/${path}?${body}`);
      return { status: response.status, body: (await response.json()) as { data: unknown } };
    }));
    const normalise = (data: unknown): unknown => (Array.isArray(data) ? data.map((item) => (typeof item === 'string' ? item : JSON.stringify(Object.entries(item as Record<string, string>).sort()))).sort() : data);
    if (ours!.status !== theirs!.status) failures.push(`${path} ${body}: status ${ours!.status} vs ${theirs!.status}`);
    else assert.ok(Array.isArray(theirs!.body.data) && theirs!.body.data.length > 0, `${path} ${body} is not empty in Prometheus`);
    try {
      assert.deepEqual(normalise(ours!.body.data), normalise(theirs!.body.data));
    } catch {
      failures.push(`${path} ${body}: ours ${JSON.stringify(ours!.body.data).slice(0, 300)}, Prometheus ${JSON.stringify(theirs!.body.data).slice(0, 300)}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('time and step parameters in every form Prometheus takes give the same answers', { timeout: 120_000, skip: available ? false : `${PROMETHEUS_BINARY} is not installed` }, async () => {
  const endMs = workload.endMs - 90_000;
  const rfc3339 = (ms: number): string => new Date(ms).toISOString();
  const cases: Array<[path: string, params: Record<string, string>]> = [
    ['query', { query: 'sum(rate(http_requests_total[5m]))', time: rfc3339(endMs) }],
    ['query', { query: 'sum(rate(http_requests_total[5m]))', time: (endMs / 1000).toFixed(3) }],
    ['query_range', { query: 'sum by (job) (rate(http_requests_total[5m]))', start: rfc3339(endMs - 3_600_000), end: rfc3339(endMs), step: '1m30s' }],
    ['query_range', { query: 'avg(DCGM_FI_DEV_GPU_TEMP)', start: String((endMs - 3_600_000) / 1000), end: String(endMs / 1000), step: '45.5' }],
    ['query_range', { query: 'max(DCGM_FI_DEV_GPU_UTIL)', start: String(endMs / 1000), end: String(endMs / 1000 - 60), step: '15' }],
    ['query_range', { query: 'max(DCGM_FI_DEV_GPU_UTIL)', start: String(endMs / 1000), end: String(endMs / 1000 + 60), step: '0' }],
    ['query_range', { query: 'max(DCGM_FI_DEV_GPU_UTIL)', start: 'yesterday', end: String(endMs / 1000), step: '15' }],
    ['query', { query: 'max(DCGM_FI_DEV_GPU_UTIL)', time: String(endMs / 1000), timeout: '1x' }],
  ];
  const failures: string[] = [];
  for (const [path, params] of cases) {
    const spec = { id: `${path} ${JSON.stringify(params)}`, query: params.query! };
    const [ours, theirs] = await Promise.all([server!.url, prometheus!.url].map(async (baseUrl) => {
      const response = await fetch(`${baseUrl}/api/v1/${path}?${new URLSearchParams(params)}`);
      return { httpStatus: response.status, ...((await response.json()) as { status: string; errorType?: string; error?: string; data?: { resultType: string; result: unknown } }) };
    }));
    const differences = compareAnswers(path === 'query' ? { ...spec, timeMs: 0 } : { ...spec, range: { startMs: 0, endMs: 0, stepMs: 1 } }, ours!, theirs!);
    if (ours!.httpStatus !== theirs!.httpStatus) differences.push(`HTTP ${ours!.httpStatus} vs ${theirs!.httpStatus}`);
    if (differences.length > 0) failures.push(`${spec.id}: ${differences.slice(0, 3).join('; ')}`);
  }
  assert.deepEqual(failures, []);
});
