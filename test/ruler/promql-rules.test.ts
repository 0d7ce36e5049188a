// PromQL rules end to end through the real server and a REAL Alertmanager: a plain Prometheus rule
// file (promtool accepts it unchanged) in ruler.prometheus_rules_dir is evaluated over samples that
// arrive by remote_write; its alert fires in Alertmanager and its recording rule's output (and a LogQL
// recording rule's, beside it) is queryable through the Prometheus API; once resolved, its ALERTS
// series ends at once (staleness marker). The ruler APIs list it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../../src/push/remote-write-encode.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { ALERTMANAGER_BIN, fastRouteConfig, startAlertmanager, type RunningAlertmanager } from './support/alertmanager-process.ts';
import { startListener, type Listener } from './support/http-listener.ts';
import { until } from '../support/until.ts';

const PROMTOOL_BIN = '/usr/bin/promtool';
const skip = existsSync(ALERTMANAGER_BIN) ? false : `${ALERTMANAGER_BIN} is not installed (apt-get install prometheus-alertmanager)`;

const PROMQL_RULES = `groups:
  - name: gpu
    interval: 1s
    rules:
      - alert: GpuTooHot
        expr: max by (rank) (gpu_temp_celsius{job="train"}) > 85
        labels:
          severity: critical
        annotations:
          summary: "rank {{ $labels.rank }} GPU at {{ $value }} C"
      - record: rank:gpu_temp_celsius:max
        expr: max by (rank) (gpu_temp_celsius)
`;

const LOGQL_RULES = `groups:
  - name: lines
    interval: 1s
    rules:
      - record: job:lines:count1m
        expr: sum by (job) (count_over_time({job="train"}[1m]))
`;

let root: string;
let promqlDir: string;
let am: RunningAlertmanager | undefined;
let listener: Listener;
let server: RunningServer | undefined;

before(async () => {
  if (skip !== false) return;
  root = mkdtempSync(join(tmpdir(), 'rankscope-promql-rules-'));
  listener = await startListener();
  am = await startAlertmanager(fastRouteConfig(`${listener.url}/am`));
  promqlDir = join(root, 'prometheus-rules');
  mkdirSync(join(root, 'rules'));
  mkdirSync(promqlDir);
  writeFileSync(join(promqlDir, 'gpu.yaml'), PROMQL_RULES);
  writeFileSync(join(root, 'rules', 'lines.yaml'), LOGQL_RULES);
  server = await startServer({
    server: { listen: '127.0.0.1:0' },
    store: { data_dir: join(root, 'data') },
    ui: { enabled: false },
    ruler: { rules_dir: join(root, 'rules'), prometheus_rules_dir: promqlDir, alertmanager_url: [am.url], resend_delay: '1s' },
  });
});

