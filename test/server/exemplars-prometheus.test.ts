// Exemplars against Debian's Prometheus 2.42 (--enable-feature=exemplar-storage): both scrape the same
// OpenMetrics target, and Prometheus also remote_writes (send_exemplars: true) to rankscope with a
// `via` label added. GET and POST /api/v1/query_exemplars must answer as Prometheus does, for the
// scraped and for the remote-written series.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { PROMETHEUS_MISSING as skip, startPrometheus, type PrometheusPeer } from '../support/prometheus-peer.ts';
import { startTestServer, waitFor, type TestServer } from './test-server.ts';

/** Exemplar timestamps are written in the exposition, so both scrapers store the same ones. */
const EXEMPLAR_S = Math.floor(Date.now() / 1000) - 30;

const EXPOSITION = `# TYPE req_duration_seconds histogram
# HELP req_duration_seconds Request latency.
req_duration_seconds_bucket{le="0.1"} 5 # {trace_id="aaa"} 0.05 ${EXEMPLAR_S}.123
req_duration_seconds_bucket{le="1"} 7 # {trace_id="bbb",span_id="s1"} 0.7 ${EXEMPLAR_S + 1}
req_duration_seconds_bucket{le="+Inf"} 8
req_duration_seconds_sum 3.2
req_duration_seconds_count 8
# TYPE jobs counter
jobs_total 3 # {trace_id="ccc"} 1 ${EXEMPLAR_S + 2}.5
# EOF
`;

let target: Server;
let server: TestServer;
let prometheus: PrometheusPeer | undefined;
let prometheusUrl = '';

before(async () => {
  target = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
    response.end(EXPOSITION);
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const targetAddress = `127.0.0.1:${(target.address() as { port: number }).port}`;
  const scrapeConfigs = [{ job_name: 'ex', scrape_interval: '1s', static_configs: [{ targets: [targetAddress] }] }];
  server = await startTestServer({ scrape_configs: scrapeConfigs } as never);
  if (skip !== false) return;
  prometheus = await startPrometheus(
    `scrape_configs:
  - job_name: ex
    scrape_interval: 1s
    static_configs: [{ targets: ['${targetAddress}'] }]
remote_write:
  - url: ${server.url}/api/v1/write
    send_exemplars: true
    queue_config: { batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 500ms }
    write_relabel_configs: [{ target_label: via, replacement: prometheus }]
`,
    ['--enable-feature=exemplar-storage'],
  );
  prometheusUrl = prometheus.url;
});

after(async () => {
  await prometheus?.stop();
  await server?.dispose();
  await new Promise((resolve) => target?.close(resolve));
});

/** null: a 204 with no body (a query without selectors). */
type ExemplarAnswer = { status: string; data: Array<{ seriesLabels: Record<string, string>; exemplars: unknown[] }>; errorType?: string } | null;

async function exemplars(url: string, query: string, method: 'GET' | 'POST' = 'GET'): Promise<{ status: number; body: ExemplarAnswer }> {
  const params = new URLSearchParams({ query, start: String(EXEMPLAR_S - 60), end: String(EXEMPLAR_S + 60) });
  const response = method === 'GET'
    ? await fetch(`${url}/api/v1/query_exemplars?${params}`)
    : await fetch(`${url}/api/v1/query_exemplars`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: params.toString() });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as ExemplarAnswer };
}

/** Waits until a query finds `count` series with exemplars. */
function seriesFound(url: string, query: string, count: number, who: string): Promise<ExemplarAnswer> {
  return waitFor(async () => {
    const { body } = await exemplars(url, query).catch(() => ({ body: undefined }));
    return body?.data.length === count ? body : undefined;
  }, 60_000, `${who}: ${count} series with exemplars for ${query}\n${prometheus?.log().slice(-1500) ?? ''}`);
}

test('query_exemplars answers as Prometheus does, for scraped and remote-written exemplars', { timeout: 120_000, skip }, async () => {
  const theirs = await seriesFound(prometheusUrl, 'req_duration_seconds_bucket', 2, 'Prometheus');
  assert.deepEqual(theirs!.data.map((series) => series.seriesLabels.le), ['0.1', '1'], 'Prometheus stores the two exemplars');
  // rankscope's own scrape of the same target.
  const ours = await seriesFound(server.url, 'req_duration_seconds_bucket{via=""}', 2, 'rankscope scrape');
  assert.deepEqual(ours, theirs);
  // Prometheus' remote write of its scrape: the same exemplars on the series with `via` added.
  const written = await seriesFound(server.url, 'req_duration_seconds_bucket{via="prometheus"}', 2, 'rankscope remote write');
  assert.deepEqual(written!.data, theirs!.data.map((series) => ({ ...series, seriesLabels: { ...series.seriesLabels, via: 'prometheus' } })));

  for (const query of ['rate(jobs_total{via=""}[5m]) * on() group_left() sum(req_duration_seconds_count{via=""})', '1 + 1']) {
    const expected = (await exemplars(prometheusUrl, query.replaceAll('{via=""}', ''))).body;
    for (const method of ['GET', 'POST'] as const) {
      const got = await exemplars(server.url, query, method);
      assert.equal(got.status, expected === null ? 204 : 200, `${method} ${query}`);
      assert.deepEqual(got.body, expected, `${method} ${query}`);
    }
  }
  const bad = await exemplars(server.url, 'rate(');
  assert.equal(bad.status, 400);
  assert.equal(bad.body?.errorType, 'bad_data');
  assert.equal((await exemplars(prometheusUrl, 'rate(')).status, 400);
});
