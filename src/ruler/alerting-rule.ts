// One alerting rule's state machine, as Prometheus runs it: each evaluation's samples become alerts
// (labels = sample labels + rule labels + alertname), new ones start pending, turn firing once they
// have been active for `for`, keep firing for `keep_firing_for` after they vanish, and then resolve.
// Resolved alerts stay for `resolvedRetentionMs` so notifiers keep telling receivers they ended.
// Pure: time comes in as arguments, nothing here does I/O.

import { createHash } from 'node:crypto';
import { formatLabels } from '../push/labels.ts';
import type { Labels } from '../push/types.ts';
import type { RuleDefinition } from './rule-file.ts';
import { expandAlertTemplate } from './template-functions.ts';

export type AlertState = 'inactive' | 'pending' | 'firing';

export interface EvaluatedSample {
  labels: Labels;
  value: number;
}

export interface Alert {
  fingerprint: string;
  labels: Labels;
  annotations: Labels;
  state: AlertState;
  value: number;
  activeAtMs: number;
  firedAtMs: number | undefined;
  resolvedAtMs: number | undefined;
  lastSentAtMs: number | undefined;
  validUntilMs: number | undefined;
  keepFiringSinceMs: number | undefined;
}

/** What goes to Alertmanager and the built-in receivers (Alertmanager's postable alert, with ms times). */
export interface NotifiedAlert {
  fingerprint: string;
  labels: Labels;
  annotations: Labels;
  startsAtMs: number;
  endsAtMs: number;
  generatorURL: string;
}

export interface AlertingRuleOptions {
  externalLabels: Labels;
  externalURL: string;
  resolvedRetentionMs: number;
}

export function labelsFingerprint(labels: Labels): string {
  return createHash('sha256').update(formatLabels(labels)).digest('hex').slice(0, 16);
}

export class AlertingRule {
  readonly definition: RuleDefinition;
  private readonly options: AlertingRuleOptions;
  private active = new Map<string, Alert>();
  health: 'ok' | 'err' | 'unknown' = 'unknown';
  lastError = '';
  lastEvaluationMs: number | undefined;
  evaluationSeconds = 0;

  constructor(definition: RuleDefinition, options: AlertingRuleOptions) {
    this.definition = definition;
    this.options = options;
  }

  /** Same alert identity: state can carry over a reload only when these match. */
  identity(): string {
    const d = this.definition;
    return JSON.stringify([d.name, d.expr, d.forMs, d.keepFiringForMs, d.labels, d.annotations]);
  }

  /** Carries active alerts over from the rule this one replaces (hot reload keeps `for` progress). */
  copyStateFrom(previous: AlertingRule): void {
    this.active = new Map([...previous.active].map(([fingerprint, alert]) => [fingerprint, { ...alert }]));
    this.health = previous.health;
    this.lastError = previous.lastError;
    this.lastEvaluationMs = previous.lastEvaluationMs;
  }

  /**
   * Takes alerts saved before a restart. They are re-sent on the next evaluation (lastSentAt is
   * cleared), and resolve there if their condition no longer holds.
   */
  restore(alerts: Alert[]): void {
    for (const alert of alerts) {
      if (alert.state === 'inactive') continue;
      this.active.set(alert.fingerprint, { ...alert, lastSentAtMs: undefined, validUntilMs: undefined });
    }
  }

