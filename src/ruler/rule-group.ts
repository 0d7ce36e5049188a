// One rule group at run time: its rules evaluated in order on the group's interval, as instant LogQL
// queries at the evaluation time. Recording rules write samples; alerting rules update their state
// machines and hand due alerts to the notifiers. A slow evaluation skips ticks rather than piling up.

import type { QueryParams, QueryResult } from '../logql/api.ts';
import type { Labels } from '../push/types.ts';
import { AlertingRule, type Alert, type EvaluatedSample, type NotifiedAlert } from './alerting-rule.ts';
import type { RuleDefinition, RuleGroupDefinition } from './rule-file.ts';

/** What the ruler needs from the LogQL engine (src/logql/index.ts `createEngine` satisfies it). */
export interface RuleQueryEngine {
  query(params: QueryParams): Promise<QueryResult>;
}

/** A sample a rule writes: a recording rule's output, or an ALERTS / ALERTS_FOR_STATE sample. */
export interface RecordedSample {
  labels: Labels;
  value: number;
  /** A staleness marker: the series was written by the previous evaluation and not by this one. */
  stale?: boolean;
}

function seriesKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export class RecordingRule {
  readonly definition: RuleDefinition;
  health: 'ok' | 'err' | 'unknown' = 'unknown';
  lastError = '';
  lastEvaluationMs: number | undefined;
  evaluationSeconds = 0;
  constructor(definition: RuleDefinition) {
    this.definition = definition;
  }

  identity(): string {
    return JSON.stringify([this.definition.name, this.definition.expr, this.definition.labels]);
  }

  /** Samples to store: the result's labels with the rule's labels and `__name__` applied. */
  toSamples(samples: EvaluatedSample[], nowMs: number, limit: number): RecordedSample[] {
    const out: RecordedSample[] = [];
    const seen = new Set<string>();
    for (const sample of samples) {
      const labels: Labels = { ...sample.labels, ...this.definition.labels, __name__: this.definition.name };
      for (const [name, value] of Object.entries(labels)) if (value === '') delete labels[name];
      const key = JSON.stringify(Object.entries(labels).sort());
      if (seen.has(key)) {
        this.fail('vector contains metrics with the same labelset after applying rule labels', nowMs);
        return [];
      }
      seen.add(key);
      out.push({ labels, value: sample.value });
    }
    if (limit > 0 && out.length > limit) {
      this.fail(`exceeded limit of ${limit} with ${out.length} series`, nowMs);
      return [];
    }
    this.health = 'ok';
    this.lastError = '';
    this.lastEvaluationMs = nowMs;
    return out;
  }

  fail(message: string, nowMs: number): void {
    this.health = 'err';
    this.lastError = message;
    this.lastEvaluationMs = nowMs;
  }
}

export type Rule = AlertingRule | RecordingRule;

export interface RuleGroupContext {
  engine: RuleQueryEngine;
  /** Called with each evaluation's recorded samples; resolves once they are stored (the TSDB's WAL). */
  record(tenant: string, timestampMs: number, samples: RecordedSample[]): Promise<void> | void;
  /** Called with alerts due for sending after each evaluation. */
  notify(alerts: NotifiedAlert[]): void;
  onEvaluation(group: RuleGroup, failures: number, durationSeconds: number): void;
  onError(group: RuleGroup, rule: Rule | undefined, message: string): void;
  resendDelayMs: number;
  generatorURL(expr: string): string;
  externalLabels: Labels;
  externalURL: string;
  resolvedRetentionMs: number;
  /** Bounds one rule's query so a stuck query cannot stall the group forever. */
  queryTimeoutMs: number;
}

/** Converts an instant query's result to samples; log queries cannot drive rules. */
export function resultSamples(result: QueryResult): EvaluatedSample[] {
  switch (result.resultType) {
    case 'vector':
      return result.samples.map((sample) => ({ labels: sample.labels, value: sample.value }));
    case 'scalar':
      return [{ labels: {}, value: result.value }];
    case 'matrix':
      // An instant query should not produce a matrix; take each series' last point if it does.
      return result.series.filter((series) => series.samples.length > 0).map((series) => ({ labels: series.labels, value: series.samples[series.samples.length - 1]![1] }));
    case 'streams':
      throw new Error('rule expression returned log lines; rules need a metric query such as count_over_time(...)');
  }
}

