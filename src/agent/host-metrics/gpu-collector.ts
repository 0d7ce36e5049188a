// GPU metrics from ONE long-lived `nvidia-smi --query-gpu=… --format=csv,noheader,nounits -lms N`:
// nvidia-smi keeps NVML open and prints one line per GPU every N ms, which costs a fraction of a fork
// per sample (each fork of nvidia-smi initialises NVML, ~50–200 ms of CPU on a loaded 8-GPU node).
// A second, periodic `--query-compute-apps` call maps processes to GPUs for run/rank attribution.
//
// Lifecycle: a field an older driver does not know is dropped and nvidia-smi restarted at once; a
// machine where nvidia-smi is missing or fails before printing any GPU is a machine without GPUs,
// said once, and not retried; a stream that dies after working is restarted after a pause.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type { Labels } from '../../push/types.ts';
import { StreamLineSplitter } from '../stream-lines.ts';
import { attributeGpus, parseComputeApps, processRunLabels, QUERY_COMPUTE_APPS_ARGS } from './gpu-attribution.ts';
import type { MetricSample } from './metric-sample.ts';
import { PcieThroughputStream, type PcieThroughput } from './nvidia-smi-dmon.ts';
import {
  gpuLabels,
  type GpuReading,
  invalidFieldOf,
  NvidiaSmiLineError,
  parseQueryGpuLine,
  queryGpuArgument,
  THROTTLE_REASON_METRIC,
  throttleReasons,
  VALUE_FIELDS,
} from './nvidia-smi-fields.ts';

const RESTART_DELAY_MS = 5000;
/** With `gpu: on`, a missing or failing nvidia-smi is tried again this often. */
const ABSENT_RETRY_MS = 60_000;
/** --query-compute-apps is a fork of nvidia-smi; a hung driver must not pile them up. */
const COMPUTE_APPS_TIMEOUT_MS = 10_000;
/**
 * compute-apps is a fork of nvidia-smi (and of NVML's init) each time; ranks keep their GPU for the
 * whole run, so at a 1 s collection interval it runs every 5 s. Forking it every second took the
 * collection from +0.7% to +1.1% of a core in bench/agent-gpu-bench.ts (8 GPUs, 1 s).
 */
const MIN_ATTRIBUTION_INTERVAL_MS = 5000;
/** Output kept to explain a failure (nvidia-smi prints one-line reasons). */
const MAX_DIAGNOSTIC_CHARS = 2000;

export interface GpuCollectorOptions {
  nvidiaSmiPath: string;
  intervalMs: number;
  /** Where /proc/<pid>/environ is read for attribution. */
  procRoot: string;
  host: string;
  /** Receives each GPU's samples as nvidia-smi prints them. */
  emit: (samples: MetricSample[]) => void;
  log: (message: string) => void;
  /** Emit only GPUs attributed to this run (`rankscope run` collects for its own ranks). */
  onlyRunId?: string;
  /** …and of this rank (a wrapper per rank reports its own GPU, not its neighbours' again). */
  onlyRank?: string;
  /** `gpu: on`: keep trying when nvidia-smi is missing instead of concluding there is no GPU. */
  required?: boolean;
  /** How often compute-apps runs (default: the interval, at least 5 s). */
  attributionIntervalMs?: number;
  /** Extra labels on every series. */
  labels?: Labels;
}

export type GpuCollectorState = 'starting' | 'running' | 'no_gpu' | 'stopped';

export class GpuCollector {
  private readonly options: GpuCollectorOptions;
  private fields = [...VALUE_FIELDS];
  private child: ChildProcess | undefined;
  private sawGpuLine = false;
  private saidNoGpu = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private appsTimer: NodeJS.Timeout | undefined;
  private appsRunning = false;
  private attribution = new Map<string, Labels>();
  /** The last reading of each GPU index, to label dmon's lines (which name the index only). */
  private readonly readingsByIndex = new Map<string, GpuReading>();
  private pcie: PcieThroughputStream | undefined;
  /** Per GPU uuid: the owner its series were sent under, and those series' labels. */
  private readonly seriesByGpu = new Map<string, { ownerKey: string; series: Map<string, Labels> }>();
  state: GpuCollectorState = 'starting';
  /** Lines nvidia-smi printed that were not GPU lines. */
  malformedLines = 0;
  /** Times the nvidia-smi stream was (re)started. */
  starts = 0;

