// Loki 3's `discover_service_name`: a stream without a `service_name` label gets one, copied from the
// first of the configured labels it has (Loki's default list starts with service, app, application,
// name, …), else `unknown_service`. Logs Drilldown lists services by this label.

import type { PushStream } from '../push/types.ts';

export const SERVICE_NAME = 'service_name';
export const UNKNOWN_SERVICE = 'unknown_service';

/** Loki's default `discover_service_name` list, for users who turn the feature on. */
export const LOKI_SERVICE_NAME_LABELS = [
  'service',
  'app',
  'application',
  'app_name',
  'name',
  'app_kubernetes_io_name',
  'container',
  'container_name',
  'k8s_container_name',
  'component',
  'workload',
  'job',
  'k8s_job_name',
];

/** Adds `service_name` to streams that lack it, in place (the streams belong to this request). */
export function addServiceNames(streams: PushStream[], fromLabels: readonly string[]): void {
  for (const stream of streams) {
    if (stream.labels[SERVICE_NAME] !== undefined) continue;
    let value = UNKNOWN_SERVICE;
    for (const name of fromLabels) {
      const candidate = stream.labels[name];
      if (candidate !== undefined && candidate !== '') {
        value = candidate;
        break;
      }
    }
    stream.labels = { ...stream.labels, [SERVICE_NAME]: value };
  }
}
