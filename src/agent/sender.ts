// Delivers queued batches to a Loki-compatible push endpoint, oldest first, one at a time so the
// server sees each stream in order. 429, 5xx and connection errors are retried forever with
// exponential backoff and jitter (the batch stays on disk meanwhile); other 4xx mean the server will
// never accept the batch, so it is logged and dropped.

import type { IncomingMessage } from 'node:http';
import type { ReadStream } from 'node:fs';
import { authorizationHeader, type ClientAuth, type TlsConnectOptions } from './client-credentials.ts';
import type { DiskQueue } from './disk-queue.ts';
import { KeepAliveClient, retryBackoffMs } from './node-http.ts';
import type { AgentMetrics } from './metrics.ts';

export interface SenderOptions {
  pushUrl: string;
  tenant?: string;
  headers: Record<string, string>;
  /** Basic auth or a bearer token; secret files are re-read on every push so rotation needs no restart. */
  auth?: ClientAuth;
  /** CA, client certificate, server name, verification (https servers only). */
  tls?: TlsConnectOptions;
  timeoutMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  log: (message: string) => void;
}

/** `http://host:3100` → `http://host:3100/loki/api/v1/push`; a URL already naming a path is kept. */
export function pushUrlFor(serverUrl: string): string {
  const url = new URL(serverUrl);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/loki/api/v1/push';
  return url.toString();
}

export class Sender {
  private readonly queue: DiskQueue;
  private readonly options: SenderOptions;
  private readonly countSentEntries: (by: number) => void;
  private readonly countSentBytes: (by: number) => void;
  private readonly countRetries: (by: number, labels: Record<string, string>) => void;
  private readonly countDropped: (by: number, labels: Record<string, string>) => void;
  private wake: (() => void) | undefined;
  private idle = false;
  private stopped = false;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  consecutiveFailures = 0;
  private readonly connection: KeepAliveClient;

  constructor(queue: DiskQueue, options: SenderOptions, metrics: AgentMetrics) {
    this.queue = queue;
    this.options = options;
    this.connection = new KeepAliveClient(options.pushUrl, options.tls);
    this.countSentEntries = metrics.counter('rankscope_agent_sent_entries_total', 'Entries accepted by the server.');
    this.countSentBytes = metrics.counter('rankscope_agent_sent_bytes_total', 'Compressed push bytes accepted by the server.');
    this.countRetries = metrics.counter('rankscope_agent_retries_total', 'Push attempts that failed and will be retried, by reason.');
    this.countDropped = metrics.counter('rankscope_agent_dropped_entries_total', 'Entries dropped, by reason.');
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Tells the loop that a batch was queued. */
  notify(): void {
    // A backoff is not cut short by new data: that would hammer a struggling server.
    if (this.idle) this.wake?.();
  }

  private sleep(durationMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, durationMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const batch = this.queue.peek();
      if (batch === undefined) {
        // Idle: wait for notify(); the timeout only bounds the wait.
        this.idle = true;
        await this.sleep(60_000);
        this.idle = false;
        continue;
      }
      let body: ReturnType<DiskQueue['openBody']>;
      try {
        body = this.queue.openBody(batch);
      } catch (error) {
        // Someone removed the file under us; nothing to resend, and the loop must not die.
        this.options.log(`queued batch ${batch.fileName} is unreadable (${(error as Error).message}); skipping it`);
        this.queue.shift();
        this.countDropped(batch.entryCount, { reason: 'unreadable' });
        continue;
      }
      const outcome = await this.attempt(body);
      if (this.stopped && outcome === 'retry') return;
      if (outcome === 'sent') {
        this.queue.shift();
        this.countSentEntries(batch.entryCount);
        this.countSentBytes(batch.sizeBytes);
        this.consecutiveFailures = 0;
      } else if (outcome === 'rejected') {
        this.queue.shift();
        this.countDropped(batch.entryCount, { reason: 'rejected' });
        this.consecutiveFailures = 0;
      } else {
        this.consecutiveFailures++;
        await this.sleep(this.backoffMs(this.consecutiveFailures));
      }
      this.notifyDrained();
    }
  }

  /** Full-range jitter around an exponentially growing ceiling, so many agents do not retry in step. */
  backoffMs(failures: number): number {
    return retryBackoffMs(failures, this.options.minBackoffMs, this.options.maxBackoffMs);
  }


  /** One POST of the body; resolves with the status and (for failures) the start of the reply. */
  private async post(body: { sizeBytes: number; stream: () => ReadStream }): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = {
      ...this.options.headers,
      'content-type': 'application/x-protobuf',
      'content-length': String(body.sizeBytes),
    };
    if (this.options.tenant !== undefined) headers['x-scope-orgid'] = this.options.tenant;
    const authorization = this.options.auth === undefined ? undefined : authorizationHeader(this.options.auth);
    if (authorization !== undefined) headers.authorization = authorization;
    const { agent, request } = await this.connection.get();
    const signal = AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.abort.signal]);
    return new Promise((resolve, reject) => {
      const req = request(this.options.pushUrl, { method: 'POST', headers, agent, signal }, (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        let text = '';
        if (status >= 200 && status < 300) response.resume();
        else {
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            if (text.length < 1000) text += chunk;
          });
        }
        response.on('end', () => resolve({ status, text }));
        response.on('error', reject);
        response.on('aborted', () => reject(new Error('response aborted')));
      });
      req.on('error', reject);
      const stream = body.stream();
      stream.on('error', (error) => req.destroy(error));
      stream.pipe(req);
    });
  }

  private async attempt(body: { sizeBytes: number; stream: () => ReadStream }): Promise<'sent' | 'retry' | 'rejected'> {
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.post(body));
    } catch (error) {
      const cause = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      this.countRetries(1, { reason: 'connection' });
      if (this.consecutiveFailures === 0) this.options.log(`push to ${this.options.pushUrl} failed (${cause}); retrying with backoff, batches stay queued on disk`);
      return 'retry';
    }
    if (status >= 200 && status < 300) return 'sent';
    if (status === 401 || status === 403) {
      // A wrong or rotated credential is fixed by the operator, not by the data: keep the batches.
      this.countRetries(1, { reason: String(status) });
      if (this.consecutiveFailures === 0) {
        this.options.log(`push refused with HTTP ${status}: ${text.slice(0, 300)}; check the credentials (basic_auth, bearer_token); batches stay queued on disk and are retried with backoff`);
      }
      return 'retry';
    }
    if (status === 429 || status >= 500) {
      this.countRetries(1, { reason: String(status) });
      if (this.consecutiveFailures === 0) this.options.log(`push got HTTP ${status}: ${text.slice(0, 200)}; retrying with backoff`);
      return 'retry';
    }
    this.options.log(`push rejected with HTTP ${status}, dropping the batch: ${text.slice(0, 500)}`);
    return 'rejected';
  }

  private drainWaiters: (() => void)[] = [];

  private notifyDrained(): void {
    if (this.queue.depthBatches > 0) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /** Resolves true once the queue is empty, or false when `timeoutMs` passes first. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.queue.depthBatches === 0) return true;
    this.start();
    this.notify();
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((waiter) => waiter !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.drainWaiters.push(done);
    });
  }

  /** Stops the loop; an in-flight push is aborted and its batch stays queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.loop;
    this.connection.destroy();
  }
}
