// Fans alerts out to every configured destination: each Alertmanager (v2 API, queued and batched),
// and the built-in webhook and Slack receivers (each with Alertmanager-style grouping). Holds the
// delivery counters the ruler reports in /metrics.

import type { NotifiedAlert } from './alerting-rule.ts';
import { AlertDispatcher, type GroupingConfig, type WebhookMessage } from './alert-dispatcher.ts';
import { AlertmanagerClient } from './alertmanager-client.ts';
import type { RulerConfig, SlackReceiverConfig, WebhookReceiverConfig } from './config.ts';
import { deliverWithRetry, postJson, type DeliveryCounters, type RetryPolicy } from './delivery.ts';
import { parseDurationMs } from '../duration/duration.ts';
import { slackPayload } from './slack-message.ts';

export interface RulerLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

function groupingOf(receiver: WebhookReceiverConfig | SlackReceiverConfig): GroupingConfig {
  return {
    groupBy: receiver.group_by,
    groupWaitMs: parseDurationMs(receiver.group_wait),
    groupIntervalMs: parseDurationMs(receiver.group_interval),
    repeatIntervalMs: parseDurationMs(receiver.repeat_interval),
    sendResolved: receiver.send_resolved,
  };
}

export class NotifierHub {
  private readonly alertmanagers: AlertmanagerClient[];
  private readonly dispatchers: AlertDispatcher[] = [];
  private readonly receiverCounters: DeliveryCounters[] = [];
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<boolean>>();

  constructor(config: RulerConfig, logger: RulerLogger) {
    const policy: RetryPolicy = {
      maxAttempts: config.max_attempts,
      initialBackoffMs: parseDurationMs(config.retry_backoff),
      maxBackoffMs: parseDurationMs(config.retry_max_backoff),
      timeoutMs: parseDurationMs(config.notification_timeout),
    };
    this.alertmanagers = config.alertmanager_url.map((url) => new AlertmanagerClient(url, policy));
    const deliver = (counters: DeliveryCounters, send: (signal: AbortSignal) => Promise<void>): Promise<boolean> => {
      const delivery = deliverWithRetry(send, policy, counters, this.abort.signal).then((ok) => {
        if (!ok && !this.abort.signal.aborted) logger.warn({ receiver: counters.receiver, error: counters.lastError }, 'notification dropped after retries');
        return ok;
      });
      this.inFlight.add(delivery);
      void delivery.finally(() => this.inFlight.delete(delivery));
      return delivery;
    };
    // Webhook and Slack receivers differ only in their URL and how a message becomes a body.
    const addReceiver = (
      kind: 'webhook' | 'slack',
      name: string,
      receiver: Parameters<typeof groupingOf>[0],
      url: string,
      body: (message: WebhookMessage) => unknown,
    ): void => {
      const counters: DeliveryCounters = { receiver: name, kind, sent: 0, failedAttempts: 0, dropped: 0, lastError: '' };
      this.receiverCounters.push(counters);
      this.dispatchers.push(
        new AlertDispatcher({
          receiver: counters.receiver,
          config: groupingOf(receiver),
          externalURL: config.external_url,
          notify: (message: WebhookMessage) => deliver(counters, (signal) => postJson(url, body(message), policy.timeoutMs, signal)),
        }),
      );
    };
    config.webhook.forEach((receiver, index) => {
      addReceiver('webhook', receiver.name || `webhook-${index}`, receiver, receiver.url, (message) => message);
    });
    config.slack.forEach((receiver, index) => {
      const slack = { channel: receiver.channel, username: receiver.username, title: receiver.title, text: receiver.text };
      addReceiver('slack', receiver.name || `slack-${index}`, receiver, receiver.webhook_url, (message) => slackPayload(message, slack));
    });
  }

  send(alerts: NotifiedAlert[]): void {
    for (const client of this.alertmanagers) client.send(alerts);
    for (const dispatcher of this.dispatchers) dispatcher.receive(alerts);
  }

  counters(): Array<DeliveryCounters & { queueLength: number }> {
    return [
      ...this.alertmanagers.map((client) => ({ ...client.counters, queueLength: client.queueLength })),
      ...this.receiverCounters.map((counters) => ({ ...counters, queueLength: 0 })),
    ];
  }

  /** Lets queued Alertmanager batches go out (bounded), then stops everything. */
  async close(): Promise<void> {
    for (const dispatcher of this.dispatchers) dispatcher.stop();
    await Promise.all(this.alertmanagers.map((client) => client.close()));
    this.abort.abort();
    await Promise.all([...this.inFlight]);
  }
}