  constructor(options: GpuCollectorOptions) {
    this.options = options;
  }

  start(): void {
    this.spawnStream();
    this.refreshAttribution();
    this.appsTimer = setInterval(() => this.refreshAttribution(), this.options.attributionIntervalMs ?? Math.max(this.options.intervalMs, MIN_ATTRIBUTION_INTERVAL_MS));
    this.appsTimer.unref();
  }

  /** GPUs currently attributed (uuid → run labels). */
  attributedGpus(): ReadonlyMap<string, Labels> {
    return this.attribution;
  }

  private spawnStream(): void {
    if (this.state === 'stopped' || this.state === 'no_gpu') return;
    this.starts++;
    const args = [`--query-gpu=${queryGpuArgument(this.fields)}`, '--format=csv,noheader,nounits', '-lms', String(this.options.intervalMs)];
    const child = spawn(this.options.nvidiaSmiPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let diagnostic = '';
    const remember = (text: string): void => {
      if (diagnostic.length < MAX_DIAGNOSTIC_CHARS) diagnostic += text.slice(0, MAX_DIAGNOSTIC_CHARS - diagnostic.length);
    };
    const splitter = new StreamLineSplitter((line) => {
      if (line.trim() === '') return;
      try {
        this.onReading(parseQueryGpuLine(line, this.fields));
      } catch (error) {
        if (!(error instanceof NvidiaSmiLineError)) throw error;
        this.malformedLines++;
        remember(`${line}\n`);
      }
    });
    child.stdout!.on('data', (chunk: Buffer) => splitter.write(chunk));
    child.stderr!.on('data', (chunk: Buffer) => remember(chunk.toString('utf8')));
    let spawnError: Error | undefined;
    let finished = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (finished) return;
      finished = true;
      splitter.end();
      if (this.child === child) this.child = undefined;
      if (this.state === 'stopped') return;
      const reason = spawnError !== undefined ? spawnError.message : `${diagnostic.trim().split('\n').slice(0, 3).join(' / ') || 'no output'} (exit ${code ?? signal})`;
      const invalid = spawnError === undefined ? invalidFieldOf(diagnostic) : undefined;
      if (invalid !== undefined && this.fields.some((field) => field.field === invalid)) {
        this.options.log(`nvidia-smi does not know the field ${invalid} (older driver); collecting without it`);
        this.fields = this.fields.filter((field) => field.field !== invalid);
        this.spawnStream();
        return;
      }
      if (!this.sawGpuLine) {
        if (!this.saidNoGpu) {
          this.saidNoGpu = true;
          const what = `${this.options.nvidiaSmiPath} ${spawnError !== undefined ? 'cannot be started' : 'failed'}: ${reason}`;
          this.options.log(this.options.required ? `GPU metrics are required (gpu: on) but ${what}; retrying every ${ABSENT_RETRY_MS / 1000} s` : `no GPU metrics on this machine: ${what}; everything else is collected as usual`);
        }
        if (!this.options.required) {
          this.state = 'no_gpu';
          clearInterval(this.appsTimer);
          return;
        }
        this.restartTimer = setTimeout(() => this.spawnStream(), ABSENT_RETRY_MS);
        this.restartTimer.unref();
        return;
      }
      this.options.log(`nvidia-smi stopped (${reason}); restarting it in ${RESTART_DELAY_MS / 1000} s`);
      this.restartTimer = setTimeout(() => this.spawnStream(), RESTART_DELAY_MS);
      this.restartTimer.unref();
    };
    child.once('error', (error) => {
      spawnError = error;
      // A process that never started emits no 'close' of its own on every Node version.
      if (child.pid === undefined) finish(null, null);
    });
    child.once('close', finish);
  }

  /** A GPU's series labels with its owner's run labels; undefined when this collector skips it. */
  private labelsOf(reading: GpuReading): Labels | undefined {
    const owner = this.attribution.get(reading.uuid);
    if (this.options.onlyRunId !== undefined && owner?.run_id !== this.options.onlyRunId) return undefined;
    if (this.options.onlyRank !== undefined && owner?.rank !== this.options.onlyRank) return undefined;
    return { ...this.options.labels, ...gpuLabels(reading, this.options.host), ...owner };
  }

