// The agent's `metrics:` section turned into a running GPU and node collection that ships with the
// same server URL, tenant, credentials and TLS settings as the agent's logs.

import { hostname } from 'node:os';
import { tlsConnectOptions } from '../client-credentials.ts';
import { clientAuthOf, clientTlsOf, type AgentConfig } from '../config.ts';
import type { AgentMetrics } from '../metrics.ts';
import { startHostMetrics, type HostMetricsHandle } from './host-metrics.ts';
import { remoteWriteUrlFor } from './remote-write-sender.ts';

/** Prometheus' remote write default: 2000 samples per send. */
const MAX_SAMPLES_PER_REQUEST = 2000;

export function startAgentHostMetrics(config: AgentConfig, metrics: AgentMetrics, log: (message: string) => void): HostMetricsHandle {
  const section = config.metrics;
  return startHostMetrics({
    intervalMs: section.interval,
    gpu: section.gpu,
    node: true,
    nvidiaSmiPath: section.nvidia_smi_path,
    procRoot: section.proc_root,
    sysRoot: section.sys_root,
    host: config.labels.host ?? hostname(),
    labels: config.labels,
    sender: {
      writeUrl: remoteWriteUrlFor(config.server.url),
      ...(config.server.tenant !== undefined ? { tenant: config.server.tenant } : {}),
      headers: config.server.headers,
      auth: clientAuthOf(config.server),
      ...(config.server.url.startsWith('https:') ? { tls: tlsConnectOptions(clientTlsOf(config.server)) } : {}),
      timeoutMs: config.server.timeout_ms,
      maxBufferedSamples: section.max_buffered_samples,
      maxSamplesPerRequest: MAX_SAMPLES_PER_REQUEST,
      minBackoffMs: config.retry.min_backoff_ms,
      maxBackoffMs: config.retry.max_backoff_ms,
    },
    metrics,
    log,
  });
}
