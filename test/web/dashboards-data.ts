// Half an hour of what a GPU cluster sends, for the dashboard browser tests: an 8-rank training run
// on two nodes whose rank 5 goes idle 10 minutes before the end (and logs an NCCL timeout), a
// 4-GPU fine-tuning run on a third node, a fourth node with 4 GPUs in no run, one GPU with XID 79
// and thermal throttling, InfiniBand counters, and a vLLM server (V1 metric names, its histograms
// growing step by step) with its logs. Metrics go by remote_write, logs by the push API.
import type { PushStream } from '../../src/push/types.ts';
import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../../src/push/remote-write-encode.ts';

const STEP_MS = 15_000;
const SPAN_MS = 30 * 60_000;
const IDLE_FROM_MS = 10 * 60_000; // before the end
export const TRAINING_RUN = 'run-llama-7b';
export const FINETUNE_RUN = 'run-bert-ft';
export const IDLE_RANK = 5;
export const VLLM_MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

/** A small deterministic PRNG so every run draws the same picture. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class SeriesSet {
  private readonly byKey = new Map<string, RemoteWriteSeriesInput>();
  add(name: string, labels: Record<string, string>, timestampMs: number, value: number): void {
    const full = { __name__: name, ...labels };
    const key = JSON.stringify(Object.entries(full).sort());
    let series = this.byKey.get(key);
    if (series === undefined) this.byKey.set(key, (series = { labels: full, samples: [] }));
    series.samples.push({ timestampMs, value });
  }
  all(): RemoteWriteSeriesInput[] {
    return [...this.byKey.values()];
  }
}

interface Gpu {
  host: string;
  gpu: number;
  runId?: string;
  rank?: number;
}

function gpus(): Gpu[] {
  const list: Gpu[] = [];
  for (let rank = 0; rank < 8; rank++) list.push({ host: `node-${Math.floor(rank / 4)}`, gpu: rank % 4, runId: TRAINING_RUN, rank });
  for (let rank = 0; rank < 4; rank++) list.push({ host: 'node-2', gpu: rank, runId: FINETUNE_RUN, rank });
  for (let gpu = 0; gpu < 4; gpu++) list.push({ host: 'node-3', gpu });
  return list;
}

const TTFT_BOUNDS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const ITL_BOUNDS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const E2E_BOUNDS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

/** Adds `count` observations drawn around `typical` (log-normal-ish) to cumulative bucket counters. */
function observe(buckets: number[], bounds: number[], count: number, typical: number, next: () => number): number {
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const value = typical * Math.exp((next() - 0.5) * 1.6);
    sum += value;
    for (let b = 0; b < bounds.length; b++) if (value <= bounds[b]!) buckets[b]!++;
    buckets[bounds.length]!++; // +Inf
  }
  return sum;
}