export class RuleGroup {
  readonly tenant: string;
  readonly namespace: string;
  readonly definition: RuleGroupDefinition;
  readonly intervalMs: number;
  readonly rules: Rule[];
  lastEvaluationMs: number | undefined;
  evaluationSeconds = 0;
  private readonly context: RuleGroupContext;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  /** Series each rule wrote in its last successful evaluation, to mark the vanished ones stale. */
  private readonly previousSeries = new Map<Rule, Map<string, Labels>>();

  constructor(tenant: string, namespace: string, definition: RuleGroupDefinition, defaultIntervalMs: number, context: RuleGroupContext) {
    this.tenant = tenant;
    this.namespace = namespace;
    this.definition = definition;
    this.intervalMs = definition.intervalMs ?? defaultIntervalMs;
    this.context = context;
    this.rules = definition.rules.map((rule) =>
      rule.kind === 'alerting'
        ? new AlertingRule(rule, { externalLabels: context.externalLabels, externalURL: context.externalURL, resolvedRetentionMs: context.resolvedRetentionMs })
        : new RecordingRule(rule),
    );
  }

  key(): string {
    return `${this.tenant}\u0000${this.namespace}\u0000${this.definition.name}`;
  }

  /** Takes over alert state from the group this one replaces, rule by rule where unchanged. */
  copyStateFrom(previous: RuleGroup): void {
    const byIdentity = new Map(previous.rules.filter((rule) => rule instanceof AlertingRule).map((rule) => [rule.identity(), rule as AlertingRule]));
    for (const rule of this.rules) {
      if (!(rule instanceof AlertingRule)) continue;
      const old = byIdentity.get(rule.identity());
      if (old !== undefined) rule.copyStateFrom(old);
    }
    // Series of rules that stay identical are this group's now; the old group marks only the rest stale.
    const previousByIdentity = new Map(previous.rules.map((rule) => [`${rule.constructor.name}:${rule.identity()}`, rule]));
    for (const rule of this.rules) {
      const old = previousByIdentity.get(`${rule.constructor.name}:${rule.identity()}`);
      const series = old === undefined ? undefined : previous.previousSeries.get(old);
      if (old === undefined || series === undefined) continue;
      this.previousSeries.set(rule, series);
      previous.previousSeries.delete(old);
    }
    this.lastEvaluationMs = previous.lastEvaluationMs;
  }

  /**
   * After the group was removed or replaced (not on shutdown): staleness markers for every series its
   * rules last wrote, so a deleted recording rule's series ends at once, as Prometheus ends it.
   */
  async markStale(nowMs: number): Promise<void> {
    const markers: RecordedSample[] = [];
    for (const series of this.previousSeries.values()) {
      for (const labels of series.values()) markers.push({ labels, value: Number.NaN, stale: true });
    }
    this.previousSeries.clear();
    if (markers.length === 0) return;
    try {
      await this.context.record(this.tenant, nowMs, markers);
    } catch (error) {
      this.context.onError(this, undefined, `writing staleness markers: ${(error as Error).message}`);
    }
  }

  /** Pending and firing alerts per alerting rule, keyed by rule identity, for the state file. */
  saveState(): Record<string, Alert[]> {
    const state: Record<string, Alert[]> = {};
    for (const rule of this.rules) {
      if (!(rule instanceof AlertingRule)) continue;
      const alerts = rule.alerts().filter((alert) => alert.state !== 'inactive');
      if (alerts.length > 0) state[rule.identity()] = alerts;
    }
    return state;
  }

  restoreState(state: Record<string, Alert[]>): void {
    for (const rule of this.rules) {
      if (rule instanceof AlertingRule && state[rule.identity()] !== undefined) rule.restore(state[rule.identity()]!);
    }
  }

