// Alertmanager's grouping, built in for sites without one: alerts are split into groups by
// `group_by` labels; a new group waits `group_wait` before its first notification, then is checked
// every `group_interval`; a notification goes out when the set of firing (or newly resolved) alerts
// changed, or `repeat_interval` passed. Each notification carries the data of Alertmanager's webhook
// payload (version 4), which the webhook receiver posts as is and the Slack receiver renders.

import { formatLabels } from '../push/labels.ts';
import type { Labels } from '../push/types.ts';
import type { NotifiedAlert } from './alerting-rule.ts';

export interface GroupingConfig {
  groupBy: string[];
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  sendResolved: boolean;
}

export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Labels;
  annotations: Labels;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** Alertmanager's webhook payload (notify/webhook: version "4"). */
export interface WebhookMessage {
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: WebhookAlert[];
  groupLabels: Labels;
  commonLabels: Labels;
  commonAnnotations: Labels;
  externalURL: string;
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
}

/** Longer than the ruler's default resolved_retention (15m), during which resolutions are re-sent. */
const ANNOUNCED_RESOLUTION_MEMORY_MS = 60 * 60_000;

/** Alertmanager writes the zero time for alerts with no end. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

interface AggregationGroup {
  key: string;
  groupLabels: Labels;
  alerts: Map<string, NotifiedAlert>;
  timer: NodeJS.Timeout | undefined;
  lastFiring: Set<string>;
  lastResolved: Set<string>;
  lastSentAtMs: number | undefined;
  flushing: boolean;
}

function commonOf(maps: Labels[]): Labels {
  if (maps.length === 0) return {};
  const common: Labels = { ...maps[0] };
  for (const map of maps.slice(1)) {
    for (const [name, value] of Object.entries(common)) if (map[name] !== value) delete common[name];
  }
  return common;
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const item of a) if (!b.has(item)) return false;
  return true;
}

export class AlertDispatcher {
  private readonly groups = new Map<string, AggregationGroup>();
  private readonly receiver: string;
  private readonly config: GroupingConfig;
  private readonly externalURL: string;
  private readonly notify: (message: WebhookMessage) => Promise<boolean>;
  private readonly now: () => number;
  private stopped = false;
  private readonly startedAtMs: number;
  /**
   * Resolutions already announced (fingerprint@endsAt → forget-after time). The ruler keeps re-sending
   * a resolved alert for its retention; this stops each re-send from announcing it again.
   */
  private readonly announcedResolutions = new Map<string, number>();

  constructor(options: {
    receiver: string;
    config: GroupingConfig;
    externalURL: string;
    /** Delivers one notification (with its own retries); resolves false when it was given up on. */
    notify: (message: WebhookMessage) => Promise<boolean>;
    now?: () => number;
  }) {
    this.receiver = options.receiver;
    this.config = options.config;
    this.externalURL = options.externalURL;
    this.notify = options.notify;
    this.now = options.now ?? Date.now;
    this.startedAtMs = this.now();
  }

  get groupCount(): number {
    return this.groups.size;
  }

  /** Takes alerts as the ruler sends them to Alertmanager (firing with a future endsAt, or resolved). */
  receive(alerts: NotifiedAlert[]): void {
    if (this.stopped) return;
    for (const alert of alerts) {
      const groupLabels = this.groupLabelsOf(alert.labels);
      const key = `{}:${formatLabels(groupLabels)}`;
      let group = this.groups.get(key);
      if (group === undefined) {
        // A resolved alert without a group has nothing to tell, unless it began before this process
        // started: then it fired before a restart (the ruler restores alert state) and the receiver
        // was told, so it should hear the resolution too.
        if (alert.endsAtMs <= this.now() && !this.resolutionToAnnounce(alert)) continue;
        group = {
          key,
          groupLabels,
          alerts: new Map(),
          timer: undefined,
          lastFiring: new Set(),
          lastResolved: new Set(),
          lastSentAtMs: undefined,
          flushing: false,
        };
        this.groups.set(key, group);
        this.schedule(group, this.config.groupWaitMs);
      }
      group.alerts.set(alert.fingerprint, alert);
    }
  }

  private resolutionToAnnounce(alert: NotifiedAlert): boolean {
    const nowMs = this.now();
    for (const [key, forgetAtMs] of this.announcedResolutions) if (forgetAtMs <= nowMs) this.announcedResolutions.delete(key);
    return (
      this.config.sendResolved &&
      alert.startsAtMs < this.startedAtMs &&
      alert.endsAtMs >= this.startedAtMs &&
      !this.announcedResolutions.has(`${alert.fingerprint}@${alert.endsAtMs}`)
    );
  }

  private groupLabelsOf(labels: Labels): Labels {
    if (this.config.groupBy.includes('...')) return { ...labels };
    const out: Labels = {};
    for (const name of this.config.groupBy) if (labels[name] !== undefined) out[name] = labels[name];
    return out;
  }

  private schedule(group: AggregationGroup, delayMs: number): void {
    clearTimeout(group.timer);
    group.timer = setTimeout(() => {
      group.timer = undefined;
      void this.flush(group);
    }, delayMs);
  }

  private async flush(group: AggregationGroup): Promise<void> {
    if (this.stopped || group.flushing) return;
    group.flushing = true;
    try {
      const nowMs = this.now();
      const firing: NotifiedAlert[] = [];
      const resolved: NotifiedAlert[] = [];
      for (const alert of group.alerts.values()) (alert.endsAtMs > nowMs ? firing : resolved).push(alert);
      const firingSet = new Set(firing.map((alert) => alert.fingerprint));
      const resolvedSet = new Set(resolved.map((alert) => alert.fingerprint));
      // Newly resolved: was firing at the last notification, or (first flush of a group made for a
      // resolution after a restart) has not been announced yet.
      const newlyResolved = resolved.some(
        (alert) => !group.lastResolved.has(alert.fingerprint) && (group.lastFiring.has(alert.fingerprint) || (group.lastSentAtMs === undefined && !this.announcedResolutions.has(`${alert.fingerprint}@${alert.endsAtMs}`))),
      );
      const changed = !sameSet(firingSet, group.lastFiring) && (firing.length > 0 || (this.config.sendResolved && newlyResolved));
      const repeatDue = firing.length > 0 && group.lastSentAtMs !== undefined && nowMs - group.lastSentAtMs >= this.config.repeatIntervalMs;
      if (changed || repeatDue || (this.config.sendResolved && newlyResolved)) {
        const shown = this.config.sendResolved ? [...firing, ...resolved] : firing;
        // notify() counts and logs its own failures; a throw is treated as one more failed delivery.
        const ok = await this.notify(this.message(group, shown, firing.length > 0 ? 'firing' : 'resolved', nowMs)).catch(() => false);
        if (ok) {
          group.lastFiring = firingSet;
          group.lastResolved = resolvedSet;
          group.lastSentAtMs = nowMs;
          // Resolved alerts that were reported leave the group, unless they fired again meanwhile.
          for (const alert of resolved) {
            if (this.config.sendResolved) this.announcedResolutions.set(`${alert.fingerprint}@${alert.endsAtMs}`, nowMs + ANNOUNCED_RESOLUTION_MEMORY_MS);
            const current = group.alerts.get(alert.fingerprint);
            if (current !== undefined && current.endsAtMs <= this.now()) group.alerts.delete(alert.fingerprint);
          }
        }
      } else if (firing.length === 0) {
        for (const alert of resolved) group.alerts.delete(alert.fingerprint);
      }
      if (group.alerts.size === 0) {
        this.groups.delete(group.key);
        return;
      }
      if (!this.stopped) this.schedule(group, this.config.groupIntervalMs);
    } finally {
      group.flushing = false;
    }
  }

  private message(group: AggregationGroup, alerts: NotifiedAlert[], status: 'firing' | 'resolved', nowMs: number): WebhookMessage {
    const webhookAlerts: WebhookAlert[] = alerts.map((alert) => {
      const isResolved = alert.endsAtMs <= nowMs;
      return {
        status: isResolved ? 'resolved' : 'firing',
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: new Date(alert.startsAtMs).toISOString(),
        endsAt: isResolved ? new Date(alert.endsAtMs).toISOString() : GO_ZERO_TIME,
        generatorURL: alert.generatorURL,
        fingerprint: alert.fingerprint,
      };
    });
    return {
      receiver: this.receiver,
      status,
      alerts: webhookAlerts,
      groupLabels: group.groupLabels,
      commonLabels: commonOf(alerts.map((alert) => alert.labels)),
      commonAnnotations: commonOf(alerts.map((alert) => alert.annotations)),
      externalURL: this.externalURL,
      version: '4',
      groupKey: group.key,
      truncatedAlerts: 0,
    };
  }

  stop(): void {
    this.stopped = true;
    for (const group of this.groups.values()) clearTimeout(group.timer);
    this.groups.clear();
  }
}
