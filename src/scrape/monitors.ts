// The Prometheus Operator's ServiceMonitor and PodMonitor objects (monitoring.coreos.com/v1) as scrape
// configs, the way the operator turns them into Prometheus config: one job per endpoint
// (`serviceMonitor/<namespace>/<name>/<index>`, `podMonitor/…`), Kubernetes discovery of the
// endpoints or pods in the selected namespaces, a keep rule per selector term and for the port, the
// operator's target labels (namespace, service, pod, container, endpoint, job), then the object's own
// relabelings and metricRelabelings. A cluster that already describes its scrapes this way switches
// over without rewriting them.

import type { ScrapeConfigInput } from './config.ts';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

interface OperatorRelabel {
  sourceLabels?: string[];
  separator?: string;
  targetLabel?: string;
  regex?: string;
  modulus?: number;
  replacement?: string;
  action?: string;
}

interface MonitorEndpoint {
  port?: string;
  targetPort?: string | number;
  path?: string;
  scheme?: string;
  params?: Record<string, string[]>;
  interval?: string;
  scrapeTimeout?: string;
  honorLabels?: boolean;
  honorTimestamps?: boolean;
  bearerTokenFile?: string;
  relabelings?: OperatorRelabel[];
  metricRelabelings?: OperatorRelabel[];
}

export interface MonitorObject {
  metadata: { name: string; namespace?: string };
  spec?: {
    selector?: LabelSelector;
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    jobLabel?: string;
    endpoints?: MonitorEndpoint[];
    podMetricsEndpoints?: MonitorEndpoint[];
    sampleLimit?: number;
  };
}

export interface MonitorDiscoveryDefaults {
  apiServer: string;
  bearerTokenFile: string;
  caFile: string;
  insecureSkipVerify: boolean;
  scrapeInterval: string;
}

type Relabel = NonNullable<ScrapeConfigInput['relabel_configs']>[number];

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sanitize = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, '_');

/** Keep/drop rules for a label selector over `__meta_kubernetes_<kind>_label*`. */
export function selectorRelabels(selector: LabelSelector | undefined, kind: 'service' | 'pod'): Relabel[] {
  const rules: Relabel[] = [];
  const labelOf = (key: string) => `__meta_kubernetes_${kind}_label_${sanitize(key)}`;
  const presentOf = (key: string) => `__meta_kubernetes_${kind}_labelpresent_${sanitize(key)}`;
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    rules.push({ action: 'keep', source_labels: [labelOf(key), presentOf(key)], regex: `(${escapeRegex(value)});true` });
  }
  for (const expression of selector?.matchExpressions ?? []) {
    const values = `(${(expression.values ?? []).map(escapeRegex).join('|')})`;
    switch (expression.operator) {
      case 'In':
        rules.push({ action: 'keep', source_labels: [labelOf(expression.key), presentOf(expression.key)], regex: `${values};true` });
        break;
      case 'NotIn':
        rules.push({ action: 'drop', source_labels: [labelOf(expression.key), presentOf(expression.key)], regex: `${values};true` });
        break;
      case 'Exists':
        rules.push({ action: 'keep', source_labels: [presentOf(expression.key)], regex: 'true' });
        break;
      case 'DoesNotExist':
        rules.push({ action: 'drop', source_labels: [presentOf(expression.key)], regex: 'true' });
        break;
      default:
        throw new Error(`selector operator ${JSON.stringify(expression.operator)} is not one of In, NotIn, Exists, DoesNotExist`);
    }
  }
  return rules;
}

function operatorRelabel(rule: OperatorRelabel): Relabel {
  const out: Relabel = {};
  if (rule.sourceLabels) out.source_labels = rule.sourceLabels;
  if (rule.separator !== undefined) out.separator = rule.separator;
  if (rule.targetLabel !== undefined) out.target_label = rule.targetLabel;
  if (rule.regex !== undefined) out.regex = rule.regex;
  if (rule.modulus !== undefined) out.modulus = rule.modulus;
  if (rule.replacement !== undefined) out.replacement = rule.replacement;
  if (rule.action !== undefined) out.action = rule.action.toLowerCase() as Relabel['action'];
  return out;
}

function namespacesOf(monitor: MonitorObject): string[] {
  const selector = monitor.spec?.namespaceSelector;
  if (selector?.any) return [];
  if (selector?.matchNames && selector.matchNames.length > 0) return selector.matchNames;
  return [monitor.metadata.namespace ?? 'default'];
}

