// What one simulated rank reports as metrics, the way a DCGM exporter and a training script's
// Prometheus client would: GPU utilisation, SM activity, memory, power, temperature and PCIe
// throughput (DCGM field names), the training loss it also prints, and step time. Samples are
// buffered and shipped to the server with remote_write 1.0 about once a second, so metrics sit beside
// the logs in `rankscope demo` (and its built-in dashboards) with no scrape setup. Sending never
// blocks or fails the rank: a refused or lost batch is dropped.

import type { Labels } from '../push/types.ts';
import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../push/remote-write-encode.ts';
import type { RemoteWriteMetadata } from '../push/remote-write-decode.ts';
import type { RankIdentity } from './rank-output.ts';
import { seededRandom } from './torch-output.ts';

/** A batch a second: 8 ranks make 8 small requests a second, far below what ingest notices. */
const FLUSH_INTERVAL_MS = 1000;
const SEND_TIMEOUT_MS = 2000;

const METADATA: RemoteWriteMetadata[] = [
  { family: 'DCGM_FI_DEV_GPU_UTIL', type: 'gauge', help: 'GPU utilization (in %).', unit: '' },
  { family: 'DCGM_FI_DEV_FB_USED', type: 'gauge', help: 'Framebuffer memory used (in MiB).', unit: '' },
  { family: 'DCGM_FI_DEV_GPU_TEMP', type: 'gauge', help: 'GPU temperature (in C).', unit: '' },
  { family: 'DCGM_FI_DEV_FB_FREE', type: 'gauge', help: 'Framebuffer memory free (in MiB).', unit: '' },
  { family: 'DCGM_FI_DEV_POWER_USAGE', type: 'gauge', help: 'Power draw (in W).', unit: '' },
  { family: 'DCGM_FI_PROF_SM_ACTIVE', type: 'gauge', help: 'The ratio of cycles an SM has at least 1 warp assigned.', unit: '' },
  { family: 'DCGM_FI_DEV_PCIE_RX_THROUGHPUT', type: 'gauge', help: 'PCIe rx throughput (in KB/s).', unit: '' },
  { family: 'DCGM_FI_DEV_PCIE_TX_THROUGHPUT', type: 'gauge', help: 'PCIe tx throughput (in KB/s).', unit: '' },
  { family: 'train_loss', type: 'gauge', help: 'Training loss of the last step on this rank.', unit: '' },
  { family: 'train_step', type: 'gauge', help: 'Last finished optimizer step on this rank.', unit: '' },
  { family: 'train_step_duration_seconds', type: 'gauge', help: 'Wall-clock time of the last step on this rank.', unit: 'seconds' },
];

export interface RankMetricsOptions {
  /** The server's remote_write endpoint, e.g. http://127.0.0.1:3100/api/v1/write. */
  url: string;
  identity: RankIdentity;
  runId: string;
  job: string;
  seed: number;
  /** Injected for tests; the global fetch by default. */
  fetch?: typeof fetch;
}

export class RankMetrics {
  private readonly options: RankMetricsOptions;
  private readonly random: () => number;
  private readonly gpuLabels: Labels;
  private readonly rankLabels: Labels;
  private readonly pending = new Map<string, RemoteWriteSeriesInput>();
  private lastFlushMs = 0;
  private sending: Promise<void> = Promise.resolve();
  private metadataSent = false;

  constructor(options: RankMetricsOptions) {
    this.options = options;
    this.random = seededRandom(options.seed * 7919 + options.identity.rank);
    const { rank, localRank, host } = options.identity;
    this.rankLabels = { job: options.job, host, rank: String(rank), run_id: options.runId };
    this.gpuLabels = { ...this.rankLabels, gpu: String(localRank) };
  }

  /** Samples for one finished step; ships the buffer when a flush interval has passed. */
  step(step: number, timestampMs: number, values: { loss: number; stepSeconds: number; failed: boolean }): void {
    // A healthy data-parallel rank keeps its GPU busy; the failing one idles as it dies.
    const utilization = values.failed ? 3 + this.random() * 4 : 86 + this.random() * 12;
    this.add('DCGM_FI_DEV_GPU_UTIL', this.gpuLabels, timestampMs, Math.round(utilization));
    const usedMiB = Math.round(61_000 + Math.min(step, 50) * 180 + this.random() * 400);
    this.add('DCGM_FI_DEV_FB_USED', this.gpuLabels, timestampMs, usedMiB);
    this.add('DCGM_FI_DEV_FB_FREE', this.gpuLabels, timestampMs, 81_559 - usedMiB);
    this.add('DCGM_FI_DEV_GPU_TEMP', this.gpuLabels, timestampMs, Math.round(62 + utilization / 8 + this.random() * 3));
    // What the built-in Training run dashboard shows beside utilisation (src/dashboards/builtin-dashboards.ts).
    this.add('DCGM_FI_DEV_POWER_USAGE', this.gpuLabels, timestampMs, Math.round(70 + utilization * 6.2 + this.random() * 20));
    this.add('DCGM_FI_PROF_SM_ACTIVE', this.gpuLabels, timestampMs, Math.round((utilization / 100) * (0.82 + this.random() * 0.1) * 1000) / 1000);
    this.add('DCGM_FI_DEV_PCIE_RX_THROUGHPUT', this.gpuLabels, timestampMs, Math.round(utilization * 2000 + this.random() * 10_000));
    this.add('DCGM_FI_DEV_PCIE_TX_THROUGHPUT', this.gpuLabels, timestampMs, Math.round(utilization * 1700 + this.random() * 10_000));
    this.add('train_loss', this.rankLabels, timestampMs, values.loss);
    this.add('train_step', this.rankLabels, timestampMs, step);
    this.add('train_step_duration_seconds', this.rankLabels, timestampMs, values.stepSeconds);
    if (timestampMs - this.lastFlushMs >= FLUSH_INTERVAL_MS) void this.flush(timestampMs);
  }

  /** Sends what is buffered; resolves when every send so far has finished (or failed). */
  flush(nowMs = Date.now()): Promise<void> {
    this.lastFlushMs = nowMs;
    if (this.pending.size > 0) {
      const series = [...this.pending.values()];
      this.pending.clear();
      const metadata = this.metadataSent ? [] : METADATA;
      this.metadataSent = true;
      // One request at a time, in order: a series' samples must arrive in time order.
      this.sending = this.sending.then(() => this.send(series, metadata));
    }
    return this.sending;
  }

  private add(name: string, labels: Labels, timestampMs: number, value: number): void {
    // One series per metric name: each rank owns one GPU.
    let series = this.pending.get(name);
    if (series === undefined) {
      series = { labels: { __name__: name, ...labels }, samples: [] };
      this.pending.set(name, series);
    }
    series.samples.push({ timestampMs, value });
  }

  private async send(series: RemoteWriteSeriesInput[], metadata: RemoteWriteMetadata[]): Promise<void> {
    try {
      const response = await (this.options.fetch ?? fetch)(this.options.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
        body: snappyCompress(encodeWriteRequestV1(series, metadata)),
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      });
      await response.arrayBuffer();
    } catch {
      // The demo's server may be stopping; metrics are best effort, the rank's logs are what matter.
    }
  }
}
