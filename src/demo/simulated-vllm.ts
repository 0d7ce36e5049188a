// A simulated vLLM server for `rankscope demo`, so the built-in Inference dashboard has something to
// show: every second it remote_writes what vLLM's /metrics would say (V1 names: the time-to-first-
// token, inter-token and end-to-end histograms with vLLM's bucket bounds, requests running and
// waiting, KV-cache usage, prompt and generation token counters, finish reasons) and pushes the
// engine's periodic stats line and request lines as logs. The load drifts up and down, and latency
// follows it. Best effort like the ranks' metrics: a refused or lost batch is dropped.

import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../push/remote-write-encode.ts';
import type { Labels } from '../push/types.ts';
import { seededRandom } from './torch-output.ts';

export const DEMO_VLLM_MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
const TICK_MS = 1000;
const SEND_TIMEOUT_MS = 2000;

/** vLLM's bucket bounds (seconds) for the three latency histograms. */
const TTFT_BOUNDS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const ITL_BOUNDS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const E2E_BOUNDS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

class Histogram {
  readonly name: string;
  readonly bounds: number[];
  readonly counts: number[];
  sum = 0;
  constructor(name: string, bounds: number[]) {
    this.name = name;
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }
  observe(value: number): void {
    this.sum += value;
    for (let index = 0; index < this.bounds.length; index++) if (value <= this.bounds[index]!) this.counts[index]!++;
    this.counts[this.bounds.length]!++;
  }
  series(labels: Labels, timestampMs: number): RemoteWriteSeriesInput[] {
    const sample = (value: number) => [{ timestampMs, value }];
    return [
      ...this.bounds.map((bound, index) => ({ labels: { __name__: `${this.name}_bucket`, ...labels, le: String(bound) }, samples: sample(this.counts[index]!) })),
      { labels: { __name__: `${this.name}_bucket`, ...labels, le: '+Inf' }, samples: sample(this.counts[this.bounds.length]!) },
      { labels: { __name__: `${this.name}_count`, ...labels }, samples: sample(this.counts[this.bounds.length]!) },
      { labels: { __name__: `${this.name}_sum`, ...labels }, samples: sample(this.sum) },
    ];
  }
}

export interface VllmTick {
  series: RemoteWriteSeriesInput[];
  lines: Array<{ timestampMs: number; line: string }>;
}

/** The simulated server's state; `tick` advances it one second. Pure apart from its PRNG. */
export class SimulatedVllmState {
  private readonly random: () => number;
  private readonly labels: Labels = { job: 'vllm', instance: 'vllm-demo:8000', engine: '0', model_name: DEMO_VLLM_MODEL };
  private readonly ttft = new Histogram('vllm:time_to_first_token_seconds', TTFT_BOUNDS);
  private readonly itl = new Histogram('vllm:inter_token_latency_seconds', ITL_BOUNDS);
  private readonly e2e = new Histogram('vllm:e2e_request_latency_seconds', E2E_BOUNDS);
  private readonly finished: Record<string, number> = { stop: 0, length: 0, abort: 0 };
  private promptTokens = 0;
  private generationTokens = 0;
  private ticks = 0;

  constructor(seed: number) {
    this.random = seededRandom(seed * 104_729 + 17);
  }

  /** Around 0.5–1.5: a slow wave with noise, so the dashboards move. */
  private load(): number {
    return 1 + 0.5 * Math.sin(this.ticks / 90) + (this.random() - 0.5) * 0.1;
  }

  /** Around `typical`, log-normal-ish. */
  private draw(typical: number): number {
    return typical * Math.exp((this.random() - 0.5) * 1.6);
  }

