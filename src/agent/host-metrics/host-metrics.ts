// GPU and node metrics for the agent and for `rankscope run`: a GPU collector driven by nvidia-smi's
// own loop, a node collector read every interval, and one remote write sender for both. The sender
// is flushed every interval (and once a second while it has a backlog, so an outage drains fast).

import type { Labels } from '../../push/types.ts';
import type { AgentMetrics } from '../metrics.ts';
import { GpuCollector } from './gpu-collector.ts';
import { NodeCollector } from './node-collector.ts';
import { RemoteWriteSender, type RemoteWriteSenderOptions } from './remote-write-sender.ts';

export interface HostMetricsOptions {
  intervalMs: number;
  gpu: 'auto' | 'on' | 'off';
  /** false in `rankscope run`: it reports its ranks' GPUs, the node is the agent's job. */
  node: boolean;
  nvidiaSmiPath: string;
  procRoot: string;
  sysRoot: string;
  host: string;
  /** Labels on every series besides the ones collectors set (the agent's static labels). */
  labels: Labels;
  /** Only GPUs used by processes of this run (`rankscope run`). */
  onlyRunId?: string;
  /** Only GPUs used by this rank of that run (a wrapper per rank). */
  onlyRank?: string;
  sender: Omit<RemoteWriteSenderOptions, 'log'>;
  metrics: AgentMetrics;
  log: (message: string) => void;
}

export interface HostMetricsHandle {
  gpu: GpuCollector | undefined;
  sender: RemoteWriteSender;
  /** Collects node metrics and flushes now (tests use it instead of waiting for the timer). */
  collectNow(): Promise<void>;
  /** Stops collecting and tries to send what is buffered for up to `drainTimeoutMs`. */
  stop(drainTimeoutMs: number): Promise<void>;
}

const BACKLOG_FLUSH_INTERVAL_MS = 1000;

export function startHostMetrics(options: HostMetricsOptions): HostMetricsHandle {
  const sender = new RemoteWriteSender({ ...options.sender, log: options.log }, options.metrics);
  const labels: Labels = { ...options.labels, host: options.host };
  const node = options.node ? new NodeCollector({ procRoot: options.procRoot, sysRoot: options.sysRoot, labels, log: options.log }) : undefined;
  const gpu =
    options.gpu === 'off'
      ? undefined
      : new GpuCollector({
          nvidiaSmiPath: options.nvidiaSmiPath,
          intervalMs: options.intervalMs,
          procRoot: options.procRoot,
          host: options.host,
          labels: options.labels,
          required: options.gpu === 'on',
          ...(options.onlyRunId !== undefined ? { onlyRunId: options.onlyRunId } : {}),
          ...(options.onlyRank !== undefined ? { onlyRank: options.onlyRank } : {}),
          emit: (samples) => sender.add(samples),
          log: options.log,
        });
  options.metrics.gauge('rankscope_agent_gpu_collection_up', 'Whether nvidia-smi is streaming GPU readings (0 on a machine without GPUs).', () => [
    { labels: {}, value: gpu?.state === 'running' ? 1 : 0 },
  ]);

  const collect = (): Promise<void> => {
    if (node !== undefined) sender.add(node.collect());
    return sender.flush();
  };
  let lastCollectAtMs = Date.now();
  const timer = setInterval(() => {
    const nowMs = Date.now();
    if (nowMs - lastCollectAtMs >= options.intervalMs) {
      lastCollectAtMs = nowMs;
      void collect();
    } else if (sender.bufferedSamples > 0) void sender.flush(nowMs);
  }, Math.min(options.intervalMs, BACKLOG_FLUSH_INTERVAL_MS));
  timer.unref();
  gpu?.start();
  void collect();

  return {
    gpu,
    sender,
    collectNow: collect,
    async stop(drainTimeoutMs: number): Promise<void> {
      clearInterval(timer);
      await gpu?.stop();
      await sender.close(drainTimeoutMs);
    },
  };
}
