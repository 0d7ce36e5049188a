// kubernetes_sd_configs: scrape targets from the Kubernetes API, with Prometheus' roles and its
// `__meta_kubernetes_*` labels, so the relabel rules written for Prometheus (the usual
// `prometheus.io/scrape` annotations among them) work unchanged. Roles:
// - pod: one target per declared container port (`podIP:port`), or `podIP` for a container without;
// - endpoints: one per address and port of an Endpoints object, with its Service's labels and
//   annotations and, for addresses backed by a pod, that pod's;
// - service: one per Service port (`name.namespace.svc:port`);
// - node: one per node, its InternalIP (else the first address) and the kubelet's port.
// Objects are listed and watched (src/kubernetes/informer.ts); targets follow them as they change.

import { KubernetesClient, type KubernetesApiConfig } from '../kubernetes/client.ts';
import { Informer, type KubeObject } from '../kubernetes/informer.ts';
import type { Labels } from '../push/types.ts';
import type { KubernetesSdConfig } from './config.ts';
import type { TargetGroup } from './target.ts';

interface ContainerPort { name?: string; containerPort: number; protocol?: string }
interface Container { name: string; image?: string; ports?: ContainerPort[] }
export interface Pod extends KubeObject {
  spec?: { nodeName?: string; containers?: Container[]; initContainers?: Container[] };
  status?: { podIP?: string; hostIP?: string; phase?: string; conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ name: string; containerID?: string }> };
}
interface EndpointAddress { ip: string; hostname?: string; nodeName?: string; targetRef?: { kind: string; name: string; namespace?: string } }
interface Endpoints extends KubeObject {
  subsets?: Array<{ addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: Array<{ name?: string; port: number; protocol?: string; appProtocol?: string }> }>;
}
interface Service extends KubeObject {
  spec?: { type?: string; clusterIP?: string; externalName?: string; ports?: Array<{ name?: string; port: number; protocol?: string }> };
}
interface Node extends KubeObject {
  status?: { addresses?: Array<{ type: string; address: string }>; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } };
}

const META = '__meta_kubernetes_';

/** Prometheus' label-name sanitising: anything outside [a-zA-Z0-9_] becomes `_`. */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

