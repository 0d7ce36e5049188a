// End to end through the real server (store, LogQL engine, ruler, HTTP API) and a REAL Alertmanager:
// error lines pushed over the Loki API make an alert fire in Alertmanager, then resolve there once
// the lines leave the rule's window; a recording rule's samples are queried back by name; the ruler's
// counters show in /metrics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { ALERTMANAGER_BIN, fastRouteConfig, startAlertmanager, type RunningAlertmanager } from './support/alertmanager-process.ts';
import { startListener, type Listener } from './support/http-listener.ts';
import { until } from '../support/until.ts';

const skip = existsSync(ALERTMANAGER_BIN) ? false : `${ALERTMANAGER_BIN} is not installed (apt-get install prometheus-alertmanager)`;
let root: string;
let am: RunningAlertmanager | undefined;
let listener: Listener;
let server: RunningServer | undefined;

const RULES = `groups:
  - name: oom
    interval: 1s
    rules:
      - alert: CudaOutOfMemoryFast
        expr: sum by (job, rank) (count_over_time({job="train"} |= "CUDA out of memory" [8s])) > 0
        labels:
          severity: critical
        annotations:
          summary: "CUDA OOM on rank {{ $labels.rank }} ({{ $value }} lines)"
      - record: job:lines:count1m
        expr: sum by (job) (count_over_time({job="train"}[1m]))
`;

before(async () => {
  if (skip !== false) return;
  root = mkdtempSync(join(tmpdir(), 'rankscope-e2e-alerting-'));
  listener = await startListener();
  am = await startAlertmanager(fastRouteConfig(`${listener.url}/am`, true));
  mkdirSync(join(root, 'rules'));
  writeFileSync(join(root, 'rules', 'oom.yaml'), RULES);
  server = await startServer({
    server: { listen: '127.0.0.1:0' },
    store: { data_dir: join(root, 'data') },
    ui: { enabled: false },
    ruler: { rules_dir: join(root, 'rules'), alertmanager_url: [am.url], resend_delay: '1s' },
  });
});

after(async () => {
  await server?.close();
  await am?.stop();
  await listener?.close();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

async function push(lines: Array<{ rank: string; line: string }>): Promise<void> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const byRank = new Map<string, Array<[string, string]>>();
  lines.forEach(({ rank, line }, i) => {
    const values = byRank.get(rank) ?? [];
    values.push([String(nowNs + BigInt(i)), line]);
    byRank.set(rank, values);
  });
  const response = await fetch(`${server!.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [...byRank].map(([rank, values]) => ({ stream: { job: 'train', rank }, values })) }),
  });
  assert.equal(response.status, 204, await response.text());
}

type AmAlert = { labels: Record<string, string>; annotations: Record<string, string>; status: { state: string }; endsAt: string };

test('pushed error lines fire an alert in Alertmanager, which then resolves', { skip }, async () => {
  await push([
    { rank: '0', line: 'step 10 loss 2.31' },
    { rank: '3', line: 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB' },
    { rank: '3', line: 'RuntimeError: CUDA out of memory.' },
  ]);
  const firing = await until('the alert to fire in Alertmanager', async () => {
    const alerts = (await (await fetch(`${am!.url}/api/v2/alerts`)).json()) as AmAlert[];
    return alerts.find((a) => a.labels.alertname === 'CudaOutOfMemoryFast' && a.status.state === 'active');
  });
  assert.deepEqual(firing.labels, { alertname: 'CudaOutOfMemoryFast', job: 'train', rank: '3', severity: 'critical' });
  assert.equal(firing.annotations.summary, 'CUDA OOM on rank 3 (2 lines)');

  // The server's Prometheus-shaped API shows the same alert firing.
  const alerts = (await (await fetch(`${server!.url}/prometheus/api/v1/alerts`)).json()) as { data: { alerts: Array<{ state: string; labels: Record<string, string> }> } };
  assert.ok(alerts.data.alerts.some((a) => a.state === 'firing' && a.labels.rank === '3'));

  // The recording rule's samples are queryable by name.
  const recorded = await until('recorded samples', async () => {
    const body = (await (await fetch(`${server!.url}/prometheus/api/v1/query?query=job:lines:count1m`)).json()) as {
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    return body.data.result.find((r) => r.value[1] === '3');
  });
  assert.deepEqual(recorded.metric, { __name__: 'job:lines:count1m', job: 'train' });

  // Eight seconds later the lines are out of the window: the alert resolves in Alertmanager.
  const resolved = await listener.waitFor((r) => r.path === '/am' && (r.body as { status: string }).status === 'resolved', 20_000);
  assert.equal((resolved.body as { alerts: Array<{ labels: Record<string, string> }> }).alerts[0]!.labels.rank, '3');
  await until('Alertmanager to stop showing the alert as active', async () => {
    const current = (await (await fetch(`${am!.url}/api/v2/alerts`)).json()) as AmAlert[];
    return current.some((a) => a.labels.alertname === 'CudaOutOfMemoryFast' && a.status.state === 'active' && Date.parse(a.endsAt) > Date.now()) ? undefined : true;
  });

  const metrics = await (await fetch(`${server!.url}/metrics`)).text();
  assert.match(metrics, /rankscope_ruler_rules 2/);
  assert.match(metrics, /rankscope_ruler_notifications_sent_total\{receiver="http:\/\/127\.0\.0\.1:\d+",kind="alertmanager"\} [1-9]/);
});
