// The DaemonSet agent's pod metadata: pod logs under a kubelet-style root are shipped to a real server
// with the node, the training operator's job and replica labels, Ray's labels and RANK from the
// container's environment, read from a stand-in Kubernetes API (list and watch of this node's pods).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigSchema } from '../../src/agent/config.ts';
import { startAgent } from '../../src/agent/agent.ts';
import { podMetadataLabels } from '../../src/agent/pod-metadata.ts';
import { startTestServer } from './test-server.ts';
import { StandInKubeApi } from '../support/kube-api.ts';

function criLine(text: string, offsetMs = 0): string {
  return `${new Date(Date.now() - 60_000 + offsetMs).toISOString()} stdout F ${text}\n`;
}

function trainingPod(name: string, uid: string, node: string, rank: string) {
  return {
    metadata: {
      name,
      namespace: 'ml',
      uid,
      labels: { 'training.kubeflow.org/job-name': 'llama-pretrain', 'training.kubeflow.org/replica-type': 'Worker', 'training.kubeflow.org/replica-index': String(Number(rank) - 1) },
    },
    spec: { nodeName: node, containers: [{ name: 'pytorch', env: [{ name: 'RANK', value: rank }, { name: 'MASTER_ADDR', value: 'x' }] }] },
  };
}

test('podMetadataLabels: operator labels, Ray labels and literal environment of the log’s container', () => {
  const labels = podMetadataLabels(
    {
      metadata: { name: 'r', labels: { 'ray.io/cluster': 'rc', 'ray.io/node-type': 'worker', 'ray.io/group': 'gpu' } },
      spec: { nodeName: 'n', containers: [{ name: 'a', env: [{ name: 'RANK', value: '4' }, { name: 'TORCHELASTIC_RUN_ID', value: 'e1' }] }, { name: 'b', env: [{ name: 'RANK' }] }] },
    },
    'a',
  );
  assert.deepEqual(labels, { node: 'n', ray_cluster: 'rc', ray_node_type: 'worker', ray_group: 'gpu', rank: '4', torchelastic_run_id: 'e1' });
  assert.deepEqual(podMetadataLabels({ metadata: { name: 'r' }, spec: { containers: [{ name: 'b', env: [{ name: 'RANK' }] }] } }, 'b'), {}, 'a valueFrom RANK (no literal value) gives no label');
});

test('the agent labels pod logs from the API: only its node’s pods, and a pod that appears after the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-pod-metadata-'));
  const api = new StandInKubeApi();
  await api.start();
  const server = await startTestServer(dir);
  const root = join(dir, 'pods');
  api.put('pods', trainingPod('llama-pretrain-worker-0', 'uid-w0', 'gpu-node-7', '1'));
  api.put('pods', trainingPod('llama-pretrain-worker-5', 'uid-w5', 'gpu-node-9', '6'));
  const logDir = (pod: string, uid: string) => {
    const path = join(root, `ml_${pod}_${uid}`, 'pytorch');
    mkdirSync(path, { recursive: true });
    return path;
  };
  writeFileSync(join(logDir('llama-pretrain-worker-0', 'uid-w0'), '0.log'), criLine('step 1 loss 2.5'));
  const agent = await startAgent(
    agentConfigSchema.parse({
      server: { url: server.url },
      batch: { max_wait_ms: 50 },
      queue: { dir: join(dir, 'queue') },
      positions: { file: join(dir, 'positions.json') },
      poll_interval_ms: 50,
      labels: { host: 'agent-host' },
      sources: [{ name: 'pods', type: 'kubernetes_pods', root, kubernetes_api: { enabled: true, api_server: api.url, node_name: 'gpu-node-7', wait_for_pod_ms: 30_000 } }],
    }),
    { log: () => undefined },
  );
  try {
    const [entry] = await server.waitForEntries('{namespace="ml", pod="llama-pretrain-worker-0"}', 1, 15_000);
    assert.equal(entry!.labels.node, 'gpu-node-7');
    assert.equal(entry!.labels.job, 'llama-pretrain');
    assert.equal(entry!.labels.replica_type, 'worker');
    assert.equal(entry!.labels.replica_index, '0');
    assert.equal(entry!.labels.rank, '1', 'RANK from the environment, not the worker ordinal of the pod name');
    assert.ok(api.requests.some((r) => r.includes(`fieldSelector=${encodeURIComponent('spec.nodeName=gpu-node-7')}`)), 'only this node’s pods are listed');

    // A container log whose pod the watch has not delivered yet waits for it, then ships with its labels.
    writeFileSync(join(logDir('llama-pretrain-worker-2', 'uid-w2'), '0.log'), criLine('step 1 loss 2.7'));
    await agent.pollNow();
    api.put('pods', trainingPod('llama-pretrain-worker-2', 'uid-w2', 'gpu-node-7', '3'));
    const [late] = await server.waitForEntries('{pod="llama-pretrain-worker-2"}', 1, 15_000);
    assert.equal(late!.labels.rank, '3');
    assert.equal(late!.labels.node, 'gpu-node-7');
  } finally {
    await agent.stop(1000);
    await server.close();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
