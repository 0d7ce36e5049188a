// `rankscope run --gpu-metrics`: GPU metrics of the GPUs this run's processes use. The wrapper puts
// RANKSCOPE_RUN_ID into its command's environment, so every process of the launch (torchrun's
// workers included) is found by run id in /proc/<pid>/environ; GPUs of other runs are left to the
// node's agent. Node metrics are the agent's job and are not collected here.

import { hostname } from 'node:os';
import type { Labels } from '../../push/types.ts';
import type { ClientAuth, TlsConnectOptions } from '../client-credentials.ts';
import { AgentMetrics } from '../metrics.ts';
import { startHostMetrics, type HostMetricsHandle } from './host-metrics.ts';
import { remoteWriteUrlFor } from './remote-write-sender.ts';

export interface RunGpuMetricsOptions {
  serverUrl: string;
  tenant?: string;
  auth?: ClientAuth;
  tls?: TlsConnectOptions;
  intervalMs: number;
  /** The run's labels; run_id selects the GPUs, host and job label the series. */
  labels: Labels;
  log: (message: string) => void;
  nvidiaSmiPath?: string;
  procRoot?: string;
}

/** A run holds few GPUs; this bounds memory across a server outage of an hour at 15 s. */
const MAX_BUFFERED_SAMPLES = 100_000;

export function startRunGpuMetrics(options: RunGpuMetricsOptions): HostMetricsHandle {
  const host = options.labels.host ?? hostname();
  return startHostMetrics({
    intervalMs: options.intervalMs,
    gpu: 'auto',
    node: false,
    nvidiaSmiPath: options.nvidiaSmiPath ?? process.env.RANKSCOPE_NVIDIA_SMI ?? 'nvidia-smi',
    procRoot: options.procRoot ?? '/proc',
    sysRoot: '/sys',
    host,
    labels: options.labels.job !== undefined ? { job: options.labels.job } : {},
    onlyRunId: options.labels.run_id!,
    // A wrapper started per rank (its own RANK set) reports that rank's GPUs; one around a launcher
    // (torchrun, mpirun) reports every rank's.
    ...(options.labels.rank !== undefined ? { onlyRank: options.labels.rank } : {}),
    sender: {
      writeUrl: remoteWriteUrlFor(options.serverUrl),
      ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
      ...(options.auth !== undefined ? { auth: options.auth } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      timeoutMs: 10_000,
      maxBufferedSamples: MAX_BUFFERED_SAMPLES,
      maxSamplesPerRequest: 2000,
      minBackoffMs: 250,
      maxBackoffMs: 5000,
    },
    metrics: new AgentMetrics(),
    log: options.log,
  });
}