function addObjectMeta(labels: Labels, prefix: string, object: KubeObject): void {
  for (const [name, value] of Object.entries(object.metadata.labels ?? {})) {
    const safe = sanitizeLabelName(name);
    labels[`${META}${prefix}_label_${safe}`] = value;
    labels[`${META}${prefix}_labelpresent_${safe}`] = 'true';
  }
  for (const [name, value] of Object.entries(object.metadata.annotations ?? {})) {
    const safe = sanitizeLabelName(name);
    labels[`${META}${prefix}_annotation_${safe}`] = value;
    labels[`${META}${prefix}_annotationpresent_${safe}`] = 'true';
  }
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function podLabels(pod: Pod): Labels {
  const labels: Labels = {
    [`${META}namespace`]: pod.metadata.namespace ?? '',
    [`${META}pod_name`]: pod.metadata.name,
    [`${META}pod_ip`]: pod.status?.podIP ?? '',
    [`${META}pod_ready`]: String(pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false),
    [`${META}pod_phase`]: pod.status?.phase ?? '',
    [`${META}pod_node_name`]: pod.spec?.nodeName ?? '',
    [`${META}pod_host_ip`]: pod.status?.hostIP ?? '',
    [`${META}pod_uid`]: pod.metadata.uid ?? '',
  };
  const controller = pod.metadata.ownerReferences?.find((owner) => owner.controller);
  if (controller) {
    labels[`${META}pod_controller_kind`] = controller.kind;
    labels[`${META}pod_controller_name`] = controller.name;
  }
  addObjectMeta(labels, 'pod', pod);
  return labels;
}

/** The pod role's target groups for one pod (none while it has no IP). */
export function podTargets(pod: Pod): TargetGroup[] {
  const ip = pod.status?.podIP;
  if (!ip) return [];
  const base = podLabels(pod);
  const groups: TargetGroup[] = [];
  const source = `pod/${pod.metadata.namespace}/${pod.metadata.name}`;
  const containers = [...(pod.spec?.containers ?? []).map((c) => ({ c, init: false })), ...(pod.spec?.initContainers ?? []).map((c) => ({ c, init: true }))];
  for (const { c, init } of containers) {
    const containerLabels: Labels = { ...base, [`${META}pod_container_name`]: c.name, [`${META}pod_container_image`]: c.image ?? '', [`${META}pod_container_init`]: String(init) };
    const id = pod.status?.containerStatuses?.find((status) => status.name === c.name)?.containerID;
    if (id) containerLabels[`${META}pod_container_id`] = id;
    if (!c.ports || c.ports.length === 0) {
      if (!init) groups.push({ targets: [ip], labels: containerLabels, source });
      continue;
    }
    for (const port of c.ports) {
      groups.push({
        targets: [joinHostPort(ip, port.containerPort)],
        labels: { ...containerLabels, [`${META}pod_container_port_name`]: port.name ?? '', [`${META}pod_container_port_number`]: String(port.containerPort), [`${META}pod_container_port_protocol`]: port.protocol ?? 'TCP' },
        source,
      });
    }
  }
  return groups;
}

function serviceLabels(service: Service): Labels {
  const labels: Labels = { [`${META}namespace`]: service.metadata.namespace ?? '', [`${META}service_name`]: service.metadata.name };
  addObjectMeta(labels, 'service', service);
  return labels;
}

export function serviceTargets(service: Service): TargetGroup[] {
  const base: Labels = { ...serviceLabels(service), [`${META}service_type`]: service.spec?.type ?? 'ClusterIP' };
  if (service.spec?.clusterIP) base[`${META}service_cluster_ip`] = service.spec.clusterIP;
  if (service.spec?.externalName) base[`${META}service_external_name`] = service.spec.externalName;
  const host = `${service.metadata.name}.${service.metadata.namespace}.svc`;
  return (service.spec?.ports ?? []).map((port) => ({
    targets: [`${host}:${port.port}`],
    labels: { ...base, [`${META}service_port_name`]: port.name ?? '', [`${META}service_port_number`]: String(port.port), [`${META}service_port_protocol`]: port.protocol ?? 'TCP' },
    source: `service/${service.metadata.namespace}/${service.metadata.name}`,
  }));
}

export function endpointsTargets(endpoints: Endpoints, service: Service | undefined, podOf: (namespace: string, name: string) => Pod | undefined): TargetGroup[] {
  const namespace = endpoints.metadata.namespace ?? '';
  const base: Labels = { [`${META}namespace`]: namespace, [`${META}endpoints_name`]: endpoints.metadata.name };
  addObjectMeta(base, 'endpoints', endpoints);
  if (service) Object.assign(base, serviceLabels(service));
  const groups: TargetGroup[] = [];
  const source = `endpoints/${namespace}/${endpoints.metadata.name}`;
  for (const subset of endpoints.subsets ?? []) {
    const addresses = [...(subset.addresses ?? []).map((a) => ({ a, ready: true })), ...(subset.notReadyAddresses ?? []).map((a) => ({ a, ready: false }))];
    for (const { a, ready } of addresses) {
      const pod = a.targetRef?.kind === 'Pod' ? podOf(a.targetRef.namespace ?? namespace, a.targetRef.name) : undefined;
      for (const port of subset.ports ?? []) {
        const labels: Labels = { ...base, [`${META}endpoint_port_name`]: port.name ?? '', [`${META}endpoint_port_protocol`]: port.protocol ?? 'TCP', [`${META}endpoint_ready`]: String(ready) };
        if (port.appProtocol) labels[`${META}endpoint_port_app_protocol`] = port.appProtocol;
        if (a.hostname) labels[`${META}endpoint_hostname`] = a.hostname;
        if (a.nodeName) labels[`${META}endpoint_node_name`] = a.nodeName;
        if (a.targetRef) {
          labels[`${META}endpoint_address_target_kind`] = a.targetRef.kind;
          labels[`${META}endpoint_address_target_name`] = a.targetRef.name;
        }
        if (pod) {
          Object.assign(labels, podLabels(pod));
          // The container that serves this port, as Prometheus labels it.
          for (const container of pod.spec?.containers ?? []) {
            const served = container.ports?.find((p) => p.containerPort === port.port);
            if (served === undefined) continue;
            labels[`${META}pod_container_name`] = container.name;
            labels[`${META}pod_container_image`] = container.image ?? '';
            labels[`${META}pod_container_port_name`] = served.name ?? '';
            labels[`${META}pod_container_port_number`] = String(served.containerPort);
            labels[`${META}pod_container_port_protocol`] = served.protocol ?? 'TCP';
          }
        }
        groups.push({ targets: [joinHostPort(a.ip, port.port)], labels, source });
      }
    }
  }
  return groups;
}

export function nodeTargets(node: Node): TargetGroup[] {
  const addresses = node.status?.addresses ?? [];
  const address = addresses.find((a) => a.type === 'InternalIP') ?? addresses.find((a) => a.type === 'ExternalIP') ?? addresses[0];
  if (!address) return [];
  const labels: Labels = { [`${META}node_name`]: node.metadata.name };
  addObjectMeta(labels, 'node', node);
  for (const a of addresses) labels[`${META}node_address_${a.type}`] ??= a.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250;
  return [{ targets: [joinHostPort(address.address, port)], labels: { ...labels, instance: node.metadata.name }, source: `node/${node.metadata.name}` }];
}

function listPath(resource: string, namespace: string | undefined, config: KubernetesSdConfig): string {
  const query = new URLSearchParams();
  const selector = config.selectors.find((s) => s.role === (resource === 'endpoints' ? 'endpoints' : resource.replace(/s$/, '')));
  if (selector?.label) query.set('labelSelector', selector.label);
  if (selector?.field) query.set('fieldSelector', selector.field);
  const text = query.toString();
  return `/api/v1/${namespace && resource !== 'nodes' ? `namespaces/${encodeURIComponent(namespace)}/` : ''}${resource}${text === '' ? '' : `?${text}`}`;
}

/** One kubernetes_sd_config: informers for what its role needs, and the target groups they give. */
export class KubernetesDiscovery {
  private readonly config: KubernetesSdConfig;
  private readonly informers: { pods: Informer<Pod>[]; services: Informer<Service>[]; endpoints: Informer<Endpoints>[]; nodes: Informer<Node>[] } = { pods: [], services: [], endpoints: [], nodes: [] };

  constructor(config: KubernetesSdConfig, onChange: () => void, onError: (message: string) => void, client?: KubernetesClient) {
    this.config = config;
    const api: KubernetesApiConfig = { apiServer: config.api_server || undefined, bearerTokenFile: config.bearer_token_file || undefined, caFile: config.tls_config.ca_file || undefined, insecureSkipVerify: config.tls_config.insecure_skip_verify };
    const kube = client ?? new KubernetesClient(api);
    const namespaces = config.namespaces.names.length > 0 ? config.namespaces.names : [undefined];
    const make = <T extends KubeObject>(resource: string, namespace: string | undefined) => new Informer<T>(kube, listPath(resource, namespace, config), onChange, onError);
    if (config.role === 'node') this.informers.nodes.push(make<Node>('nodes', undefined));
    for (const namespace of config.role === 'node' ? [] : namespaces) {
      if (config.role === 'pod' || config.role === 'endpoints') this.informers.pods.push(make<Pod>('pods', namespace));
      if (config.role === 'service' || config.role === 'endpoints') this.informers.services.push(make<Service>('services', namespace));
      if (config.role === 'endpoints') this.informers.endpoints.push(make<Endpoints>('endpoints', namespace));
    }
  }

  private all(): Informer<KubeObject>[] {
    return [...this.informers.pods, ...this.informers.services, ...this.informers.endpoints, ...this.informers.nodes] as Informer<KubeObject>[];
  }

  start(): void {
    for (const informer of this.all()) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((informer) => informer.stop()));
  }

  /** True once every list has been read (until then a job has no targets from here, not "none"). */
  hasSynced(): boolean {
    return this.all().every((informer) => informer.hasSynced());
  }

  groups(): TargetGroup[] {
    const { pods, services, endpoints, nodes } = this.informers;
    switch (this.config.role) {
      case 'pod':
        return pods.flatMap((informer) => informer.list().flatMap(podTargets));
      case 'service':
        return services.flatMap((informer) => informer.list().flatMap(serviceTargets));
      case 'node':
        return nodes.flatMap((informer) => informer.list().flatMap(nodeTargets));
      case 'endpoints': {
        const lookup = <T extends KubeObject>(list: Informer<T>[], namespace: string, name: string) => list.map((informer) => informer.get(namespace, name)).find((found) => found !== undefined);
        return endpoints.flatMap((informer) =>
          informer.list().flatMap((object) => endpointsTargets(object, lookup(services, object.metadata.namespace ?? '', object.metadata.name), (namespace, name) => lookup(pods, namespace, name))),
        );
      }
    }
  }
}
