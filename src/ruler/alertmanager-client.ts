// Sends alerts to one Alertmanager over its v2 API (POST <base>/api/v2/alerts, a JSON array of
// postable alerts). Like Prometheus's notifier: a bounded queue, batches of up to 64 alerts, the
// oldest alerts dropped when the queue overflows; each batch retried with backoff.

import type { NotifiedAlert } from './alerting-rule.ts';
import { deliverWithRetry, postJson, redactUrl, type DeliveryCounters, type RetryPolicy } from './delivery.ts';

/** Prometheus's defaults: 10000 queued alerts, 64 per request. */
const QUEUE_CAPACITY = 10_000;
const BATCH_SIZE = 64;

export function toPostableAlert(alert: NotifiedAlert): Record<string, unknown> {
  return {
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: new Date(alert.startsAtMs).toISOString(),
    endsAt: new Date(alert.endsAtMs).toISOString(),
    generatorURL: alert.generatorURL,
  };
}

export class AlertmanagerClient {
  readonly counters: DeliveryCounters;
  private readonly alertsUrl: string;
  private readonly policy: RetryPolicy;
  private queue: NotifiedAlert[] = [];
  private draining: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(baseUrl: string, policy: RetryPolicy) {
    this.alertsUrl = `${baseUrl.replace(/\/+$/, '')}/api/v2/alerts`;
    this.policy = policy;
    this.counters = { receiver: redactUrl(baseUrl), kind: 'alertmanager', sent: 0, failedAttempts: 0, dropped: 0, lastError: '' };
  }

  get queueLength(): number {
    return this.queue.length;
  }

  send(alerts: NotifiedAlert[]): void {
    if (alerts.length === 0 || this.abort.signal.aborted) return;
    this.queue.push(...alerts);
    if (this.queue.length > QUEUE_CAPACITY) {
      const overflow = this.queue.length - QUEUE_CAPACITY;
      this.queue.splice(0, overflow);
      this.counters.dropped += overflow;
    }
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.abort.signal.aborted) {
      const batch = this.queue.splice(0, BATCH_SIZE);
      await deliverWithRetry(
        (signal) => postJson(this.alertsUrl, batch.map(toPostableAlert), this.policy.timeoutMs, signal),
        this.policy,
        this.counters,
        this.abort.signal,
      );
    }
  }

  /** Waits (bounded) for queued alerts to go out, then stops. */
  async close(flushTimeoutMs = 2000): Promise<void> {
    if (this.draining !== undefined) {
      await Promise.race([this.draining, new Promise((resolve) => setTimeout(resolve, flushTimeoutMs).unref())]);
    }
    this.abort.abort();
    await this.draining;
  }
}