after(async () => {
  await server?.close();
  await am?.stop();
  await listener?.close();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

async function remoteWrite(series: RemoteWriteSeriesInput[]): Promise<void> {
  const response = await fetch(`${server!.url}/api/v1/write`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    body: snappyCompress(encodeWriteRequestV1(series, [])),
  });
  assert.equal(response.status, 204, await response.text());
}

type Vector = { status: string; data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };

async function instant(query: string): Promise<Vector> {
  const response = await fetch(`${server!.url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query }).toString(),
  });
  assert.equal(response.status, 200, `${query}: ${response.status}`);
  return (await response.json()) as Vector;
}

test('promtool accepts the PromQL rule file unchanged', { skip: existsSync(PROMTOOL_BIN) ? false : `${PROMTOOL_BIN} is not installed` }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-promtool-'));
  try {
    writeFileSync(join(dir, 'gpu.yaml'), PROMQL_RULES);
    const output = execFileSync(PROMTOOL_BIN, ['check', 'rules', join(dir, 'gpu.yaml')], { encoding: 'utf8' });
    assert.match(output, /SUCCESS: 2 rules found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a PromQL alert over remote_written samples fires in Alertmanager; recorded series are queryable', { skip }, async () => {
  const nowMs = Date.now();
  await remoteWrite([
    { labels: { __name__: 'gpu_temp_celsius', job: 'train', rank: '0' }, samples: [{ timestampMs: nowMs, value: 61 }] },
    { labels: { __name__: 'gpu_temp_celsius', job: 'train', rank: '5' }, samples: [{ timestampMs: nowMs, value: 91.5 }] },
  ]);
  const pushed = await fetch(`${server!.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: { job: 'train' }, values: [[String(BigInt(nowMs) * 1_000_000n), 'step 1 loss 2.5'], [String(BigInt(nowMs) * 1_000_000n + 1n), 'step 2 loss 2.4']] }] }),
  });
  assert.equal(pushed.status, 204);

  const firing = await until('the PromQL alert to fire in Alertmanager', async () => {
    const alerts = (await (await fetch(`${am!.url}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string>; annotations: Record<string, string>; generatorURL: string }>;
    return alerts.find((alert) => alert.labels.alertname === 'GpuTooHot');
  });
  assert.deepEqual(firing.labels, { alertname: 'GpuTooHot', rank: '5', severity: 'critical' });
  assert.equal(firing.annotations.summary, 'rank 5 GPU at 91.5 C');
  assert.match(firing.generatorURL, /source=metrics/);
  const delivered = await listener.waitFor((request) => request.path === '/am', 20_000);
  assert.equal((delivered.body as { alerts: Array<{ labels: Record<string, string> }> }).alerts[0]!.labels.alertname, 'GpuTooHot');

  // The PromQL recording rule's output, through the PromQL engine over the TSDB, at both prefixes.
  const recorded = await until('the PromQL recording rule output', async () => {
    const body = await instant('rank:gpu_temp_celsius:max');
    return body.data.result.length === 2 ? body : undefined;
  });
  assert.deepEqual(
    recorded.data.result.map((sample) => [sample.metric, sample.value[1]]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
    [
      [{ __name__: 'rank:gpu_temp_celsius:max', rank: '0' }, '61'],
      [{ __name__: 'rank:gpu_temp_celsius:max', rank: '5' }, '91.5'],
    ],
  );
  const prefixed = (await (await fetch(`${server!.url}/prometheus/api/v1/query?query=${encodeURIComponent('max(rank:gpu_temp_celsius:max) - 60')}`)).json()) as Vector;
  assert.equal(prefixed.data.result[0]!.value[1], '31.5');
  // A LogQL recording rule's output is a TSDB series too, so PromQL can compute on it.
  const fromLogs = await until('the LogQL recording rule output', async () => {
    const body = await instant('job:lines:count1m * 10');
    return body.data.result.find((sample) => sample.value[1] === '20');
  });
  assert.deepEqual(fromLogs.metric, { job: 'train' });
  // ALERTS and ALERTS_FOR_STATE are in the TSDB.
  const alertSeries = await until('the ALERTS series', async () => {
    const body = await instant('ALERTS{alertname="GpuTooHot", alertstate="firing"}');
    return body.data.result[0];
  });
  assert.equal(alertSeries.metric.rank, '5');
  const forState = await instant('ALERTS_FOR_STATE{alertname="GpuTooHot"}');
  assert.ok(Math.abs(Number(forState.data.result[0]!.value[1]) - nowMs / 1000) < 60);

  // The GPU cools down: the alert resolves and its ALERTS series ends at once (a staleness marker),
  // not five minutes later when the lookback window runs out.
  await remoteWrite([{ labels: { __name__: 'gpu_temp_celsius', job: 'train', rank: '5' }, samples: [{ timestampMs: Date.now(), value: 70 }] }]);
  await until('ALERTS to end with the resolved alert', async () => ((await instant('ALERTS{alertname="GpuTooHot"}')).data.result.length === 0 ? true : undefined));
  assert.deepEqual((await instant('ALERTS_FOR_STATE{alertname="GpuTooHot"}')).data.result, []);

  // The ruler APIs list the PromQL rules: Prometheus JSON at /api/v1/rules, YAML at Loki's and Mimir's paths.
  const rules = (await (await fetch(`${server!.url}/api/v1/rules`)).json()) as { data: { groups: Array<{ file: string; name: string; rules: Array<{ name: string; health: string }> }> } };
  const gpu = rules.data.groups.find((group) => group.file === 'gpu')!;
  assert.deepEqual(gpu.rules.map((rule) => [rule.name, rule.health]), [['GpuTooHot', 'ok'], ['rank:gpu_temp_celsius:max', 'ok']]);
  assert.ok(rules.data.groups.some((group) => group.file === 'lines'));
  const loki = parse(await (await fetch(`${server!.url}/loki/api/v1/rules`)).text()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(loki).sort(), ['gpu', 'lines']);
  const mimir = parse(await (await fetch(`${server!.url}/prometheus/config/v1/rules`)).text()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(mimir), ['gpu']);
});

test('the Mimir ruler API creates PromQL namespaces, checked with the PromQL parser', { skip }, async () => {
  const bad = await fetch(`${server!.url}/prometheus/config/v1/rules/extra`, { method: 'POST', body: 'name: g\nrules:\n  - record: x:y\n    expr: sum(rate(foo[5m])\n' });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /unclosed left parenthesis/);
  const logqlOnly = await fetch(`${server!.url}/prometheus/config/v1/rules/extra`, { method: 'POST', body: 'name: g\nrules:\n  - record: x:y\n    expr: sum(count_over_time({job="a"} |= "oom" [1m]))\n' });
  assert.equal(logqlOnly.status, 400, 'a LogQL expression is not PromQL');
  const created = await fetch(`${server!.url}/prometheus/config/v1/rules/extra`, { method: 'POST', body: 'name: g\nrules:\n  - record: x:y\n    expr: sum(rate(foo[5m]))\n' });
  assert.equal(created.status, 202, await created.text());
  assert.ok(existsSync(join(promqlDir, 'fake', 'extra.yaml')), 'written into the PromQL rule directory');
  const listed = (await (await fetch(`${server!.url}/api/v1/rules?rule_group[]=g`)).json()) as { data: { groups: Array<{ file: string }> } };
  assert.deepEqual(listed.data.groups.map((group) => group.file), ['extra']);
  assert.equal((await fetch(`${server!.url}/prometheus/config/v1/rules/extra`, { method: 'DELETE' })).status, 202);
  assert.equal(existsSync(join(promqlDir, 'fake', 'extra.yaml')), false);
});