export function clusterMetrics(endMs: number): RemoteWriteSeriesInput[] {
  const set = new SeriesSet();
  const next = random(13);
  const startMs = endMs - SPAN_MS;
  const ibBytes = new Map<string, number>();
  const ttft = new Array<number>(TTFT_BOUNDS.length + 1).fill(0);
  const itl = new Array<number>(ITL_BOUNDS.length + 1).fill(0);
  const e2e = new Array<number>(E2E_BOUNDS.length + 1).fill(0);
  const sums = { ttft: 0, itl: 0, e2e: 0 };
  const finished: Record<string, number> = { stop: 0, length: 0, abort: 0 };
  let promptTokens = 0;
  let generationTokens = 0;
  for (let t = startMs; t <= endMs; t += STEP_MS) {
    const idle = endMs - t < IDLE_FROM_MS;
    for (const gpu of gpus()) {
      const labels: Record<string, string> = { job: 'rankscope-agent', host: gpu.host, Hostname: gpu.host, gpu: String(gpu.gpu), UUID: `GPU-${gpu.host}-${gpu.gpu}` };
      if (gpu.runId !== undefined) Object.assign(labels, { run_id: gpu.runId, rank: String(gpu.rank) });
      const stalled = gpu.runId === TRAINING_RUN && gpu.rank === IDLE_RANK && idle;
      const busy = gpu.runId !== undefined && !stalled;
      const util = busy ? 88 + next() * 11 : stalled ? 2 + next() * 3 : 0;
      set.add('DCGM_FI_DEV_GPU_UTIL', labels, t, Math.round(util));
      set.add('DCGM_FI_PROF_SM_ACTIVE', labels, t, busy ? 0.7 + next() * 0.2 : 0.01 + next() * 0.02);
      const used = busy ? 62_000 + next() * 9000 : stalled ? 71_500 : 480;
      set.add('DCGM_FI_DEV_FB_USED', labels, t, Math.round(used));
      set.add('DCGM_FI_DEV_FB_FREE', labels, t, Math.round(81_559 - used));
      set.add('DCGM_FI_DEV_POWER_USAGE', labels, t, busy ? 560 + next() * 120 : 72 + next() * 8);
      const hot = gpu.host === 'node-1' && gpu.gpu === 3;
      set.add('DCGM_FI_DEV_GPU_TEMP', labels, t, Math.round((busy ? 64 + next() * 8 : 34 + next() * 3) + (hot ? 21 : 0)));
      set.add('DCGM_FI_DEV_PCIE_RX_THROUGHPUT', labels, t, busy ? 180_000 + next() * 60_000 : 40);
      set.add('DCGM_FI_DEV_PCIE_TX_THROUGHPUT', labels, t, busy ? 150_000 + next() * 50_000 : 30);
      set.add('DCGM_FI_PROF_NVLINK_RX_BYTES', labels, t, busy ? 8e10 + next() * 2e10 : 0);
      set.add('DCGM_FI_PROF_NVLINK_TX_BYTES', labels, t, busy ? 8e10 + next() * 2e10 : 0);
      set.add('DCGM_FI_DEV_XID_ERRORS', labels, t, gpu.host === 'node-1' && gpu.gpu === 1 && endMs - t < 20 * 60_000 ? 79 : 0);
      set.add('rankscope_gpu_clock_throttle_reason_active', { ...labels, reason: 'hw_thermal_slowdown' }, t, hot && endMs - t < 15 * 60_000 ? 1 : 0);
      set.add('rankscope_gpu_clock_throttle_reason_active', { ...labels, reason: 'sw_power_cap' }, t, 0);
    }
    for (const host of ['node-0', 'node-1', 'node-2', 'node-3']) {
      set.add('node_load1', { job: 'rankscope-agent', host }, t, host === 'node-3' ? 0.2 : 14 + next() * 4);
      for (const direction of ['received', 'transmitted']) {
        const key = `${host}/${direction}`;
        const rate = host === 'node-3' ? 1e3 : 9e9 + next() * 2e9;
        ibBytes.set(key, (ibBytes.get(key) ?? 0) + rate * (STEP_MS / 1000));
        set.add(`node_infiniband_port_data_${direction}_bytes_total`, { job: 'rankscope-agent', host, device: 'mlx5_0', port: '1' }, t, ibBytes.get(key)!);
      }
    }
    // vLLM: a load that rises through the half hour, with a TTFT that grows with it.
    const load = 0.5 + (t - startMs) / SPAN_MS;
    const requests = Math.round(20 * load + next() * 6);
    sums.ttft += observe(ttft, TTFT_BOUNDS, requests, 0.06 * load, next);
    sums.e2e += observe(e2e, E2E_BOUNDS, requests, 1.2 * load, next);
    sums.itl += observe(itl, ITL_BOUNDS, requests * 30, 0.022, next);
    finished.stop! += Math.round(requests * 0.93);
    finished.length! += Math.round(requests * 0.06);
    finished.abort! += next() < 0.3 ? 1 : 0;
    promptTokens += requests * 850;
    generationTokens += requests * 240;
    const vllm = { job: 'vllm', instance: 'vllm-0:8000', engine: '0', model_name: VLLM_MODEL };
    set.add('vllm:num_requests_running', vllm, t, Math.round(8 * load + next() * 4));
    set.add('vllm:num_requests_waiting', vllm, t, Math.max(0, Math.round(6 * (load - 0.9) + next() * 2)));
    set.add('vllm:kv_cache_usage_perc', vllm, t, Math.min(0.97, 0.3 * load + next() * 0.05));
    set.add('vllm:prompt_tokens_total', vllm, t, promptTokens);
    set.add('vllm:generation_tokens_total', vllm, t, generationTokens);
    for (const [reason, count] of Object.entries(finished)) set.add('vllm:request_success_total', { ...vllm, finished_reason: reason }, t, count);
    for (const [name, bounds, counts, sum] of [
      ['vllm:time_to_first_token_seconds', TTFT_BOUNDS, ttft, sums.ttft],
      ['vllm:inter_token_latency_seconds', ITL_BOUNDS, itl, sums.itl],
      ['vllm:e2e_request_latency_seconds', E2E_BOUNDS, e2e, sums.e2e],
    ] as const) {
      bounds.forEach((bound, index) => set.add(`${name}_bucket`, { ...vllm, le: String(bound) }, t, counts[index]!));
      set.add(`${name}_bucket`, { ...vllm, le: '+Inf' }, t, counts[bounds.length]!);
      set.add(`${name}_count`, vllm, t, counts[bounds.length]!);
      set.add(`${name}_sum`, vllm, t, sum);
    }
  }
  return set.all();
}

