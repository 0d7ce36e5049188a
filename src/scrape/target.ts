// From a discovered target (its `__address__` and group labels) to a scrape target, as Prometheus'
// PopulateLabels does: the job's defaults go in as `job`, `__scheme__`, `__metrics_path__`,
// `__scrape_interval__`, `__scrape_timeout__` and `__param_<name>`, relabel_configs run, `instance`
// defaults to `__address__`, the URL is built from the `__` labels, and those are dropped.

import { formatDurationMs } from '../duration/duration.ts';
import type { Labels } from '../push/types.ts';
import type { ScrapeConfig } from './config.ts';
import { relabel } from './relabel.ts';

export interface TargetGroup {
  targets: string[];
  labels: Labels;
  /** Where the group came from (`static_configs[0]`, a file path), for the targets API. */
  source: string;
}

export interface ScrapeTarget {
  job: string;
  /** Labels before relabeling, as the targets API shows them. */
  discoveredLabels: Labels;
  /** The labels every series of the target gets. */
  labels: Labels;
  url: string;
  /** Identity of the target within its job (its final labels and URL). */
  key: string;
}

export type PopulatedTarget = { kind: 'active'; target: ScrapeTarget } | { kind: 'dropped'; discoveredLabels: Labels } | { kind: 'error'; discoveredLabels: Labels; message: string };

export function discoveredLabelsOf(address: string, group: TargetGroup, config: ScrapeConfig): Labels {
  const labels: Labels = { ...group.labels, __address__: address };
  labels.job ??= config.job_name;
  labels.__scheme__ ??= config.scheme;
  labels.__metrics_path__ ??= config.metrics_path;
  labels.__scrape_interval__ ??= formatDurationMs(config.scrape_interval);
  labels.__scrape_timeout__ ??= formatDurationMs(config.scrape_timeout);
  for (const [name, values] of Object.entries(config.params)) if (values.length > 0) labels[`__param_${name}`] ??= values[0]!;
  return labels;
}

export function populateTarget(discoveredLabels: Labels, config: ScrapeConfig): PopulatedTarget {
  const relabeled = relabel(discoveredLabels, config.relabel_configs);
  if (relabeled === undefined) return { kind: 'dropped', discoveredLabels };
  const address = relabeled.__address__;
  if (address === undefined || address === '') return { kind: 'error', discoveredLabels, message: 'no address' };
  if (address.includes('/')) return { kind: 'error', discoveredLabels, message: `invalid __address__ ${JSON.stringify(address)}: a host:port, without a path` };
  const params = new URLSearchParams();
  for (const [name, values] of Object.entries(config.params)) for (const value of values) params.append(name, value);
  for (const [name, value] of Object.entries(relabeled)) if (name.startsWith('__param_')) params.set(name.slice('__param_'.length), value);
  const query = params.toString();
  const scheme = relabeled.__scheme__ ?? config.scheme;
  const path = relabeled.__metrics_path__ ?? config.metrics_path;
  const url = `${scheme}://${address}${path}${query === '' ? '' : `?${query}`}`;
  const labels: Labels = {};
  for (const name of Object.keys(relabeled).sort()) if (!name.startsWith('__') && relabeled[name] !== '') labels[name] = relabeled[name]!;
  labels.instance ??= address;
  return { kind: 'active', target: { job: config.job_name, discoveredLabels, labels, url, key: `${url} ${JSON.stringify(labels)}` } };
}
