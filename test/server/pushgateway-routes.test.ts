// The Pushgateway API held against the real one (Debian's prometheus-pushgateway, started here): the
// same PUT/POST/DELETE sequence, consistent and inconsistent pushes, to both; the same status codes,
// the same groups in GET /api/v1/metrics, and the series its /metrics exposes are exactly the series
// a query over rankscope's TSDB answers (empty label values dropped, as a Prometheus scrape with
// honor_labels drops them). Push times are compared as set or unset, never by value.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { parseExposition } from '../../src/push/exposition-parse.ts';
import { encodeMetricFamiliesDelimited } from '../../src/push/metric-family-proto.ts';
import { startTestServer, type TestServer } from './test-server.ts';
import { freePort, pollUntil } from '../support/peers.ts';

const PUSHGATEWAY = '/usr/bin/prometheus-pushgateway';
const WAIT_MS = 20_000;

let server: TestServer;
let gateway: ChildProcess | undefined;
let gatewayUrl: string;
let gatewayLog = '';


function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return pollUntil(what, probe, { timeoutMs: WAIT_MS, intervalMs: 50, context: () => `pushgateway log:\n${gatewayLog.slice(-2000)}` });
}

before(async () => {
  server = await startTestServer({ pushgateway: { sample_interval: '200ms' } });
  if (!existsSync(PUSHGATEWAY)) return;
  const port = await freePort();
  gatewayUrl = `http://127.0.0.1:${port}`;
  gateway = spawn(PUSHGATEWAY, [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file='], { stdio: ['ignore', 'ignore', 'pipe'] });
  gateway.stderr!.on('data', (chunk: Buffer) => (gatewayLog += chunk.toString()));
  await waitFor('the pushgateway to start', async () => ((await fetch(`${gatewayUrl}/-/ready`)).ok ? true : undefined));
});

after(async () => {
  if (gateway !== undefined && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway!.once('exit', resolve));
    gateway.kill('SIGTERM');
    await exited;
  }
  await server?.dispose();
});

interface Step {
  method: 'PUT' | 'POST' | 'DELETE';
  path: string;
  body?: string | Buffer;
  gzip?: boolean;
  status: number;
}

const PROTOBUF_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

/** What a Go client pushes: delimited MetricFamily messages (client_model types 0 counter … 4 histogram). */
const PROTOBUF_BODY = encodeMetricFamiliesDelimited([
  { name: 'proto_requests_total', help: 'Requests.', type: 0, metric: [{ label: [{ name: 'code', value: '200' }], counter: { value: 12 } }] },
  { name: 'proto_temperature', type: 1, metric: [{ gauge: { value: 21.5 } }] },
  { name: 'proto_latency_seconds', help: 'Latency.', type: 4, metric: [{ histogram: { sample_count: 4, sample_sum: 1.25, bucket: [{ cumulative_count: 1, upper_bound: 0.1 }, { cumulative_count: 3, upper_bound: 1 }] } }] },
  { name: 'proto_step_seconds', type: 2, metric: [{ summary: { sample_count: 2, sample_sum: 0.5, quantile: [{ quantile: 0.5, value: 0.2 }] } }] },
]);

const HISTOGRAM_AND_SUMMARY = [
  '# HELP h A histogram.',
  '# TYPE h histogram',
  'h_bucket{le="1"} 1',
  'h_bucket{le="+Inf"} 2',
  'h_sum 3',
  'h_count 2',
  '# TYPE s summary',
  's{quantile="0.5"} 1',
  's_sum 2',
  's_count 3',
  '',
].join('\n');

/** The sequence, with the status both answer. */
const STEPS: Step[] = [
  { method: 'PUT', path: 'job/j1/inst/i1', body: '# TYPE foo gauge\nfoo{a="1"} 3\nfoo{a="2",instance="x"} 4\n# HELP bar_total Bars.\n# TYPE bar_total counter\nbar_total 5\n', status: 200 },
  // Untyped and counter `foo` while j1's is a gauge.
  { method: 'PUT', path: 'job/j2/inst/i1', body: 'foo{inst="other"} 3\n', status: 400 },
  { method: 'PUT', path: 'job/j3', body: '# TYPE foo counter\nfoo 3\n', status: 400 },
  { method: 'PUT', path: 'job/j4', body: '# TYPE foo gauge\nfoo 3 1234\n', status: 400 },
  // Body labels of the grouping key's names are overwritten by the key.
  { method: 'PUT', path: 'job/j5', body: '# TYPE foo gauge\nfoo{job="j1",inst="i1",a="1"} 5\n', status: 200 },
  // job@base64 (ajE = j1): replaces j1's group, bar_total goes.
  { method: 'PUT', path: 'job@base64/ajE/inst/i1', body: '# TYPE foo gauge\nfoo{a="3"} 6\n', status: 200 },
  { method: 'POST', path: 'job/j1/inst/i1', body: '# TYPE baz gauge\nbaz 1\n', status: 200 },
  { method: 'POST', path: 'job/j1/inst/i1', body: '# TYPE baz gauge\nbaz 2\n', status: 200 },
  // An empty value can only be sent in base64 (`=`).
  { method: 'PUT', path: 'job/j6/inst@base64/=', body: '# TYPE foo gauge\nfoo{a="1"} 7\n', status: 200 },
  { method: 'PUT', path: 'job/j7', body: '# TYPE foo gauge\nfoo 3\nfoo 4\n', status: 400 },
  { method: 'PUT', path: 'job/j8', body: 'foo{ 3\n', status: 400 },
  // A value with slashes (L3Zhci90bXA = /var/tmp).
  { method: 'PUT', path: 'job/j9/path@base64/L3Zhci90bXA', body: '# TYPE foo gauge\nfoo{a="1"} 8\n', status: 200 },
  // Would collide with j1/i1's foo{a="3"}: same name and labels from another group.
  { method: 'PUT', path: 'job/j1', body: '# TYPE foo gauge\nfoo{inst="i1",a="3"} 1\n', status: 400 },
  { method: 'PUT', path: 'job/j13', body: HISTOGRAM_AND_SUMMARY, status: 200 },
  { method: 'PUT', path: 'job/j13/extra/gz', body: HISTOGRAM_AND_SUMMARY, gzip: true, status: 200 },
  // Another HELP for foo is tolerated.
  { method: 'POST', path: 'job/j10', body: '# HELP foo Other help.\n# TYPE foo gauge\nfoo{b="2"} 3\n', status: 200 },
  { method: 'PUT', path: 'job/j5', body: '', status: 200 },
  { method: 'POST', path: 'job/j9/path@base64/L3Zhci90bXA', body: '', status: 200 },
  { method: 'DELETE', path: 'job/j3', status: 202 },
  { method: 'DELETE', path: 'job/nope', status: 202 },
  { method: 'PUT', path: 'job/j11/odd', body: 'foo 1\n', status: 400 },
  { method: 'PUT', path: 'job/proto/instance/p1', body: PROTOBUF_BODY, status: 200 },
  { method: 'POST', path: 'job/proto/instance/p2', body: PROTOBUF_BODY, gzip: true, status: 200 },
  // Garbage that claims to be protobuf.
  { method: 'PUT', path: 'job/proto/instance/p3', body: Buffer.from([0x05, 0xff, 0xff]), status: 400 },
];

async function send(baseUrl: string, step: Step): Promise<number> {
  const headers: Record<string, string> = { 'content-type': Buffer.isBuffer(step.body) ? PROTOBUF_TYPE : 'text/plain; version=0.0.4' };
  let body: Buffer | undefined = step.body === undefined ? undefined : Buffer.from(step.body);
  if (step.gzip === true && body !== undefined) {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  const response = await fetch(`${baseUrl}/metrics/${step.path}`, { method: step.method, headers, ...(body === undefined ? {} : { body: new Uint8Array(body) }) });
  await response.arrayBuffer();
  return response.status;
}

type Group = Record<string, unknown> & { labels: Record<string, string> };

/** Groups without push-time values and timestamps, sorted, so two gateways' answers compare. */
function normalizeGroups(groups: Group[]): unknown[] {
  const sortDeep = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortDeep).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, inner]) => [key, sortDeep(inner)]));
    return value;
  };
  return groups
    .map((group) => {
      const copy = structuredClone(group) as Record<string, { time_stamp?: string; metrics?: Array<{ value?: string }> }>;
      for (const [name, family] of Object.entries(copy)) {
        if (typeof family !== 'object' || family === null || !('metrics' in family)) continue;
        delete family.time_stamp;
        if (name === 'push_time_seconds' || name === 'push_failure_time_seconds') for (const metric of family.metrics!) metric.value = metric.value === '0' ? 'unset' : 'set';
      }
      return sortDeep(copy);
    })
    .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