  /** Starts ticking: the first evaluation right away, then one per interval. */
  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      const startedMs = Date.now();
      this.running = this.evaluate(startedMs)
        // evaluate() handles rule failures itself; anything else is a bug to log, not a crash.
        .catch((error: unknown) => this.context.onError(this, undefined, `group evaluation failed: ${(error as Error).message}`))
        .finally(() => {
          this.running = undefined;
          if (this.stopped) return;
          // Next tick on the interval grid from this start; an overrun skips the missed ticks.
          const elapsedMs = Date.now() - startedMs;
          const delayMs = this.intervalMs - (elapsedMs % this.intervalMs);
          this.timer = setTimeout(tick, delayMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
  }

  /** Staleness markers for series the rule wrote last time and not now; remembers this evaluation's. */
  private staleMarkers(rule: Rule, written: RecordedSample[]): RecordedSample[] {
    const current = new Map(written.map((sample) => [seriesKey(sample.labels), sample.labels]));
    const markers: RecordedSample[] = [];
    for (const [key, labels] of this.previousSeries.get(rule) ?? []) {
      if (!current.has(key)) markers.push({ labels, value: Number.NaN, stale: true });
    }
    this.previousSeries.set(rule, current);
    return markers;
  }

  /** One evaluation of every rule at `nowMs`. Errors mark the rule unhealthy; the group goes on. */
  async evaluate(nowMs: number): Promise<void> {
    const started = performance.now();
    let failures = 0;
    const due: NotifiedAlert[] = [];
    // Prometheus's ALERTS series (1 per pending or firing alert, so alert history can be charted) and
    // ALERTS_FOR_STATE (when each became active, in seconds).
    const alertSeries: RecordedSample[] = [];
    for (const rule of this.rules) {
      if (this.stopped) return;
      const ruleStarted = performance.now();
      let samples: EvaluatedSample[];
      try {
        // query_offset: evaluate as of a moment ago so late-arriving logs are counted.
        const timeNs = BigInt(nowMs - this.definition.queryOffsetMs) * 1_000_000n;
        const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.context.queryTimeoutMs)]);
        const result = await this.context.engine.query({
          tenant: this.tenant,
          query: rule.definition.expr,
          startNs: timeNs,
          endNs: timeNs,
          stepMs: 0,
          intervalMs: 0,
          limit: 0,
          direction: 'backward',
          instant: true,
          signal,
        });
        samples = resultSamples(result);
      } catch (error) {
        if (this.stopped) return;
        failures++;
        const message = (error as Error).message;
        rule.fail(message, nowMs);
        rule.evaluationSeconds = (performance.now() - ruleStarted) / 1000;
        this.context.onError(this, rule, message);
        continue;
      }
      if (rule instanceof RecordingRule) {
        const recorded = rule.toSamples(samples, nowMs, this.definition.limit);
        if (rule.health === 'err') {
          failures++;
          this.context.onError(this, rule, rule.lastError);
        } else {
          try {
            // Samples carry the time they describe, as in Prometheus with query_offset.
            await this.context.record(this.tenant, nowMs - this.definition.queryOffsetMs, [...recorded, ...this.staleMarkers(rule, recorded)]);
          } catch (error) {
            failures++;
            rule.fail(`writing recorded samples: ${(error as Error).message}`, nowMs);
            this.context.onError(this, rule, rule.lastError);
          }
        }
      } else {
        rule.evaluate(samples, nowMs, this.definition.limit);
        if (rule.health === 'err') {
          failures++;
          this.context.onError(this, rule, rule.lastError);
        }
        due.push(...rule.alertsToSend(nowMs, this.context.resendDelayMs, this.intervalMs, this.context.generatorURL(rule.definition.expr)));
        const ruleSeries: RecordedSample[] = [];
        for (const alert of rule.alerts()) {
          if (alert.state === 'inactive') continue;
          ruleSeries.push({ labels: { ...alert.labels, __name__: 'ALERTS', alertstate: alert.state }, value: 1 });
          ruleSeries.push({ labels: { ...alert.labels, __name__: 'ALERTS_FOR_STATE' }, value: alert.activeAtMs / 1000 });
        }
        // A resolved alert, or a pending one that turned firing, leaves its old series stale at once
        // rather than visible for the lookback window.
        alertSeries.push(...ruleSeries, ...this.staleMarkers(rule, ruleSeries));
      }
      rule.evaluationSeconds = (performance.now() - ruleStarted) / 1000;
    }
    this.lastEvaluationMs = nowMs;
    this.evaluationSeconds = (performance.now() - started) / 1000;
    if (due.length > 0) this.context.notify(due);
    if (alertSeries.length > 0) {
      try {
        await this.context.record(this.tenant, nowMs, alertSeries);
      } catch (error) {
        this.context.onError(this, undefined, `writing ALERTS samples: ${(error as Error).message}`);
      }
    }
    this.context.onEvaluation(this, failures, this.evaluationSeconds);
  }
}
