// The Helm chart in deploy/helm/rankscope, rendered as `helm template` would for each values set in
// its ci/ folder (and the defaults): every object validates against the Kubernetes schemas
// (kubernetes-models), workloads and Services select each other, the server config the chart writes
// is one our server accepts, and the agent DaemonSet mounts every path its config reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as yamlParse } from 'yaml';
import { ChartRenderError, loadChart, renderChart, type RenderedObject } from '../../src/helm/chart.ts';
import { parseServerConfig } from '../../src/server/config.ts';
import { parseAgentConfig } from '../../src/agent/config.ts';

const chartDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'helm', 'rankscope');
const chart = loadChart(chartDir);
const valueSets: Array<[name: string, values: Record<string, unknown>]> = [
  ['defaults', {}],
  ...readdirSync(join(chartDir, 'ci'))
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name): [string, Record<string, unknown>] => [name, yamlParse(readFileSync(join(chartDir, 'ci', name), 'utf8')) as Record<string, unknown>]),
];

type K8sObject = RenderedObject['object'];
type PodSpec = { containers: Array<{ name: string; args?: string[]; volumeMounts?: Array<{ name: string; mountPath: string }> }>; volumes?: Array<{ name: string; configMap?: { name: string }; hostPath?: { path: string } }>; serviceAccountName?: string };

function render(values: Record<string, unknown>) {
  return renderChart(chart, { name: 'rs', namespace: 'observability', valueOverrides: [values] });
}

