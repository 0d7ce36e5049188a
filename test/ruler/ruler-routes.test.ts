// The ruler API over real HTTP (127.0.0.1, random port): Loki's rule management in YAML, the
// Prometheus-shaped rules/alerts listings Grafana reads, and what the rules hand to the metrics store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { parse } from 'yaml';
import type { QueryParams, QueryResult } from '../../src/logql/api.ts';
import { defaultRulerConfig, startRuler, type RecordedSample, type Ruler } from '../../src/ruler/index.ts';
import { rulerRoutes } from '../../src/server/ruler-routes.ts';
import { until } from '../support/until.ts';

const stats = { bytesProcessed: 0, linesProcessed: 0, blocksRead: 0, blocksSkipped: 0, execTimeSeconds: 0 };
const root = mkdtempSync(join(tmpdir(), 'rankscope-routes-'));
let app: FastifyInstance;
let ruler: Ruler;
let base: string;
/** What the ruler appended to the metrics store, per tenant. */
const appended: Array<{ tenant: string; timestampMs: number; samples: RecordedSample[] }> = [];

class NoAuthError extends Error {
  statusCode = 401;
}

before(async () => {
  const engine = {
    async query(params: QueryParams): Promise<QueryResult> {
      const timestampMs = Number(params.endNs / 1_000_000n);
      if (params.query.startsWith('sum by (job)')) {
        return { resultType: 'vector', samples: [{ labels: { job: 'train' }, value: 42.5, timestampMs }, { labels: { job: 'eval' }, value: 1, timestampMs }], stats };
      }
      return { resultType: 'vector', samples: [{ labels: { pod: 'p1' }, value: 3, timestampMs }], stats };
    },
  };
  ruler = startRuler({
    engine,
    appendSamples: async (tenant, timestampMs, samples) => {
      appended.push({ tenant, timestampMs, samples });
    },
    config: defaultRulerConfig({ poll_interval: '1h', enable_training_rules: true }),
    dataDir: join(root, 'data'),
    logger: { info() {}, warn() {}, error() {} },
  });
  app = Fastify();
  await app.register(rulerRoutes, {
    ruler,
    tenantOf: (request) => {
      const header = request.headers['x-scope-orgid'];
      if (typeof header !== 'string' || header === '') throw new NoAuthError('no org id');
      return header;
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});

after(async () => {
  await app.close();
  await ruler.stop();
  rmSync(root, { recursive: true, force: true });
});

const headers = { 'x-scope-orgid': 'team-a' };

const GROUP = `name: throughput
interval: 100ms
rules:
  - record: job:lines:rate1m
    expr: sum by (job) (rate({job=~".+"}[1m]))
  - alert: ManyTracebacks
    expr: sum by (pod) (count_over_time({job="train"} |= "Traceback" [1m])) > 0
    for: 1h
    labels:
      severity: warning
    annotations:
      summary: "{{ $labels.pod }} has {{ $value }} tracebacks"
`;

test('rule groups are set, listed, fetched and deleted per namespace (Loki API)', async () => {
  let response = await fetch(`${base}/loki/api/v1/rules`, { headers });
  assert.equal(response.status, 404);
  assert.equal(await response.text(), 'no rule groups found');

  response = await fetch(`${base}/loki/api/v1/rules/ops`, { method: 'POST', headers: { ...headers, 'content-type': 'application/yaml' }, body: GROUP });
  assert.equal(response.status, 202);
  assert.deepEqual(await response.json(), { status: 'success', data: null, errorType: '', error: '' });

  response = await fetch(`${base}/loki/api/v1/rules`, { headers });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /yaml/);
  const listed = parse(await response.text()) as Record<string, Array<{ name: string; rules: unknown[] }>>;
  assert.deepEqual(Object.keys(listed), ['ops']);
  assert.equal(listed.ops![0]!.name, 'throughput');
  assert.equal(listed.ops![0]!.rules.length, 2);

  response = await fetch(`${base}/loki/api/v1/rules/ops/throughput`, { headers });
  const group = parse(await response.text()) as { name: string; interval: string; rules: Array<Record<string, unknown>> };
  assert.equal(group.interval, '100ms');
  assert.deepEqual(group.rules[1], {
    alert: 'ManyTracebacks',
    expr: 'sum by (pod) (count_over_time({job="train"} |= "Traceback" [1m])) > 0',
    for: '1h',
    labels: { severity: 'warning' },
    annotations: { summary: '{{ $labels.pod }} has {{ $value }} tracebacks' },
  });
  assert.equal((await fetch(`${base}/loki/api/v1/rules/ops/nope`, { headers })).status, 404);
  // The group is persisted as a file in the rule directory.
  assert.match(readFileSync(join(root, 'data', 'rules', 'team-a', 'ops.yaml'), 'utf8'), /ManyTracebacks/);

  // A bad group is a 400 that says where and what.
  response = await fetch(`${base}/loki/api/v1/rules/ops`, { method: 'POST', headers, body: 'name: bad\nrules:\n  - alert: X\n    expr: vector(1)\n    for: later\n' });
  assert.equal(response.status, 400);
  assert.match(await response.text(), /ops \(request body\):5:10: for: not a valid duration string/);

  // A LogQL syntax error is reported at its line and column in the body.
  response = await fetch(`${base}/loki/api/v1/rules/ops`, { method: 'POST', headers, body: 'name: bad\nrules:\n  - alert: X\n    expr: sum(rate({job="x"}[1m]) >\n' });
  assert.equal(response.status, 400);
  assert.match(await response.text(), /ops \(request body\):4:\d+: could not parse expression: parse error at line 1, col \d+: syntax error/);
  response = await fetch(`${base}/loki/api/v1/rules/ops`, { method: 'POST', headers, body: 'name: bad\nrules:\n  - alert: X\n    expr: \'{job="x"}\'\n' });
  assert.equal(response.status, 400);
  assert.match(await response.text(), /rules need a metric query/);

  response = await fetch(`${base}/loki/api/v1/rules/${'$'.repeat(90)}`, { method: 'POST', headers, body: GROUP });
  assert.equal(response.status, 400);
  assert.match(await response.text(), /invalid namespace/);

  // Another tenant sees nothing; no tenant header is 401.
  assert.equal((await fetch(`${base}/loki/api/v1/rules/ops`, { headers: { 'x-scope-orgid': 'team-b' } })).status, 404);
  assert.equal((await fetch(`${base}/loki/api/v1/rules`)).status, 401);

  // Prometheus-shaped listings.
  const rules = await until('the group to evaluate', async () => {
    const body = (await (await fetch(`${base}/prometheus/api/v1/rules`, { headers })).json()) as {
      status: string;
      data: { groups: Array<{ name: string; file: string; interval: number; lastEvaluation: string; rules: Array<Record<string, unknown>> }> };
    };
    const alerting = body.data.groups[0]?.rules.find((r) => r.type === 'alerting');
    return alerting?.state === 'pending' ? body : undefined;
  });
  assert.equal(rules.status, 'success');
  const [g] = rules.data.groups;
  assert.equal(g!.file, 'ops');
  assert.equal(g!.interval, 0.1);
  const [recording, alerting] = g!.rules;
  assert.equal(recording!.type, 'recording');
  assert.equal(recording!.health, 'ok');
  assert.equal(alerting!.duration, 3600);
  const alert = (alerting!.alerts as Array<Record<string, unknown>>)[0]!;
  assert.deepEqual(alert.labels, { alertname: 'ManyTracebacks', pod: 'p1', severity: 'warning' });
  assert.deepEqual(alert.annotations, { summary: 'p1 has 3 tracebacks' });
  assert.equal(alert.state, 'pending');
  assert.equal(alert.value, '3e+00');
  const onlyRecording = (await (await fetch(`${base}/prometheus/api/v1/rules?type=record`, { headers })).json()) as { data: { groups: Array<{ rules: unknown[] }> } };
  assert.equal(onlyRecording.data.groups[0]!.rules.length, 1);
  const alerts = (await (await fetch(`${base}/prometheus/api/v1/alerts`, { headers })).json()) as { status: string; data: { alerts: Array<{ state: string }> } };
  assert.equal(alerts.data.alerts[0]!.state, 'pending');

  // Recorded samples and Prometheus's ALERTS / ALERTS_FOR_STATE series go to the metrics store.
  const names = (tenant: string) => new Set(appended.filter((a) => a.tenant === tenant).flatMap((a) => a.samples.map((sample) => sample.labels.__name__)));
  assert.deepEqual([...names('team-a')].sort(), ['ALERTS', 'ALERTS_FOR_STATE', 'job:lines:rate1m']);
  const recorded = appended.find((a) => a.tenant === 'team-a' && a.samples.some((sample) => sample.labels.__name__ === 'job:lines:rate1m'))!;
  assert.deepEqual(recorded.samples, [
    { labels: { job: 'train', __name__: 'job:lines:rate1m' }, value: 42.5 },
    { labels: { job: 'eval', __name__: 'job:lines:rate1m' }, value: 1 },
  ]);
  const alertSamples = appended.find((a) => a.tenant === 'team-a' && a.samples.some((sample) => sample.labels.__name__ === 'ALERTS'))!.samples;
  assert.deepEqual(alertSamples[0], { labels: { alertname: 'ManyTracebacks', pod: 'p1', severity: 'warning', __name__: 'ALERTS', alertstate: 'pending' }, value: 1 });
  assert.equal(alertSamples[1]!.labels.__name__, 'ALERTS_FOR_STATE');
  assert.ok(Math.abs(alertSamples[1]!.value - Date.now() / 1000) < 60, 'ALERTS_FOR_STATE holds when the alert became active, in seconds');
  // The same listings under /api/v1, where Grafana's Prometheus data source reads them.
  const apiRules = (await (await fetch(`${base}/api/v1/rules`, { headers })).json()) as { data: { groups: Array<{ file: string }> } };
  assert.deepEqual(apiRules.data.groups.map((group) => group.file), ['ops']);

  response = await fetch(`${base}/loki/api/v1/rules/ops/throughput`, { method: 'DELETE', headers });
  assert.equal(response.status, 202);
  assert.equal((await fetch(`${base}/loki/api/v1/rules/ops`, { headers })).status, 404);
  assert.equal((await fetch(`${base}/loki/api/v1/rules/ops`, { method: 'DELETE', headers })).status, 404);
});

test('the training pack is listed for the default tenant and is read-only', async () => {
  const fake = { 'x-scope-orgid': 'fake' };
  const listed = parse(await (await fetch(`${base}/loki/api/v1/rules/training`, { headers: fake })).text()) as Record<string, Array<{ rules: Array<{ alert?: string }> }>>;
  const names = listed.training!.flatMap((g) => g.rules.map((r) => r.alert)).filter(Boolean);
  for (const expected of ['RankPythonTraceback', 'CudaOutOfMemory', 'NcclWatchdogTimeout', 'TorchElasticChildFailed', 'HighWarningRatio', 'RankSilent']) {
    assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
  }
  const response = await fetch(`${base}/loki/api/v1/rules/training`, { method: 'DELETE', headers: fake });
  assert.equal(response.status, 400);
  assert.match(await response.text(), /built-in training pack/);
});