  /** Applies one evaluation's result at `nowMs`. Returns the alerts after the update. */
  evaluate(samples: EvaluatedSample[], nowMs: number, limit = 0): Alert[] {
    const { definition, options } = this;
    const seen = new Map<string, { labels: Labels; annotations: Labels; value: number }>();
    for (const sample of samples) {
      const sampleLabels: Labels = { ...sample.labels };
      delete sampleLabels.__name__;
      const data = { labels: sampleLabels, value: sample.value, externalLabels: options.externalLabels, externalURL: options.externalURL, ruleName: definition.name };
      const labels: Labels = { ...sampleLabels };
      for (const [name, template] of Object.entries(definition.labels)) {
        const value = expandAlertTemplate(template, data);
        // An empty label value means "no label", as in Prometheus.
        if (value === '') delete labels[name];
        else labels[name] = value;
      }
      labels.alertname = definition.name;
      const annotations: Labels = {};
      for (const [name, template] of Object.entries(definition.annotations)) annotations[name] = expandAlertTemplate(template, data);
      const fingerprint = labelsFingerprint(labels);
      if (seen.has(fingerprint)) {
        this.fail('vector contains metrics with the same labelset after applying alert labels', nowMs);
        return [...this.active.values()];
      }
      seen.set(fingerprint, { labels, annotations, value: sample.value });
    }
    if (limit > 0 && seen.size > limit) {
      // Prometheus drops all of the rule's alerts when it exceeds its group's limit.
      this.active.clear();
      this.fail(`exceeded limit of ${limit} with ${seen.size} alerts`, nowMs);
      return [];
    }

    for (const [fingerprint, next] of seen) {
      const existing = this.active.get(fingerprint);
      if (existing !== undefined && existing.state !== 'inactive') {
        existing.value = next.value;
        existing.annotations = next.annotations;
        existing.labels = next.labels;
        continue;
      }
      this.active.set(fingerprint, {
        fingerprint,
        labels: next.labels,
        annotations: next.annotations,
        state: 'pending',
        value: next.value,
        activeAtMs: nowMs,
        firedAtMs: undefined,
        resolvedAtMs: undefined,
        lastSentAtMs: undefined,
        validUntilMs: undefined,
        keepFiringSinceMs: undefined,
      });
    }

    for (const [fingerprint, alert] of this.active) {
      if (!seen.has(fingerprint)) {
        let keepFiring = false;
        if (alert.state === 'firing' && definition.keepFiringForMs > 0) {
          alert.keepFiringSinceMs ??= nowMs;
          keepFiring = nowMs - alert.keepFiringSinceMs < definition.keepFiringForMs;
        }
        if (alert.state === 'pending' || (alert.resolvedAtMs !== undefined && nowMs - alert.resolvedAtMs > options.resolvedRetentionMs)) {
          this.active.delete(fingerprint);
        }
        if (alert.state !== 'inactive' && !keepFiring) {
          alert.state = 'inactive';
          alert.resolvedAtMs = nowMs;
        }
        if (!keepFiring) continue;
      } else {
        alert.keepFiringSinceMs = undefined;
      }
      if (alert.state === 'pending' && nowMs - alert.activeAtMs >= definition.forMs) {
        alert.state = 'firing';
        alert.firedAtMs = nowMs;
      }
    }
    this.health = 'ok';
    this.lastError = '';
    this.lastEvaluationMs = nowMs;
    return [...this.active.values()];
  }

  /** Records a failed evaluation; existing alerts keep their state, as in Prometheus. */
  fail(message: string, nowMs: number): void {
    this.health = 'err';
    this.lastError = message;
    this.lastEvaluationMs = nowMs;
  }

  alerts(): Alert[] {
    return [...this.active.values()];
  }

  state(): AlertState {
    let state: AlertState = 'inactive';
    for (const alert of this.active.values()) {
      if (alert.state === 'firing') return 'firing';
      if (alert.state === 'pending') state = 'pending';
    }
    return state;
  }

  /**
   * Alerts due for (re)sending: firing ones every `resendDelayMs`, resolved ones once right after
   * they resolve (and again on resend while retained). Marks them sent.
   */
  alertsToSend(nowMs: number, resendDelayMs: number, groupIntervalMs: number, generatorURL: string): NotifiedAlert[] {
    const out: NotifiedAlert[] = [];
    for (const alert of this.active.values()) {
      if (alert.state === 'pending') continue;
      const resolvedSinceSend = alert.resolvedAtMs !== undefined && (alert.lastSentAtMs === undefined || alert.resolvedAtMs > alert.lastSentAtMs);
      const resendDue = alert.lastSentAtMs === undefined || alert.lastSentAtMs + resendDelayMs < nowMs;
      if (!resolvedSinceSend && !resendDue) continue;
      alert.lastSentAtMs = nowMs;
      // Alertmanager resolves an alert on its own once endsAt passes; 4 intervals survive missed sends.
      alert.validUntilMs = nowMs + 4 * Math.max(resendDelayMs, groupIntervalMs);
      const labels: Labels = { ...this.options.externalLabels, ...alert.labels };
      out.push({
        fingerprint: alert.fingerprint,
        labels,
        annotations: { ...alert.annotations },
        startsAtMs: alert.firedAtMs ?? alert.activeAtMs,
        endsAtMs: alert.resolvedAtMs ?? alert.validUntilMs,
        generatorURL,
      });
    }
    return out;
  }
}