function baseConfig(jobName: string, role: 'endpoints' | 'pod', monitor: MonitorObject, endpoint: MonitorEndpoint, defaults: MonitorDiscoveryDefaults): ScrapeConfigInput {
  const config: ScrapeConfigInput = {
    job_name: jobName,
    scrape_interval: endpoint.interval ?? defaults.scrapeInterval,
    metrics_path: endpoint.path ?? '/metrics',
    scheme: endpoint.scheme === 'https' ? 'https' : 'http',
    params: endpoint.params ?? {},
    honor_labels: endpoint.honorLabels ?? false,
    honor_timestamps: endpoint.honorTimestamps ?? true,
    sample_limit: monitor.spec?.sampleLimit ?? 0,
    kubernetes_sd_configs: [
      {
        role,
        api_server: defaults.apiServer,
        bearer_token_file: defaults.bearerTokenFile,
        tls_config: { ca_file: defaults.caFile, insecure_skip_verify: defaults.insecureSkipVerify },
        namespaces: { names: namespacesOf(monitor) },
      },
    ],
    metric_relabel_configs: (endpoint.metricRelabelings ?? []).map(operatorRelabel),
  };
  if (endpoint.scrapeTimeout !== undefined) config.scrape_timeout = endpoint.scrapeTimeout;
  if (endpoint.bearerTokenFile) config.bearer_token_file = endpoint.bearerTokenFile;
  return config;
}

export function serviceMonitorScrapeConfigs(monitor: MonitorObject, defaults: MonitorDiscoveryDefaults): ScrapeConfigInput[] {
  const namespace = monitor.metadata.namespace ?? 'default';
  return (monitor.spec?.endpoints ?? []).map((endpoint, index) => {
    const config = baseConfig(`serviceMonitor/${namespace}/${monitor.metadata.name}/${index}`, 'endpoints', monitor, endpoint, defaults);
    const relabels: Relabel[] = [...selectorRelabels(monitor.spec?.selector, 'service')];
    if (endpoint.port) relabels.push({ action: 'keep', source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: escapeRegex(endpoint.port) });
    else if (endpoint.targetPort !== undefined) {
      const numeric = typeof endpoint.targetPort === 'number' || /^\d+$/.test(endpoint.targetPort);
      relabels.push({ action: 'keep', source_labels: [numeric ? '__meta_kubernetes_pod_container_port_number' : '__meta_kubernetes_pod_container_port_name'], regex: escapeRegex(String(endpoint.targetPort)) });
    }
    relabels.push(
      { source_labels: ['__meta_kubernetes_endpoint_address_target_kind', '__meta_kubernetes_endpoint_address_target_name'], separator: ';', regex: 'Node;(.*)', replacement: '${1}', target_label: 'node' },
      { source_labels: ['__meta_kubernetes_endpoint_address_target_kind', '__meta_kubernetes_endpoint_address_target_name'], separator: ';', regex: 'Pod;(.*)', replacement: '${1}', target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'job', replacement: '${1}' },
    );
    if (monitor.spec?.jobLabel) relabels.push({ source_labels: [`__meta_kubernetes_service_label_${sanitize(monitor.spec.jobLabel)}`], target_label: 'job', regex: '(.+)', replacement: '${1}' });
    relabels.push({ target_label: 'endpoint', replacement: endpoint.port ?? String(endpoint.targetPort ?? '') });
    relabels.push(...(endpoint.relabelings ?? []).map(operatorRelabel));
    config.relabel_configs = relabels;
    return config;
  });
}

export function podMonitorScrapeConfigs(monitor: MonitorObject, defaults: MonitorDiscoveryDefaults): ScrapeConfigInput[] {
  const namespace = monitor.metadata.namespace ?? 'default';
  return (monitor.spec?.podMetricsEndpoints ?? []).map((endpoint, index) => {
    const config = baseConfig(`podMonitor/${namespace}/${monitor.metadata.name}/${index}`, 'pod', monitor, endpoint, defaults);
    const relabels: Relabel[] = [...selectorRelabels(monitor.spec?.selector, 'pod')];
    if (endpoint.port) relabels.push({ action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: escapeRegex(endpoint.port) });
    else if (endpoint.targetPort !== undefined) relabels.push({ action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: escapeRegex(String(endpoint.targetPort)) });
    relabels.push(
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { target_label: 'job', replacement: `${namespace}/${monitor.metadata.name}` },
    );
    if (monitor.spec?.jobLabel) relabels.push({ source_labels: [`__meta_kubernetes_pod_label_${sanitize(monitor.spec.jobLabel)}`], target_label: 'job', regex: '(.+)', replacement: '${1}' });
    relabels.push({ target_label: 'endpoint', replacement: endpoint.port ?? String(endpoint.targetPort ?? '') });
    relabels.push(...(endpoint.relabelings ?? []).map(operatorRelabel));
    config.relabel_configs = relabels;
    return config;
  });
}
