// kube-prometheus-stack's objects on a real server: ServiceMonitor and PodMonitor objects served by a
// stand-in API server become scrape jobs with the operator's job names and target labels, a
// PrometheusRule becomes rules the ruler evaluates, and all three follow the objects as they change
// and go away.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from './test-server.ts';
import { pollUntil } from '../support/peers.ts';
import { StandInKubeApi } from '../support/kube-api.ts';
import { selectorRelabels } from '../../src/scrape/monitors.ts';
import { relabel } from '../../src/scrape/relabel.ts';
import { relabelConfigSchema } from '../../src/scrape/config.ts';

let server: TestServer;
let exporter: Server;
let port: number;
const api = new StandInKubeApi();
const WAIT = { timeoutMs: 15_000, intervalMs: 50 };

async function targets(): Promise<Array<{ labels: Record<string, string>; scrapeUrl: string }>> {
  const answer = (await (await fetch(`${server.url}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ labels: Record<string, string>; scrapeUrl: string }> } };
  return answer.data.activeTargets;
}

async function query(text: string) {
  const answer = (await (await fetch(`${server.url}/api/v1/query?query=${encodeURIComponent(text)}`)).json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  return answer.data.result;
}

before(async () => {
  exporter = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end('# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name="llama"} 3\n');
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  port = (exporter.address() as AddressInfo).port;
  await api.start();
  api.put('services', { metadata: { name: 'vllm', namespace: 'serving', labels: { app: 'vllm', tier: 'inference' } }, spec: { ports: [{ name: 'http', port }] } });
  api.put('services', { metadata: { name: 'other', namespace: 'serving', labels: { app: 'other' } }, spec: { ports: [{ name: 'http', port }] } });
  for (const name of ['vllm', 'other']) {
    api.put('pods', { metadata: { name: `${name}-0`, namespace: 'serving' }, spec: { containers: [{ name: 'server', ports: [{ name: 'http', containerPort: port }] }] }, status: { podIP: '127.0.0.1', phase: 'Running' } });
    api.put('endpoints', { metadata: { name, namespace: 'serving' }, subsets: [{ addresses: [{ ip: '127.0.0.1', targetRef: { kind: 'Pod', name: `${name}-0`, namespace: 'serving' } }], ports: [{ name: 'http', port }, { name: 'grpc', port: 1 }] }] });
  }
  api.put('pods', {
    metadata: { name: 'trainer-0', namespace: 'training', labels: { 'app.kubernetes.io/name': 'trainer' } },
    spec: { containers: [{ name: 'main', ports: [{ name: 'metrics', containerPort: port }] }] },
    status: { podIP: '127.0.0.1', phase: 'Running' },
  });
  api.put('servicemonitors', {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: 'vllm', namespace: 'monitoring' },
    spec: { selector: { matchLabels: { app: 'vllm' } }, namespaceSelector: { matchNames: ['serving'] }, endpoints: [{ port: 'http', interval: '200ms', relabelings: [{ targetLabel: 'team', replacement: 'inference' }] }] },
  });
  api.put('podmonitors', {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata: { name: 'trainer', namespace: 'training' },
    spec: { selector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['trainer', 'evaluator'] }] }, podMetricsEndpoints: [{ port: 'metrics', interval: '200ms' }] },
  });
  api.put('prometheusrules', {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'serving', namespace: 'monitoring' },
    spec: { groups: [{ name: 'vllm', interval: '200ms', rules: [{ record: 'serving:requests_running:sum', expr: 'sum(vllm:num_requests_running{job="vllm"})' }] }] },
  });
  server = await startTestServer({
    kubernetes_monitors: { enabled: true, api_server: api.url },
    ruler: { enabled: true, poll_interval: '100ms' },
  });
});

after(async () => {
  await server?.close();
  await api.stop();
  await new Promise<void>((resolve) => exporter.close(() => resolve()));
});

test('selector terms keep and drop as the operator’s do', () => {
  const rules = selectorRelabels({ matchLabels: { app: 'vllm' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['batch'] }, { key: 'gpu', operator: 'Exists' }] }, 'service').map((rule) => relabelConfigSchema.parse(rule));
  const meta = (labels: Record<string, string>) => Object.fromEntries(Object.entries(labels).flatMap(([k, v]) => [[`__meta_kubernetes_service_label_${k}`, v], [`__meta_kubernetes_service_labelpresent_${k}`, 'true']]));
  assert.ok(relabel(meta({ app: 'vllm', tier: 'online', gpu: 'a100' }), rules));
  assert.equal(relabel(meta({ app: 'vllm', tier: 'batch', gpu: 'a100' }), rules), undefined, 'NotIn');
  assert.equal(relabel(meta({ app: 'vllm', tier: 'online' }), rules), undefined, 'Exists');
  assert.equal(relabel(meta({ app: 'vllm-2', gpu: 'x' }), rules), undefined, 'matchLabels is an exact value, not a prefix');
});

test('a ServiceMonitor scrapes the selected service’s named port with the operator’s labels', async () => {
  const found = await pollUntil('the ServiceMonitor target', async () => {
    const list = (await targets()).filter((t) => t.labels.job === 'vllm');
    return list.length > 0 ? list : undefined;
  }, WAIT);
  assert.equal(found.length, 1, 'only service vllm, only port http');
  assert.deepEqual(
    { namespace: found[0]!.labels.namespace, service: found[0]!.labels.service, pod: found[0]!.labels.pod, container: found[0]!.labels.container, endpoint: found[0]!.labels.endpoint, team: found[0]!.labels.team },
    { namespace: 'serving', service: 'vllm', pod: 'vllm-0', container: 'server', endpoint: 'http', team: 'inference' },
  );
  assert.equal(found[0]!.scrapeUrl, `http://127.0.0.1:${port}/metrics`);
  await pollUntil('scraped series', async () => ((await query('vllm:num_requests_running{job="vllm", namespace="serving"}')).length === 1 ? true : undefined), WAIT);
});

test('a PodMonitor scrapes the selected pods under job <namespace>/<name>', async () => {
  const [target] = await pollUntil('the PodMonitor target', async () => {
    const list = (await targets()).filter((t) => t.labels.job === 'training/trainer');
    return list.length > 0 ? list : undefined;
  }, WAIT);
  assert.equal(target!.labels.pod, 'trainer-0');
  assert.equal(target!.labels.container, 'main');
});

test('a PrometheusRule is evaluated by the ruler, and objects that go away take their jobs and rules along', async () => {
  const rulesDir = join(server.dataDir, 'prometheus-rules');
  await pollUntil('the rule file', async () => (existsSync(join(rulesDir, 'k8s_monitoring_serving.yaml')) ? true : undefined), WAIT);
  const [recorded] = await pollUntil('the recording rule output', async () => {
    const rows = await query('serving:requests_running:sum');
    return rows.length > 0 ? rows : undefined;
  }, WAIT);
  assert.equal(recorded!.value[1], '3');

  api.delete('servicemonitors', 'monitoring', 'vllm');
  api.delete('prometheusrules', 'monitoring', 'serving');
  await pollUntil('the ServiceMonitor job gone', async () => ((await targets()).every((t) => t.labels.job !== 'vllm') ? true : undefined), WAIT);
  await pollUntil('the rule file removed', async () => (readdirSync(rulesDir).some((f) => f.startsWith('k8s_')) ? undefined : true), WAIT);
  assert.ok((await targets()).some((t) => t.labels.job === 'training/trainer'), 'the PodMonitor job is untouched');
});