export async function remoteWrite(url: string, series: RemoteWriteSeriesInput[]): Promise<void> {
  const BATCH = 200;
  for (let offset = 0; offset < series.length; offset += BATCH) {
    const response = await fetch(`${url}/api/v1/write`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
      body: snappyCompress(encodeWriteRequestV1(series.slice(offset, offset + BATCH))),
    });
    if (response.status !== 204) throw new Error(`remote_write answered ${response.status}: ${await response.text()}`);
  }
}

const NS_PER_MS = 1_000_000n;

function stamp(ms: number): string {
  const date = new Date(ms);
  return `${String(date.getUTCMonth() + 1).padStart(2, '0')}-${String(date.getUTCDate()).padStart(2, '0')} ${date.toISOString().slice(11, 19)}`;
}

export function clusterLogs(endMs: number): PushStream[] {
  const next = random(29);
  const startMs = endMs - SPAN_MS;
  const streams: PushStream[] = [];
  for (let rank = 0; rank < 8; rank++) {
    const host = `node-${Math.floor(rank / 4)}`;
    const entries: PushStream['entries'] = [];
    let step = 0;
    let reportedStall = false;
    for (let t = startMs; t <= endMs; t += 5000) {
      const stalled = rank === IDLE_RANK && endMs - t < IDLE_FROM_MS;
      if (stalled) {
        if (!reportedStall) {
          reportedStall = true;
          entries.push({ timestampNs: BigInt(t) * NS_PER_MS, line: `[rank${rank}]:[E ProcessGroupNCCL.cpp:616] [Rank ${rank}] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=${step}, OpType=ALLREDUCE, NumelIn=262144000) ran for 600042 milliseconds before timing out.`, structuredMetadata: [] });
          entries.push({ timestampNs: BigInt(t + 1) * NS_PER_MS, line: 'RuntimeError: NCCL communicator was aborted on rank 5.', structuredMetadata: [] });
        }
        continue;
      }
      step += 1;
      const loss = 1.7 + 9 * Math.pow(step + 1, -0.45) + (next() - 0.5) * 0.05;
      entries.push({ timestampNs: BigInt(t) * NS_PER_MS, line: `step ${step} loss ${loss.toFixed(4)} lr 3.00e-04 grad_norm ${(0.8 + next() * 0.5).toFixed(3)}`, structuredMetadata: [] });
      if (step % 4 === 0) entries.push({ timestampNs: BigInt(t + 2) * NS_PER_MS, line: `INFO train: throughput: ${(22 + next() * 3).toFixed(1)} samples/s, ${Math.round(45_000 + next() * 6000)} tokens/s, mfu 41.2%`, structuredMetadata: [] });
      if (rank === 0) entries.push({ timestampNs: BigInt(t + 3) * NS_PER_MS, line: ` ${Math.round((step / 400) * 100)}%|███       | ${step}/400 [03:12<12:40, ${(0.19 + next() * 0.02).toFixed(2)}it/s]`, structuredMetadata: [] });
    }
    streams.push({ labels: { job: 'train', run_id: TRAINING_RUN, host, rank: String(rank) }, entries });
  }
  const kernel: PushStream['entries'] = [];
  for (let t = endMs - 20 * 60_000; t <= endMs; t += 120_000) kernel.push({ timestampNs: BigInt(t) * NS_PER_MS, line: `NVRM: Xid (PCI:0000:0f:00): 79, pid=48211, name=python, GPU has fallen off the bus.`, structuredMetadata: [] });
  streams.push({ labels: { job: 'kernel', host: 'node-1' }, entries: kernel });
  const vllm: PushStream['entries'] = [];
  for (let t = startMs; t <= endMs; t += 10_000) {
    const load = 0.5 + (t - startMs) / SPAN_MS;
    vllm.push({ timestampNs: BigInt(t) * NS_PER_MS, line: `INFO ${stamp(t)} [loggers.py:116] Engine 000: Avg prompt throughput: ${(1400 * load).toFixed(1)} tokens/s, Avg generation throughput: ${(400 * load).toFixed(1)} tokens/s, Running: ${Math.round(8 * load)} reqs, Waiting: 0 reqs, GPU KV cache usage: ${(30 * load).toFixed(1)}%, Prefix cache hit rate: 52.4%`, structuredMetadata: [] });
    vllm.push({ timestampNs: BigInt(t + 5) * NS_PER_MS, line: `INFO:     10.0.3.${Math.floor(next() * 200)}:${40000 + Math.floor(next() * 9999)} - "POST /v1/chat/completions HTTP/1.1" 200 OK`, structuredMetadata: [] });
    if (next() < 0.05) vllm.push({ timestampNs: BigInt(t + 9) * NS_PER_MS, line: `WARNING ${stamp(t)} [scheduler.py:1560] Sequence group 0b3f was preempted by PreemptionMode.RECOMPUTE mode because there is not enough KV cache space.`, structuredMetadata: [] });
  }
  streams.push({ labels: { job: 'vllm-server', model_name: VLLM_MODEL }, entries: vllm });
  return streams;
}