function seriesKey(labels: Record<string, string>, value: number): string {
  const name = labels.__name__!;
  const shown = name === 'push_time_seconds' || name === 'push_failure_time_seconds' ? (value === 0 ? 'unset' : 'set') : String(value);
  const sorted = Object.keys(labels)
    .filter((label) => labels[label] !== '')
    .sort()
    .map((label) => `${label}=${JSON.stringify(labels[label])}`);
  return `${sorted.join(',')} ${shown}`;
}

test('the same pushes get the same answers and the same groups and series as the real Pushgateway', { skip: existsSync(PUSHGATEWAY) ? false : `${PUSHGATEWAY} is not installed` }, async () => {
  for (const step of STEPS) {
    const theirs = await send(gatewayUrl, step);
    const ours = await send(server.url, step);
    assert.equal(theirs, step.status, `the Pushgateway answers ${step.method} ${step.path} with ${step.status}`);
    assert.equal(ours, theirs, `${step.method} ${step.path}: rankscope answers ${ours}, the Pushgateway ${theirs}`);
  }

  const theirGroups = ((await (await fetch(`${gatewayUrl}/api/v1/metrics`)).json()) as { data: Group[] }).data;
  const ourGroups = ((await (await fetch(`${server.url}/api/v1/metrics`)).json()) as { data: Group[] }).data;
  assert.ok(theirGroups.length >= 8);
  assert.deepEqual(normalizeGroups(ourGroups), normalizeGroups(theirGroups));

  // Their /metrics, the pushed part (every series with a job label), against our TSDB now.
  const exposition = parseExposition(await (await fetch(`${gatewayUrl}/metrics`)).text());
  const theirSeries = exposition.samples.filter((sample) => sample.labels.job !== undefined).map((sample) => seriesKey({ __name__: sample.name, ...sample.labels }, sample.value));
  const query = await (await fetch(`${server.url}/api/v1/query?query=${encodeURIComponent('{job=~".+"}')}`)).json();
  const ourSeries = (query as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result.map((row) => seriesKey(row.metric, Number(row.value[1])));
  assert.ok(theirSeries.length >= 30, `the Pushgateway exposes ${theirSeries.length} pushed series`);
  assert.deepEqual(ourSeries.sort(), theirSeries.sort());
  assert.ok(ourSeries.some((key) => key.startsWith('__name__="h_bucket",job="j13",le="+Inf"')), 'histogram buckets are series');
  assert.ok(ourSeries.includes('__name__="proto_latency_seconds_bucket",instance="p1",job="proto",le="+Inf" 4'), 'a protobuf histogram gets its +Inf bucket');
  assert.ok(!ourSeries.some((key) => key.includes('bar_total')), 'a replaced family is stale, so gone from queries');
});

test('pushed series equal what a scrape of the real Pushgateway with honor_labels: true stores', { skip: existsSync(PUSHGATEWAY) ? false : `${PUSHGATEWAY} is not installed` }, async () => {
  // Runs after the sequence above: both gateways hold the same groups.
  const scraper = await startTestServer({ scrape_configs: [{ job_name: 'pgscrape', scrape_interval: '200ms', honor_labels: true, static_configs: [{ targets: [gatewayUrl.replace('http://', '')] }] }] });
  try {
    const selector = encodeURIComponent('{job=~".+",job!="pgscrape",__name__!~"up|scrape_.*"}');
    const rows = async (url: string): Promise<string[]> => {
      const answer = (await (await fetch(`${url}/api/v1/query?query=${selector}`)).json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      return answer.data.result.map((row) => seriesKey(row.metric, Number(row.value[1]))).sort();
    };
    const scraped = await waitFor('the scrape of the Pushgateway', async () => {
      const result = await rows(scraper.url);
      return result.length > 0 ? result : undefined;
    });
    assert.deepEqual(await rows(server.url), scraped);
  } finally {
    await scraper.dispose();
  }
});

test('the sampler writes each group every interval, so it answers between pushes', async () => {
  const pushed = await fetch(`${server.url}/metrics/job/sampled`, { method: 'PUT', body: '# TYPE sampled_value gauge\nsampled_value 42\n' });
  assert.equal(pushed.status, 200);
  const metadata = (await (await fetch(`${server.url}/api/v1/metadata?metric=sampled_value`)).json()) as { data: Record<string, Array<{ type: string }>> };
  assert.equal(metadata.data.sampled_value?.[0]?.type, 'gauge', 'pushed TYPE lines feed /api/v1/metadata');
  // Samples arrive with no further push: wait for three in the last few seconds.
  await waitFor('the sampler to write the group again', async () => {
    const response = await (await fetch(`${server.url}/api/v1/query?query=${encodeURIComponent('count_over_time(sampled_value[10s])')}`)).json();
    const value = (response as { data: { result: Array<{ value: [number, string] }> } }).data.result[0]?.value[1];
    return value !== undefined && Number(value) >= 3 ? true : undefined;
  });
});

test('a group pushed with a TTL goes stale and is removed when it expires; 0 keeps it', async () => {
  assert.equal((await fetch(`${server.url}/metrics/job/short?ttl=400ms`, { method: 'PUT', body: 'short_lived 1\n' })).status, 200);
  assert.equal((await fetch(`${server.url}/metrics/job/kept`, { method: 'PUT', headers: { 'rankscope-push-ttl': '400ms' }, body: 'kept_value 1\n' })).status, 200);
  assert.equal((await fetch(`${server.url}/metrics/job/kept?ttl=0`, { method: 'POST', body: '' })).status, 200);
  assert.equal((await fetch(`${server.url}/metrics/job/bad?ttl=soon`, { method: 'PUT', body: 'x 1\n' })).status, 400);
  const instant = async (query: string): Promise<number> => {
    const response = await (await fetch(`${server.url}/api/v1/query?query=${encodeURIComponent(query)}`)).json();
    return (response as { data: { result: unknown[] } }).data.result.length;
  };
  assert.equal(await instant('short_lived'), 1);
  await waitFor('the TTL to expire', async () => ((await instant('short_lived')) === 0 ? true : undefined));
  const groups = ((await (await fetch(`${server.url}/api/v1/metrics`)).json()) as { data: Group[] }).data;
  assert.ok(!groups.some((group) => group.labels.job === 'short'), 'the expired group is removed');
  assert.ok(groups.some((group) => group.labels.job === 'kept' && group.ttl_seconds === undefined), 'ttl=0 removed the TTL');
  assert.equal(await instant('kept_value'), 1);
  // Its series were written before the marker: a range query still sees them (gone, not erased).
  const range = await (await fetch(`${server.url}/api/v1/query?query=${encodeURIComponent('count_over_time(short_lived[1m])')}`)).json();
  assert.equal((range as { data: { result: unknown[] } }).data.result.length, 1);
});

test('names of our own /metrics are refused; an unsupported encoding and a missing job are 400s', async () => {
  const reserved = await fetch(`${server.url}/metrics/job/own`, { method: 'PUT', body: 'rankscope_build_info 1\n' });
  assert.equal(reserved.status, 400);
  assert.match(await reserved.text(), /rankscope_build_info collides with rankscope's own metrics/);
  const brotli = await fetch(`${server.url}/metrics/job/br`, { method: 'PUT', headers: { 'content-encoding': 'br' }, body: 'x 1\n' });
  assert.equal(brotli.status, 400);
  assert.match(await brotli.text(), /unsupported Content-Encoding "br"/);
  const noJob = await fetch(`${server.url}/metrics/job/`, { method: 'PUT', body: 'x 1\n' });
  assert.equal(noJob.status, 400);
  assert.equal(await noJob.text(), 'job name is required');
  const status = (await (await fetch(`${server.url}/api/v1/status`)).json()) as { status: string; data: { start_time: string } };
  assert.equal(status.status, 'success');
  assert.ok(!Number.isNaN(Date.parse(status.data.start_time)));
});
