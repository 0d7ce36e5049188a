// A real Prometheus (Debian's 2.42 binary) scrapes a target served by this test and remote_writes to
// rankscope; the series, label and metadata APIs then show what Prometheus itself holds.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from './test-server.ts';
import { PROMETHEUS_MISSING, startPrometheus, type PrometheusPeer } from '../support/prometheus-peer.ts';

let server: TestServer;
let target: Server;
let prometheus: PrometheusPeer | undefined;
let prometheusUrl: string;
let scrapes = 0;

function exposition(): string {
  scrapes++;
  return [
    '# HELP test_requests_total Requests served.',
    '# TYPE test_requests_total counter',
    `test_requests_total{path="/a"} ${scrapes * 3}`,
    `test_requests_total{path="/b"} ${scrapes}`,
    '# HELP test_temperature_celsius GPU temperature.',
    '# TYPE test_temperature_celsius gauge',
    `test_temperature_celsius{gpu="0"} ${60 + (scrapes % 5)}`,
    '# HELP test_latency_seconds Latency.',
    '# TYPE test_latency_seconds histogram',
    `test_latency_seconds_bucket{le="0.1"} ${scrapes}`,
    `test_latency_seconds_bucket{le="1"} ${scrapes * 2}`,
    `test_latency_seconds_bucket{le="+Inf"} ${scrapes * 2}`,
    `test_latency_seconds_sum ${scrapes * 0.7}`,
    `test_latency_seconds_count ${scrapes * 2}`,
    '# HELP test_step_seconds Step time.',
    '# TYPE test_step_seconds summary',
    'test_step_seconds{quantile="0.5"} 0.25',
    'test_step_seconds{quantile="0.99"} 0.5',
    `test_step_seconds_sum ${scrapes * 0.3}`,
    `test_step_seconds_count ${scrapes}`,
    '',
  ].join('\n');
}


function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return prometheus!.waitFor(what, probe);
}

async function data<T>(url: string): Promise<T> {
  const response = await fetch(url);
  const body = (await response.json()) as { status: string; data: T };
  assert.equal(body.status, 'success', `${url}: ${JSON.stringify(body)}`);
  return body.data;
}

const sortKey = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).sort());

before(async () => {
  server = await startTestServer();
  target = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    response.end(exposition());
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const targetPort = (target.address() as AddressInfo).port;
  if (PROMETHEUS_MISSING !== false) return;
  prometheus = await startPrometheus(
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: target',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${targetPort}']`,
      'remote_write:',
      `  - url: ${server.url}/api/v1/write`,
      '    queue_config:',
      '      batch_send_deadline: 1s',
      '      min_backoff: 100ms',
      '    metadata_config:',
      '      send_interval: 1s',
      '',
    ].join('\n'),
  );
  prometheusUrl = prometheus.url;
});

after(async () => {
  await prometheus?.stop();
  target?.close();
  await server?.dispose();
});

test('Prometheus 2.42 remote_writes its scrapes; series, labels and metadata match its own API', { timeout: 120_000, skip: PROMETHEUS_MISSING }, async () => {
  const names = ['test_requests_total', 'test_temperature_celsius', 'test_latency_seconds_bucket', 'test_latency_seconds_sum', 'test_latency_seconds_count', 'test_step_seconds', 'test_step_seconds_sum', 'test_step_seconds_count', 'up', 'scrape_duration_seconds'];
  const match = names.map((name) => `match[]=${name}`).join('&');
  // Wait until every series Prometheus holds has arrived here.
  const theirs = await waitFor('Prometheus to scrape the target', async () => {
    const series = await data<Array<Record<string, string>>>(`${prometheusUrl}/api/v1/series?${match}`);
    // 12 series in the exposition, plus up and scrape_duration_seconds.
    return series.length >= 14 ? series : undefined;
  });
  const ours = await waitFor('the series to arrive by remote_write', async () => {
    const series = await data<Array<Record<string, string>>>(`${server.url}/api/v1/series?${match}`);
    return series.length >= theirs.length ? series : undefined;
  });
  assert.deepEqual(ours.map(sortKey).sort(), theirs.map(sortKey).sort());
  assert.ok(ours.some((labels) => labels.__name__ === 'test_latency_seconds_bucket' && labels.le === '+Inf'), 'classic histogram buckets are plain series');
  assert.ok(ours.some((labels) => labels.__name__ === 'test_step_seconds' && labels.quantile === '0.99'), 'summary quantiles are plain series');

  const ourJobs = await data<string[]>(`${server.url}/api/v1/label/job/values`);
  assert.deepEqual(ourJobs, ['target']);
  const ourLabels = await data<string[]>(`${server.url}/api/v1/labels?match[]={job="target"}`);
  const theirLabels = await data<string[]>(`${prometheusUrl}/api/v1/labels?match[]={job="target"}`);
  assert.deepEqual(ourLabels, theirLabels);

  const metadata = await waitFor('remote_write metadata', async () => {
    const found = await data<Record<string, Array<{ type: string; help: string }>>>(`${server.url}/api/v1/metadata`);
    return found.test_latency_seconds !== undefined && found.test_requests_total !== undefined ? found : undefined;
  });
  assert.deepEqual(metadata.test_latency_seconds![0], { type: 'histogram', help: 'Latency.', unit: '' });
  assert.deepEqual(metadata.test_requests_total![0], { type: 'counter', help: 'Requests served.', unit: '' });

  // Samples: the counter's values grow with each scrape, in order, as Prometheus scraped them.
  const matchers = [{ name: '__name__', type: '=' as const, value: 'test_requests_total' }, { name: 'path', type: '=' as const, value: '/b' }];
  const samples = await waitFor('three scrapes of the counter', async () => {
    const found = await server.tsdb!.select('fake', { matchers, startMs: 0, endMs: Date.now() + 60_000 });
    return found.length === 1 && found[0]!.values.length >= 3 ? found : undefined;
  });
  const values = [...samples[0]!.values];
  const times = [...samples[0]!.timestampsMs];
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 500, `about one scrape a second: ${times.join(', ')}`);
  for (let i = 1; i < values.length; i++) assert.ok(values[i]! > values[i - 1]!, `counter increases: ${values.join(', ')}`);
});
