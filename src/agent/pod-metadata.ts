// Labels of the pods on this node from the Kubernetes API, for the `kubernetes_pods` source with
// `kubernetes_api.enabled`: the DaemonSet agent lists and watches the pods of its own node
// (fieldSelector spec.nodeName) and, for each pod log file (found by the pod's uid in its path), adds
// the node and what names a training run: the job and replica labels of Kubeflow's training operator
// (PyTorchJob, MPIJob, …), Ray's cluster and node-type labels, and `RANK` / `TORCHELASTIC_RUN_ID` /
// `RANKSCOPE_RUN_ID` from the container's environment (literal values only; the API does not resolve
// valueFrom).

import { KubernetesClient } from '../kubernetes/client.ts';
import { Informer, type KubeObject } from '../kubernetes/informer.ts';
import type { Labels } from '../push/types.ts';

export interface PodMetadataConfig {
  /** Empty: in-cluster. */
  apiServer: string;
  /** Empty: the NODE_NAME environment variable (the chart sets it from spec.nodeName). */
  nodeName: string;
}

interface PodSpecContainer {
  name: string;
  env?: Array<{ name: string; value?: string }>;
}

export interface PodObject extends KubeObject {
  spec?: { nodeName?: string; containers?: PodSpecContainer[]; initContainers?: PodSpecContainer[] };
}

/** Pod label → our label. The first present of each group wins. */
const POD_LABELS: Array<[ours: string, theirs: string[]]> = [
  ['job', ['training.kubeflow.org/job-name', 'job-name', 'pytorch-job-name']],
  ['replica_type', ['training.kubeflow.org/replica-type', 'replica-type']],
  ['replica_index', ['training.kubeflow.org/replica-index', 'replica-index']],
  ['ray_cluster', ['ray.io/cluster']],
  ['ray_node_type', ['ray.io/node-type']],
  ['ray_group', ['ray.io/group']],
];

/** Container environment variable → our label. */
const ENV_LABELS: Array<[ours: string, variable: string]> = [
  ['rank', 'RANK'],
  ['torchelastic_run_id', 'TORCHELASTIC_RUN_ID'],
  ['run_id', 'RANKSCOPE_RUN_ID'],
];

/** The labels one container's log gets from its pod. */
export function podMetadataLabels(pod: PodObject, container: string): Labels {
  const labels: Labels = {};
  if (pod.spec?.nodeName) labels.node = pod.spec.nodeName;
  const podLabels = pod.metadata.labels ?? {};
  for (const [ours, theirs] of POD_LABELS) {
    const found = theirs.find((name) => podLabels[name] !== undefined && podLabels[name] !== '');
    if (found !== undefined) labels[ours] = ours === 'replica_type' ? podLabels[found]!.toLowerCase() : podLabels[found]!;
  }
  const spec = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === container);
  for (const [ours, variable] of ENV_LABELS) {
    const value = spec?.env?.find((env) => env.name === variable)?.value;
    if (value !== undefined && value !== '') labels[ours] = value;
  }
  return labels;
}

export class PodMetadata {
  private readonly informer: Informer<PodObject>;
  private readonly byUid = new Map<string, PodObject>();

  constructor(config: PodMetadataConfig, log: (message: string) => void, client?: KubernetesClient, env: NodeJS.ProcessEnv = process.env) {
    const nodeName = config.nodeName || env.NODE_NAME || '';
    if (nodeName === '') throw new Error('kubernetes_api: set node_name or the NODE_NAME environment variable (the pods of this node are read)');
    const kube = client ?? new KubernetesClient({ apiServer: config.apiServer || undefined }, env);
    const path = `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName}`)}`;
    this.informer = new Informer<PodObject>(kube, path, () => this.reindex(), (message) => log(`kubernetes_api: ${message}`));
  }

  private reindex(): void {
    this.byUid.clear();
    for (const pod of this.informer.list()) if (pod.metadata.uid) this.byUid.set(pod.metadata.uid, pod);
  }

  start(): void {
    this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** True once the node's pods have been listed. */
  ready(): boolean {
    return this.informer.hasSynced();
  }

  /** The pod's labels for one of its containers, or undefined while the pod is not known (yet). */
  labelsFor(uid: string, container: string): Labels | undefined {
    const pod = this.byUid.get(uid);
    return pod === undefined ? undefined : podMetadataLabels(pod, container);
  }
}
