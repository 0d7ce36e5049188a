// Ships collected samples to the server by Prometheus remote write 1.0 (protobuf + snappy), with the
// agent's credentials and TLS. Unlike logs, metrics are kept in memory only: a bounded buffer holds
// what could not be sent yet, and under a long outage the oldest samples are dropped and counted
// (rankscope_agent_metrics_dropped_samples_total) rather than growing without bound.

import type { IncomingMessage } from 'node:http';
import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../../push/remote-write-encode.ts';
import { authorizationHeader, type ClientAuth, type TlsConnectOptions } from '../client-credentials.ts';
import type { AgentMetrics } from '../metrics.ts';
import { KeepAliveClient, retryBackoffMs } from '../node-http.ts';
import type { MetricSample } from './metric-sample.ts';

const REJECTION_LOG_INTERVAL_MS = 60_000;

export interface RemoteWriteSenderOptions {
  writeUrl: string;
  tenant?: string;
  headers?: Record<string, string>;
  auth?: ClientAuth;
  tls?: TlsConnectOptions;
  timeoutMs: number;
  /** Samples held while the server is unreachable; past it the oldest are dropped. */
  maxBufferedSamples: number;
  /** Samples per request: Prometheus' default max_samples_per_send is 2000; bodies stay ~100 KB. */
  maxSamplesPerRequest: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  log: (message: string) => void;
}

/** `http://host:3100` (or its Loki push URL) → `http://host:3100/api/v1/write`. */
export function remoteWriteUrlFor(serverUrl: string): string {
  const url = new URL(serverUrl);
  const base = url.pathname.replace(/\/loki\/api\/v1\/push\/?$/, '').replace(/\/+$/, '');
  url.pathname = `${base}/api/v1/write`;
  return url.toString();
}

export class RemoteWriteSender {
  private readonly options: RemoteWriteSenderOptions;
  private buffer: MetricSample[] = [];
  private sending: Promise<void> | undefined;
  private retryAtMs = 0;
  private consecutiveFailures = 0;
  private lastRejectionLogAtMs = Number.NEGATIVE_INFINITY;
  private readonly countSent: (by?: number) => void;
  private readonly countDropped: (by: number, labels: Record<string, string>) => void;
  private readonly countFailures: (by: number, labels: Record<string, string>) => void;

  private readonly connection: KeepAliveClient;

  constructor(options: RemoteWriteSenderOptions, metrics: AgentMetrics) {
    this.options = options;
    this.connection = new KeepAliveClient(options.writeUrl, options.tls);
    this.countSent = metrics.counter('rankscope_agent_metrics_sent_samples_total', 'GPU and node metric samples accepted by the server.');
    this.countDropped = metrics.counter('rankscope_agent_metrics_dropped_samples_total', 'GPU and node metric samples dropped, by reason (buffer_full during an outage, rejected by the server).');
    this.countFailures = metrics.counter('rankscope_agent_metrics_send_failures_total', 'Remote write requests that failed and will be retried, by reason.');
    metrics.gauge('rankscope_agent_metrics_buffered_samples', 'Metric samples waiting to be sent.', () => [{ labels: {}, value: this.buffer.length }]);
  }

  get bufferedSamples(): number {
    return this.buffer.length;
  }

  add(samples: MetricSample[]): void {
    for (const sample of samples) this.buffer.push(sample);
    const excess = this.buffer.length - this.options.maxBufferedSamples;
    if (excess > 0) {
      this.buffer.splice(0, excess);
      this.countDropped(excess, { reason: 'buffer_full' });
    }
  }

  /** Starts a send of everything buffered unless one is running or a backoff is pending. */
  flush(nowMs = Date.now()): Promise<void> {
    if (this.sending !== undefined) return this.sending;
    if (this.buffer.length === 0 || nowMs < this.retryAtMs) return Promise.resolve();
    this.sending = this.sendAll().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async sendAll(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.options.maxSamplesPerRequest);
      const outcome = await this.post(batch);
      if (outcome === 'retry') {
        this.consecutiveFailures++;
        this.retryAtMs = Date.now() + retryBackoffMs(this.consecutiveFailures, this.options.minBackoffMs, this.options.maxBackoffMs);
        return;
      }
      // The buffer may have dropped its head meanwhile; remove exactly the samples that were sent.
      const start = this.buffer.indexOf(batch[0]!);
      if (start !== -1) this.buffer.splice(start, batch.length);
      this.consecutiveFailures = 0;
      this.retryAtMs = 0;
    }
  }


  private async post(batch: MetricSample[]): Promise<'sent' | 'rejected' | 'retry'> {
    const bySeries = new Map<string, RemoteWriteSeriesInput>();
    for (const sample of batch) {
      const key = JSON.stringify(sample.labels);
      let series = bySeries.get(key);
      if (series === undefined) bySeries.set(key, (series = { labels: sample.labels, samples: [] }));
      series.samples.push(sample.stale === true ? { timestampMs: sample.timestampMs, value: Number.NaN, stale: true } : { timestampMs: sample.timestampMs, value: sample.value });
    }
    for (const series of bySeries.values()) series.samples.sort((a, b) => a.timestampMs - b.timestampMs);
    const body = snappyCompress(encodeWriteRequestV1([...bySeries.values()]));
    let status: number;
    let text: string;
    try {
      const headers: Record<string, string> = {
        ...this.options.headers,
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-prometheus-remote-write-version': '0.1.0',
        'user-agent': 'rankscope-agent',
        'content-length': String(body.length),
      };
      if (this.options.tenant !== undefined) headers['x-scope-orgid'] = this.options.tenant;
      const authorization = this.options.auth === undefined ? undefined : authorizationHeader(this.options.auth);
      if (authorization !== undefined) headers.authorization = authorization;
      const { agent, request } = await this.connection.get();
      ({ status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(this.options.writeUrl, { method: 'POST', headers, agent, signal: AbortSignal.timeout(this.options.timeoutMs) }, (response: IncomingMessage) => {
          let reply = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            if (reply.length < 1000) reply += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text: reply }));
          response.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      }));
    } catch (error) {
      this.countFailures(1, { reason: 'connection' });
      if (this.consecutiveFailures === 0) this.options.log(`remote write to ${this.options.writeUrl} failed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); retrying with backoff, metrics wait in memory`);
      return 'retry';
    }
    if (status >= 200 && status < 300) {
      this.countSent(batch.length);
      return 'sent';
    }
    if (status === 429 || status >= 500 || status === 401 || status === 403) {
      this.countFailures(1, { reason: String(status) });
      if (this.consecutiveFailures === 0) this.options.log(`remote write got HTTP ${status}: ${text.slice(0, 300)}; retrying with backoff`);
      return 'retry';
    }
    // 400 names samples the server will never take (out of order, bad labels); the valid ones of
    // the request are stored, so resending would only repeat the complaint.
    this.countDropped(batch.length, { reason: 'rejected' });
    // A clock step makes every sample out of order for a while: say so once a minute, not per send.
    if (Date.now() - this.lastRejectionLogAtMs >= REJECTION_LOG_INTERVAL_MS) {
      this.lastRejectionLogAtMs = Date.now();
      this.options.log(`remote write rejected with HTTP ${status} (samples dropped and counted): ${text.slice(0, 300)}`);
    }
    return 'rejected';
  }

  /** Tries to send what is buffered for up to `timeoutMs`, then closes the connection. */
  async close(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.retryAtMs = 0;
    while (this.buffer.length > 0 && Date.now() < deadline) {
      const before = this.buffer.length;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.flush(), new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
      if (this.buffer.length >= before) break;
    }
    this.connection.destroy();
  }
}