/** kubernetes-models' class for an object: `kubernetes-models/<group>/<version>/<Kind>`, core as `v1/<Kind>`. */
async function validateObject(object: K8sObject): Promise<void> {
  const module = (await import(`kubernetes-models/${object.apiVersion}/${object.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[object.kind];
  assert.ok(Model, `kubernetes-models has no ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

function podSpecOf(object: K8sObject): PodSpec | undefined {
  const spec = object.spec as { template?: { spec?: PodSpec } } | undefined;
  return spec?.template?.spec;
}

function find(objects: RenderedObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.object.kind === kind && o.object.metadata.name === name);
  assert.ok(found, `no ${kind}/${name} among ${objects.map((o) => `${o.object.kind}/${o.object.metadata.name}`).join(', ')}`);
  return found.object;
}

function configMapFile(objects: RenderedObject[], name: string, key: string): string {
  const data = find(objects, 'ConfigMap', name).data as Record<string, string>;
  assert.equal(typeof data[key], 'string', `ConfigMap ${name} has no ${key}`);
  return data[key]!;
}

for (const [setName, values] of valueSets) {
  test(`chart renders and validates with ${setName}`, async () => {
    const rendered = render(values);
    assert.ok(rendered.objects.length >= 5, `only ${rendered.objects.length} objects`);
    for (const { template, object } of rendered.objects) {
      try {
        await validateObject(object);
      } catch (error) {
        assert.fail(`${template}: ${object.kind}/${object.metadata.name} does not validate: ${(error as Error).message}`);
      }
      assert.match(object.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${object.kind} name ${object.metadata.name}`);
      assert.ok(object.metadata.name.length <= 63);
    }
    const keys = rendered.objects.map((o) => `${o.object.kind}/${o.object.metadata.name}`);
    assert.deepEqual(keys.filter((key, i) => keys.indexOf(key) !== i), [], 'two objects share a kind and name');

    // Every Service selects the pods of a workload the chart renders.
    const podLabels = rendered.objects.flatMap((o) => {
      const template = (o.object.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template;
      return template?.metadata?.labels ? [template.metadata.labels] : [];
    });
    for (const { object } of rendered.objects.filter((o) => o.object.kind === 'Service')) {
      const selector = (object.spec as { selector: Record<string, string> }).selector;
      assert.ok(
        podLabels.some((labels) => Object.entries(selector).every(([k, v]) => labels[k] === v)),
        `Service ${object.metadata.name} selects no pod template (${JSON.stringify(selector)})`,
      );
    }
    // A workload's selector matches its own pod template.
    for (const { object } of rendered.objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.object.kind))) {
      const spec = object.spec as { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } };
      for (const [k, v] of Object.entries(spec.selector.matchLabels)) assert.equal(spec.template.metadata.labels[k], v, `${object.kind}/${object.metadata.name} selector ${k}`);
      // Every mount names a volume of the pod, and every ConfigMap volume one the chart renders.
      const pod = podSpecOf(object)!;
      const volumes = new Set((pod.volumes ?? []).map((v) => v.name));
      const claims = ((object.spec as { volumeClaimTemplates?: Array<{ metadata: { name: string } }> }).volumeClaimTemplates ?? []).map((c) => c.metadata.name);
      for (const container of pod.containers) {
        for (const mount of container.volumeMounts ?? []) assert.ok(volumes.has(mount.name) || claims.includes(mount.name), `${object.metadata.name}/${container.name} mounts unknown volume ${mount.name}`);
      }
      for (const volume of pod.volumes ?? []) if (volume.configMap) find(rendered.objects, 'ConfigMap', volume.configMap.name);
      if (pod.serviceAccountName !== undefined && pod.serviceAccountName !== 'default') find(rendered.objects, 'ServiceAccount', pod.serviceAccountName);
    }

    // The server config the chart writes is one the server accepts.
    const serverText = configMapFile(rendered.objects, 'rs-rankscope', 'rankscope.yaml');
    const serverConfig = parseServerConfig(yamlParse(serverText));
    assert.equal(serverConfig.server.listen, '0.0.0.0:3100');
    assert.equal(serverConfig.store.data_dir, '/data');
  });
}

test('the agent DaemonSet mounts what its config reads and the agent accepts that config', () => {
  const rendered = render({});
  const agentText = configMapFile(rendered.objects, 'rs-rankscope-agent', 'agent.yaml');
  const config = parseAgentConfig(agentText, 'agent.yaml');
  const daemonSet = find(rendered.objects, 'DaemonSet', 'rs-rankscope-agent');
  const pod = podSpecOf(daemonSet)!;
  const container = pod.containers.find((c) => c.name === 'agent')!;
  const mounts = (container.volumeMounts ?? []).map((m) => m.mountPath);
  const mounted = (path: string) => mounts.some((mount) => path === mount || path.startsWith(`${mount}/`));
  const podSource = config.sources.find((s) => s.type === 'kubernetes_pods');
  assert.ok(podSource && podSource.type === 'kubernetes_pods');
  for (const path of [podSource.root, config.queue.dir, config.positions.file, config.metrics.proc_root, config.metrics.sys_root]) {
    assert.ok(mounted(path), `the agent reads ${path} but the DaemonSet mounts only ${mounts.join(', ')}`);
  }
  // The pod-log root is the node's, read-only; the state directory survives agent restarts on the node.
  const hostPaths = new Map((pod.volumes ?? []).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
  const logMount = container.volumeMounts!.find((m) => m.mountPath === podSource.root)!;
  assert.equal(hostPaths.get(logMount.name), '/var/log/pods');
  const stateMount = container.volumeMounts!.find((m) => config.queue.dir.startsWith(m.mountPath))!;
  assert.ok(hostPaths.has(stateMount.name), 'the agent queue is not on the node (a hostPath)');
  assert.match(config.server.url, /^http:\/\/rs-rankscope\.observability\.svc:3100$/);
  assert.ok(podSource.kubernetes_api.enabled, 'the DaemonSet agent reads pod labels from the API');
  // The agent's service account may read pods.
  const role = find(rendered.objects, 'ClusterRole', 'rs-rankscope-agent') as unknown as { rules: Array<{ resources: string[]; verbs: string[] }> };
  assert.ok(role.rules.some((r) => r.resources.includes('pods') && r.verbs.includes('watch')));
});

test('cluster mode renders replicas over NATS and S3, and refuses what cannot work', () => {
  const rendered = render({ mode: 'cluster', objectStorage: { backend: 's3', s3: { bucket: 'b' } } });
  const deployment = find(rendered.objects, 'Deployment', 'rs-rankscope');
  assert.equal((deployment.spec as { replicas: number }).replicas, 3);
  assert.equal(rendered.objects.filter((o) => o.object.kind === 'StatefulSet' && o.object.metadata.name === 'rs-rankscope').length, 0);
  const nats = find(rendered.objects, 'StatefulSet', 'rs-rankscope-nats');
  assert.equal((nats.spec as { replicas: number }).replicas, 3);
  const natsConf = configMapFile(rendered.objects, 'rs-rankscope-nats', 'nats.conf');
  for (let i = 0; i < 3; i++) assert.ok(natsConf.includes(`nats://rs-rankscope-nats-${i}.rs-rankscope-nats-headless:6222`), natsConf);
  const server = yamlParse(configMapFile(rendered.objects, 'rs-rankscope', 'rankscope.yaml')) as { cluster: { nats_urls: string[] }; store: { object_store: { backend: string; s3: { bucket: string } } } };
  assert.deepEqual(server.cluster.nats_urls, ['nats://rs-rankscope-nats:4222']);
  assert.equal(server.store.object_store.s3.bucket, 'b');

  assert.throws(() => render({ mode: 'cluster' }), (error: Error) => error instanceof ChartRenderError && /objectStorage\.backend to s3/.test(error.message));
  assert.throws(
    () => render({ mode: 'cluster', nats: { bundled: false }, objectStorage: { backend: 's3', s3: { bucket: 'b' } } }),
    (error: Error) => error instanceof ChartRenderError && /nats\.url is required/.test(error.message),
  );
  assert.throws(() => render({ mode: 'replicated' }), (error: Error) => error instanceof ChartRenderError && /mode must be single or cluster, not "replicated"/.test(error.message));
  assert.throws(() => render({ objectStorage: { backend: 's3' } }), (error: Error) => /objectStorage\.s3\.bucket is required/.test(error.message));
});

test('a values change rolls the server pods (config checksum annotation)', () => {
  const annotation = (values: Record<string, unknown>) => {
    const statefulSet = find(render(values).objects, 'StatefulSet', 'rs-rankscope');
    return ((statefulSet.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations)['checksum/config'];
  };
  assert.match(annotation({}) ?? '', /^[0-9a-f]{64}$/);
  assert.equal(annotation({}), annotation({}));
  assert.notEqual(annotation({}), annotation({ config: { limits: { max_global_streams_per_user: 1 } } }));
});