  tick(timestampMs: number): VllmTick {
    this.ticks++;
    const load = this.load();
    const requests = Math.max(0, Math.round(4 * load + this.random() * 2));
    for (let request = 0; request < requests; request++) {
      const outputTokens = 120 + Math.floor(this.random() * 260);
      this.ttft.observe(this.draw(0.05 * load * load));
      this.e2e.observe(this.draw(0.9 * load));
      for (let token = 0; token < 20; token++) this.itl.observe(this.draw(0.018 * load));
      const reason = this.random() < 0.93 ? 'stop' : this.random() < 0.9 ? 'length' : 'abort';
      this.finished[reason]!++;
      this.promptTokens += 600 + Math.floor(this.random() * 900);
      this.generationTokens += outputTokens;
    }
    const running = Math.round(6 * load + this.random() * 3);
    const waiting = Math.max(0, Math.round(8 * (load - 1.2) + this.random() * 2));
    const kvCache = Math.min(0.98, 0.35 * load + this.random() * 0.05);
    const gauge = (name: string, value: number, extra: Labels = {}): RemoteWriteSeriesInput => ({ labels: { __name__: name, ...this.labels, ...extra }, samples: [{ timestampMs, value }] });
    const series = [
      gauge('vllm:num_requests_running', running),
      gauge('vllm:num_requests_waiting', waiting),
      gauge('vllm:kv_cache_usage_perc', Math.round(kvCache * 10_000) / 10_000),
      gauge('vllm:prompt_tokens_total', this.promptTokens),
      gauge('vllm:generation_tokens_total', this.generationTokens),
      ...Object.entries(this.finished).map(([reason, count]) => gauge('vllm:request_success_total', count, { finished_reason: reason })),
      ...this.ttft.series(this.labels, timestampMs),
      ...this.itl.series(this.labels, timestampMs),
      ...this.e2e.series(this.labels, timestampMs),
    ];
    const lines: VllmTick['lines'] = [];
    for (let request = 0; request < Math.min(requests, 3); request++) {
      lines.push({ timestampMs, line: `INFO:     10.0.4.${Math.floor(this.random() * 250)}:${40_000 + Math.floor(this.random() * 20_000)} - "POST /v1/chat/completions HTTP/1.1" 200 OK` });
    }
    if (this.ticks % 10 === 0) {
      const stamp = new Date(timestampMs).toISOString().slice(5, 19).replace('T', ' ');
      lines.push({ timestampMs: timestampMs + 1, line: `INFO ${stamp} [loggers.py:116] Engine 000: Avg prompt throughput: ${(requests * 1050).toFixed(1)} tokens/s, Avg generation throughput: ${(requests * 250).toFixed(1)} tokens/s, Running: ${running} reqs, Waiting: ${waiting} reqs, GPU KV cache usage: ${(kvCache * 100).toFixed(1)}%, Prefix cache hit rate: 48.2%` });
    }
    if (waiting > 2) lines.push({ timestampMs: timestampMs + 2, line: `WARNING ${new Date(timestampMs).toISOString().slice(5, 19).replace('T', ' ')} [scheduler.py:1560] Sequence group was preempted by PreemptionMode.RECOMPUTE mode because there is not enough KV cache space.` });
    return { series, lines };
  }
}

export interface SimulatedVllmOptions {
  /** The server's base URL, e.g. http://127.0.0.1:3100. */
  serverUrl: string;
  seed: number;
  /** Injected for tests; the global fetch by default. */
  fetch?: typeof fetch;
}

export interface SimulatedVllm {
  stop(): Promise<void>;
}

export function startSimulatedVllm(options: SimulatedVllmOptions): SimulatedVllm {
  const state = new SimulatedVllmState(options.seed);
  const send = options.fetch ?? fetch;
  let sending: Promise<void> = Promise.resolve();
  const post = async (path: string, headers: Record<string, string>, body: Buffer | string): Promise<void> => {
    try {
      const response = await send(`${options.serverUrl}${path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
      await response.arrayBuffer();
    } catch {
      // The demo's server may be stopping; the simulated server's data is best effort.
    }
  };
  const timer = setInterval(() => {
    const nowMs = Date.now();
    const { series, lines } = state.tick(nowMs);
    // One send at a time, in order: a series' samples must arrive in time order.
    sending = sending.then(async () => {
      await post('/api/v1/write', { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' }, snappyCompress(encodeWriteRequestV1(series)));
      if (lines.length > 0) {
        const values = lines.map(({ timestampMs, line }) => [`${timestampMs}000000`, line]);
        await post('/loki/api/v1/push', { 'Content-Type': 'application/json' }, JSON.stringify({ streams: [{ stream: { job: 'vllm-server', model_name: DEMO_VLLM_MODEL }, values }] }));
      }
    });
  }, TICK_MS);
  return {
    async stop() {
      clearInterval(timer);
      await sending;
    },
  };
}