  /**
   * When a GPU's owner changes (a run starts or ends on it), every series sent under the old owner
   * gets a staleness marker, as Prometheus marks a vanished target's series, so
   * `DCGM_FI_DEV_GPU_UTIL{run_id="…"}` ends with the run instead of lingering for the 5 m lookback.
   */
  private markOwnerChange(uuid: string, base: Labels | undefined, timestampMs: number, samples: MetricSample[]): void {
    const ownerKey = base === undefined ? '' : `${base.run_id ?? ''}\0${base.rank ?? ''}\0${base.local_rank ?? ''}`;
    const previous = this.seriesByGpu.get(uuid);
    if (previous !== undefined && previous.ownerKey !== ownerKey) {
      for (const labels of previous.series.values()) samples.push({ labels, value: Number.NaN, timestampMs, stale: true });
      this.seriesByGpu.delete(uuid);
    }
    if (base !== undefined && !this.seriesByGpu.has(uuid)) this.seriesByGpu.set(uuid, { ownerKey, series: new Map() });
  }

  private remember(uuid: string, samples: MetricSample[]): void {
    const series = this.seriesByGpu.get(uuid)?.series;
    if (series === undefined) return;
    for (const sample of samples) if (sample.stale !== true) series.set(`${sample.labels.__name__}\0${sample.labels.reason ?? ''}`, sample.labels);
  }

  private onPcie(throughput: PcieThroughput): void {
    const reading = this.readingsByIndex.get(throughput.index);
    if (reading === undefined) return;
    const base = this.labelsOf(reading);
    const timestampMs = Date.now();
    const samples: MetricSample[] = [];
    this.markOwnerChange(reading.uuid, base, timestampMs, samples);
    if (base === undefined) {
      if (samples.length > 0) this.options.emit(samples);
      return;
    }
    if (throughput.rxKBps !== undefined) samples.push({ labels: { ...base, __name__: 'DCGM_FI_DEV_PCIE_RX_THROUGHPUT' }, value: throughput.rxKBps, timestampMs });
    if (throughput.txKBps !== undefined) samples.push({ labels: { ...base, __name__: 'DCGM_FI_DEV_PCIE_TX_THROUGHPUT' }, value: throughput.txKBps, timestampMs });
    this.remember(reading.uuid, samples);
    if (samples.length > 0) this.options.emit(samples);
  }

  private onReading(reading: GpuReading): void {
    this.readingsByIndex.set(reading.index, reading);
    if (!this.sawGpuLine) {
      this.sawGpuLine = true;
      this.state = 'running';
      // Started once GPUs are known to be there, so a machine without them hears about it once.
      this.pcie = new PcieThroughputStream(
        this.options.nvidiaSmiPath,
        this.options.intervalMs,
        (throughput) => this.onPcie(throughput),
        (reason) => this.options.log(`no PCIe throughput from nvidia-smi dmon -s t: ${reason}; the other GPU metrics are collected`),
      );
      this.pcie.start();
    }
    const base = this.labelsOf(reading);
    const timestampMs = Date.now();
    const samples: MetricSample[] = [];
    this.markOwnerChange(reading.uuid, base, timestampMs, samples);
    if (base === undefined) {
      if (samples.length > 0) this.options.emit(samples);
      return;
    }
    for (const [metric, value] of reading.values) {
      samples.push({ labels: { ...base, __name__: metric }, value, timestampMs });
      if (metric === 'DCGM_FI_DEV_CLOCK_THROTTLE_REASONS') {
        for (const { reason, active } of throttleReasons(value)) samples.push({ labels: { ...base, __name__: THROTTLE_REASON_METRIC, reason }, value: active, timestampMs });
      }
    }
    this.remember(reading.uuid, samples);
    this.options.emit(samples);
  }

  /** Runs `--query-compute-apps` and replaces the attribution map (the last good one on failure). */
  refreshAttribution(): Promise<void> {
    if (this.appsRunning || this.state === 'no_gpu' || this.state === 'stopped') return Promise.resolve();
    this.appsRunning = true;
    return new Promise<void>((resolve) => {
      execFile(this.options.nvidiaSmiPath, QUERY_COMPUTE_APPS_ARGS, { timeout: COMPUTE_APPS_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (error, stdout) => {
        this.appsRunning = false;
        if (error === null) this.attribution = attributeGpus(parseComputeApps(stdout), (pid) => processRunLabels(this.options.procRoot, pid));
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.restartTimer);
    clearInterval(this.appsTimer);
    await this.pcie?.stop();
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill('SIGTERM');
    await closed;
  }
}
