// kubernetes_sd_configs end to end: a real server discovers pods and service endpoints from a
// stand-in API server (list and watch; no real one can run here), relabels them with the usual
// `prometheus.io/*` annotation rules the Helm chart writes, scrapes the exporter they point at (served
// here on 127.0.0.1), and follows the objects as they are annotated, changed and deleted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, type TestServer } from './test-server.ts';
import { pollUntil } from '../support/peers.ts';
import { StandInKubeApi } from '../support/kube-api.ts';

let server: TestServer;
let exporter: Server;
let exporterPort: number;
const api = new StandInKubeApi();

interface TargetsAnswer {
  data: { activeTargets: Array<{ labels: Record<string, string>; discoveredLabels: Record<string, string>; scrapeUrl: string; health: string }>; droppedTargets: unknown[] };
}

async function activeTargets(job: string) {
  const answer = (await (await fetch(`${server.url}/api/v1/targets`)).json()) as TargetsAnswer;
  return answer.data.activeTargets.filter((target) => target.labels.job === job);
}

async function query(text: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const answer = (await (await fetch(`${server.url}/api/v1/query?query=${encodeURIComponent(text)}`)).json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  return answer.data.result;
}

const annotationRules = (kind: 'pod' | 'service') => [
  { source_labels: [`__meta_kubernetes_${kind}_annotation_prometheus_io_scrape`], action: 'keep' as const, regex: 'true' },
  { source_labels: [`__meta_kubernetes_${kind}_annotation_prometheus_io_path`], target_label: '__metrics_path__', regex: '(.+)' },
  { source_labels: ['__address__', `__meta_kubernetes_${kind}_annotation_prometheus_io_port`], target_label: '__address__', regex: '([^:]+)(?::\\d+)?;(\\d+)', replacement: '$1:$2' },
  { action: 'labelmap' as const, regex: `__meta_kubernetes_${kind}_label_(.+)` },
  { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
  { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
];

function pod(name: string, annotations: Record<string, string>, labels: Record<string, string> = {}) {
  return {
    metadata: { name, namespace: 'training', labels: { app: 'trainer', ...labels }, annotations, ownerReferences: [{ kind: 'Job', name: 'llm', controller: true }] },
    spec: { nodeName: 'gpu-node-1', containers: [{ name: 'main', image: 'pytorch:2', ports: [{ name: 'metrics', containerPort: exporterPort }] }] },
    status: { podIP: '127.0.0.1', hostIP: '10.0.0.1', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

before(async () => {
  exporter = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(request.url === '/custom' ? '# TYPE custom_metric gauge\ncustom_metric 42\n' : '# TYPE gpu_busy gauge\ngpu_busy{gpu="0"} 0.75\n');
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  exporterPort = (exporter.address() as AddressInfo).port;
  await api.start();
  api.put('pods', pod('trainer-0', { 'prometheus.io/scrape': 'true' }, { 'training.kubeflow.org/replica-index': '0' }));
  api.put('pods', pod('unannotated', {}));
  api.put('pods', { ...pod('other-ns', { 'prometheus.io/scrape': 'true' }), metadata: { name: 'other-ns', namespace: 'kube-system', annotations: { 'prometheus.io/scrape': 'true' } } });
  api.put('services', { metadata: { name: 'vllm', namespace: 'training', labels: { tier: 'serving' }, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/custom' } }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.9', ports: [{ name: 'http', port: exporterPort }] } });
  api.put('endpoints', { metadata: { name: 'vllm', namespace: 'training' }, subsets: [{ addresses: [{ ip: '127.0.0.1', nodeName: 'gpu-node-2', targetRef: { kind: 'Pod', name: 'trainer-0', namespace: 'training' } }], ports: [{ name: 'http', port: exporterPort, protocol: 'TCP' }] }] });
  server = await startTestServer({
    scrape_configs: [
      { job_name: 'kubernetes-pods', scrape_interval: '200ms', kubernetes_sd_configs: [{ role: 'pod', api_server: api.url, namespaces: { names: ['training'] } }], relabel_configs: annotationRules('pod') },
      { job_name: 'kubernetes-service-endpoints', scrape_interval: '200ms', kubernetes_sd_configs: [{ role: 'endpoints', api_server: api.url }], relabel_configs: annotationRules('service') },
    ],
  });
});

after(async () => {
  await server?.close();
  await api.stop();
  await new Promise<void>((resolve) => exporter.close(() => resolve()));
});

test('annotated pods of the watched namespaces are scraped with their Kubernetes labels', async () => {
  const targets = await pollUntil('the annotated pod as a target', async () => {
    const found = await activeTargets('kubernetes-pods');
    return found.length > 0 ? found : undefined;
  }, { timeoutMs: 15_000, intervalMs: 50 });
  assert.deepEqual(targets.map((t) => t.labels.pod), ['trainer-0'], 'only the annotated pod of namespace training');
  const [target] = targets;
  assert.equal(target!.scrapeUrl, `http://127.0.0.1:${exporterPort}/metrics`);
  assert.equal(target!.labels.namespace, 'training');
  assert.equal(target!.labels.training_kubeflow_org_replica_index, '0', 'pod labels sanitised by labelmap');
  assert.equal(target!.discoveredLabels.__meta_kubernetes_pod_node_name, 'gpu-node-1');
  assert.equal(target!.discoveredLabels.__meta_kubernetes_pod_controller_kind, 'Job');
  assert.equal(target!.discoveredLabels.__meta_kubernetes_pod_container_port_name, 'metrics');
  assert.equal(target!.discoveredLabels.__meta_kubernetes_pod_ready, 'true');
  // Only namespace training was listed, with its own path.
  assert.ok(api.requests.some((r) => r.startsWith('GET /api/v1/namespaces/training/pods')));
  const rows = await pollUntil('the pod scraped', async () => {
    const result = await query('gpu_busy{job="kubernetes-pods"}');
    return result.length > 0 ? result : undefined;
  }, { timeoutMs: 15_000, intervalMs: 50 });
  assert.equal(rows[0]!.metric.pod, 'trainer-0');
  assert.equal(rows[0]!.value[1], '0.75');
});

test('service endpoints carry the service annotations and the backing pod', async () => {
  const [target] = await pollUntil('the annotated service endpoint', async () => {
    const found = await activeTargets('kubernetes-service-endpoints');
    return found.length > 0 ? found : undefined;
  }, { timeoutMs: 15_000, intervalMs: 50 });
  assert.equal(target!.scrapeUrl, `http://127.0.0.1:${exporterPort}/custom`, 'prometheus.io/path from the Service');
  assert.equal(target!.labels.tier, 'serving');
  assert.equal(target!.labels.pod, 'trainer-0', 'pod labels of the address target');
  assert.equal(target!.discoveredLabels.__meta_kubernetes_endpoint_node_name, 'gpu-node-2');
  assert.equal(target!.discoveredLabels.__meta_kubernetes_service_name, 'vllm');
  await pollUntil('the endpoint scraped', async () => ((await query('custom_metric{job="kubernetes-service-endpoints"}')).length > 0 ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });
});

test('targets follow the watch: an annotation added, a pod deleted, a dropped watch resumed, an expired version relisted', async () => {
  api.put('pods', pod('late', { 'prometheus.io/scrape': 'true' }));
  await pollUntil('the new pod as a target', async () => ((await activeTargets('kubernetes-pods')).some((t) => t.labels.pod === 'late') ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });

  api.delete('pods', 'training', 'trainer-0');
  await pollUntil('the deleted pod gone', async () => ((await activeTargets('kubernetes-pods')).every((t) => t.labels.pod !== 'trainer-0') ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });

  // The server ends every watch: the clients come back (from their last version) and see later changes.
  api.dropWatches();
  await pollUntil('watches resumed', async () => (api.watcherCount() >= 4 ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });
  api.put('pods', pod('after-drop', { 'prometheus.io/scrape': 'true' }));
  await pollUntil('a pod added after the drop', async () => ((await activeTargets('kubernetes-pods')).some((t) => t.labels.pod === 'after-drop') ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });

  // Versions compacted away: the resumed watch gets 410 Gone and the client lists again.
  const listsBefore = api.requests.filter((r) => r.startsWith('GET /api/v1/namespaces/training/pods') && !r.includes('watch=')).length;
  api.compact();
  api.dropWatches();
  api.delete('pods', 'training', 'late');
  await pollUntil('relisted after 410', async () => (api.requests.filter((r) => r.startsWith('GET /api/v1/namespaces/training/pods') && !r.includes('watch=')).length > listsBefore ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });
  await pollUntil('the pod deleted meanwhile is gone', async () => ((await activeTargets('kubernetes-pods')).every((t) => t.labels.pod !== 'late') ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });
});
