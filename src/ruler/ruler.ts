// The ruler: loads rule namespaces from the LogQL rule directory (plus the training pack) and the
// PromQL rule directory, runs one RuleGroup per group, reloads on file changes (fs.watch, with a
// bounded poll as a fallback), and serves what the API needs: rule listings, Prometheus-shaped
// rule/alert state and rule edits. Recorded samples go to the metrics store it is given. Knows no HTTP.

import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Labels } from '../push/types.ts';
import { AlertingRule } from './alerting-rule.ts';
import { readAlertState, writeAlertState, type SavedAlertState } from './alert-state-file.ts';
import { promqlRulesDirOf, type RulerConfig } from './config.ts';
import { parseDurationMs } from '../duration/duration.ts';
import { NotifierHub, type RulerLogger } from './notifier-hub.ts';
import { RuleDirectory, type RuleLanguage, type RuleNamespace, type RuleSnapshot } from './rule-directory.ts';
import { formatRuleProblem, parseRuleFile, parseRuleGroup, type ExprValidator, type RuleGroupDefinition, type RuleParseOptions, type RuleProblem } from './rule-file.ts';
import { validatePromqlRuleExpr, validateRuleExpr } from './expr-validation.ts';
import { missingPromqlEngine } from './promql-rule-engine.ts';
import { writeFamily } from '../push/exposition-text.ts';
import { RecordingRule, RuleGroup, type RecordedSample, type Rule, type RuleQueryEngine } from './rule-group.ts';

export const TRAINING_RULES_PATH = fileURLToPath(new URL('../../rules/training.yaml', import.meta.url));
export const TRAINING_NAMESPACE = 'training';
/** The pack's GPU rules: PromQL over the metrics store, loaded with the LogQL pack (a file holds one language). */
export const TRAINING_GPU_RULES_PATH = fileURLToPath(new URL('../../rules/training-gpu.yaml', import.meta.url));
export const TRAINING_GPU_NAMESPACE = 'training-gpu';

export interface RulerOptions {
  /** Evaluates LogQL rules. */
  engine: RuleQueryEngine;
  /** Evaluates PromQL rules (promql-rule-engine.ts adapts the PromQL engine); without it they fail with a reason. */
  promqlEngine?: RuleQueryEngine;
  /**
   * Stores recording-rule output and the ALERTS / ALERTS_FOR_STATE series (the server appends them to
   * the TSDB); resolves once they are durable. Without it, recording rules fail with a reason.
   */
  appendSamples?: (tenant: string, timestampMs: number, samples: RecordedSample[]) => Promise<void>;
  config: RulerConfig;
  /** The server's data directory: default rule directories `<dataDir>/rules` and `<dataDir>/prometheus-rules`, alert state in `<dataDir>/ruler`. */
  dataDir: string;
  logger?: RulerLogger;
  /** Checks rule expressions at load time; default: the LogQL parser, metric queries only. */
  validateExpr?: ExprValidator;
}

export interface RulerMetrics {
  ruleGroups: number;
  rules: number;
  alertsFiring: number;
  alertsPending: number;
  evaluations: number;
  evaluationFailures: number;
  reloads: number;
  reloadFailures: number;
  lastReloadSuccessful: boolean;
  ruleFileProblems: number;
  notifications: Array<{ receiver: string; kind: string; sent: number; failedAttempts: number; dropped: number; queueLength: number }>;
}

/** A problem the API answers with 400 (bad YAML or rule) or 404 (no such namespace/group). */
export class RulerRequestError extends Error {
  readonly statusCode: number;
  constructor(message: string, statusCode: number) {
    super(message);
    this.name = 'RulerRequestError';
    this.statusCode = statusCode;
  }
}

/** How often alert state is saved besides on stop; bounds what a crash (SIGKILL) can lose. */
const STATE_SAVE_INTERVAL_MS = 30_000;

/** Debounce for bursts of fs.watch events (an editor's save is often write + rename + chmod). */
const WATCH_DEBOUNCE_MS = 50;

const consoleLogger: RulerLogger = {
  info: (fields, message) => console.error(JSON.stringify({ level: 'info', msg: message, ...fields })),
  warn: (fields, message) => console.error(JSON.stringify({ level: 'warn', msg: message, ...fields })),
  error: (fields, message) => console.error(JSON.stringify({ level: 'error', msg: message, ...fields })),
};

function ruleType(rule: Rule): 'alerting' | 'recording' {
  return rule instanceof AlertingRule ? 'alerting' : 'recording';
}

function rfc3339(ms: number | undefined): string {
  return new Date(ms ?? 0).toISOString();
}

/** Prometheus's API prints sample values with strconv 'e' shortest, e.g. "1e+00". */
export function formatAlertValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  const [mantissa, exponent] = value.toExponential().split('e') as [string, string];
  const exponentNumber = Number(exponent);
  return `${mantissa}e${exponentNumber < 0 ? '-' : '+'}${String(Math.abs(exponentNumber)).padStart(2, '0')}`;
}

export class Ruler {
  readonly config: RulerConfig;
  /** LogQL rule files (and the training pack). */
  readonly directory: RuleDirectory;
  /** PromQL rule files: same layout and format, evaluated by the PromQL engine. */
  readonly promqlDirectory: RuleDirectory;
  private readonly options: RulerOptions;
  private readonly parseOptions: RuleParseOptions;
  private readonly logger: RulerLogger;
  private readonly notifier: NotifierHub;
  private readonly groups = new Map<string, RuleGroup>();
  private readonly defaultIntervalMs: number;
  private watchers: FSWatcher[] = [];
  private snapshot: RuleSnapshot = { namespaces: [], problems: [], version: 0 };
  private snapshotKey = '';
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private stateTimer: NodeJS.Timeout | undefined;
  private readonly statePath: string;
  /** Saved alerts not yet handed to their groups (consumed as groups first load). */
  private restoredState: SavedAlertState = {};
  private appliedVersion = -1;
  private reportedProblems = '';
  private reloading: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly counts = { evaluations: 0, evaluationFailures: 0, reloads: 0, reloadFailures: 0 };
  private lastReloadSuccessful = true;

  constructor(options: RulerOptions) {
    this.options = options;
    this.config = options.config;
    this.logger = options.logger ?? consoleLogger;
    this.defaultIntervalMs = parseDurationMs(options.config.evaluation_interval);
    const rulesDir = options.config.rules_dir === '' ? join(options.dataDir, 'rules') : options.config.rules_dir;
    const parseOptions = { validateExpr: options.validateExpr ?? validateRuleExpr };
    this.parseOptions = parseOptions;
    const builtIn: RuleNamespace[] = [];
    if (options.config.enable_training_rules) {
      builtIn.push({
        tenant: options.config.tenant,
        namespace: TRAINING_NAMESPACE,
        path: TRAINING_RULES_PATH,
        groups: parseRuleFile(readFileSync(TRAINING_RULES_PATH, 'utf8'), TRAINING_RULES_PATH, parseOptions),
        readOnly: true,
        language: 'logql',
      });
    }
    this.directory = new RuleDirectory({ directory: rulesDir, defaultTenant: options.config.tenant, parseOptions, builtIn });
    const promqlRulesDir = promqlRulesDirOf(options.config, options.dataDir);
    const builtInPromql: RuleNamespace[] = [];
    // Without a metrics store (tsdb.enabled: false) the GPU rules could only fail at every evaluation.
    if (options.config.enable_training_rules && options.promqlEngine !== undefined) {
      builtInPromql.push({
        tenant: options.config.tenant,
        namespace: TRAINING_GPU_NAMESPACE,
        path: TRAINING_GPU_RULES_PATH,
        groups: parseRuleFile(readFileSync(TRAINING_GPU_RULES_PATH, 'utf8'), TRAINING_GPU_RULES_PATH, { validateExpr: validatePromqlRuleExpr }),
        readOnly: true,
        language: 'promql',
      });
    }
    this.promqlDirectory = new RuleDirectory({
      directory: promqlRulesDir,
      defaultTenant: options.config.tenant,
      parseOptions: { validateExpr: validatePromqlRuleExpr },
      builtIn: builtInPromql,
      language: 'promql',
    });
    this.notifier = new NotifierHub(options.config, this.logger);
    this.statePath = join(options.dataDir, 'ruler', 'alert-state.json');
  }

  /** Loads the rules, starts evaluating, and starts watching the directory. */
  start(): void {
    const saved = readAlertState(this.statePath);
    if (saved.problem !== undefined) this.logger.warn({ path: this.statePath }, saved.problem);
    this.restoredState = saved.state;
    this.apply(this.scan());
    this.restoredState = {};
    this.stateTimer = setInterval(() => this.saveState(), STATE_SAVE_INTERVAL_MS);
    this.stateTimer.unref();
    for (const directory of [this.directory, this.promqlDirectory]) {
      try {
        const watcher = watch(directory.directory, { recursive: true, persistent: false }, () => this.scheduleReload());
        watcher.on('error', (error) => {
          this.logger.warn({ error: error.message, dir: directory.directory }, 'rule directory watch failed; relying on polling');
          watcher.close();
          this.watchers = this.watchers.filter((other) => other !== watcher);
        });
        this.watchers.push(watcher);
      } catch (error) {
        this.logger.warn({ error: (error as Error).message, dir: directory.directory }, 'cannot watch rule directory; relying on polling');
      }
    }
    const pollMs = parseDurationMs(this.config.poll_interval);
    if (pollMs > 0) {
      this.pollTimer = setInterval(() => void this.reload(), pollMs);
      this.pollTimer.unref();
    }
  }

  private scheduleReload(): void {
    if (this.stopped) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => void this.reload(), WATCH_DEBOUNCE_MS);
  }

  /** Rescans the directory and applies changes. Serialized, so concurrent triggers do not interleave. */
  reload(): Promise<void> {
    this.reloading = this.reloading
      .then(() => {
        if (this.stopped) return;
        this.apply(this.scan());
      })
      .catch((error: unknown) => {
        // An unreadable directory must not stop later reloads or crash the server.
        this.counts.reloadFailures++;
        this.logger.error({ dir: this.directory.directory, error: (error as Error).message }, 'rule reload failed; keeping the current rules');
      });
    return this.reloading;
  }

  /**
   * Both directories as one snapshot. A tenant's namespace names are shared by its LogQL and PromQL
   * files (the ruler API addresses namespaces by name), so a PromQL file reusing a LogQL name is refused.
   */
  private scan(): RuleSnapshot {
    const logql = this.directory.scan();
    const promql = this.promqlDirectory.scan();
    const namespaces = [...logql.namespaces];
    const problems = [...logql.problems, ...promql.problems];
    const taken = new Set(logql.namespaces.map((ns) => `${ns.tenant}\u0000${ns.namespace}`));
    for (const ns of promql.namespaces) {
      if (taken.has(`${ns.tenant}\u0000${ns.namespace}`)) {
        problems.push({ path: ns.path, line: 0, column: 0, message: `namespace ${JSON.stringify(ns.namespace)} of tenant ${JSON.stringify(ns.tenant)} is already defined by a LogQL rule file; rename one of them` });
        continue;
      }
      namespaces.push(ns);
    }
    const key = `${logql.version}:${promql.version}`;
    const version = key === this.snapshotKey ? this.snapshot.version : this.snapshot.version + 1;
    this.snapshotKey = key;
    this.snapshot = { namespaces, problems, version };
    return this.snapshot;
  }

  private apply(snapshot: RuleSnapshot): void {
    const problemsKey = snapshot.problems.map(formatRuleProblem).join('\n');
    const problemsChanged = problemsKey !== this.reportedProblems;
    if (problemsChanged) {
      this.reportedProblems = problemsKey;
      for (const problem of snapshot.problems) {
        this.logger.error(
          { path: problem.path, line: problem.line, column: problem.column, reason: problem.message },
          `rule file rejected, keeping its last good rules: ${formatRuleProblem(problem)}`,
        );
      }
    }
    if (snapshot.version === this.appliedVersion && !problemsChanged) return;
    this.counts.reloads++;
    this.lastReloadSuccessful = snapshot.problems.length === 0;
    if (!this.lastReloadSuccessful) this.counts.reloadFailures++;
    if (snapshot.version === this.appliedVersion) return;
    this.appliedVersion = snapshot.version;
    this.syncGroups(snapshot.namespaces);
  }

  private syncGroups(namespaces: RuleNamespace[]): void {
    const next = new Map<string, RuleGroup>();
    for (const ns of namespaces) {
      for (const definition of ns.groups) {
        const group = new RuleGroup(ns.tenant, ns.namespace, definition, this.defaultIntervalMs, {
          engine: ns.language === 'promql' ? (this.options.promqlEngine ?? missingPromqlEngine) : this.options.engine,
          record: (tenant, timestampMs, samples) => this.record(tenant, timestampMs, samples),
          notify: (alerts) => this.notifier.send(alerts),
          onEvaluation: (_group, failures) => {
            this.counts.evaluations++;
            this.counts.evaluationFailures += failures;
          },
          onError: (failed, rule, message) =>
            this.logger.warn({ tenant: failed.tenant, namespace: failed.namespace, group: failed.definition.name, rule: rule?.definition.name ?? '', error: message }, 'rule evaluation failed'),
          resendDelayMs: parseDurationMs(this.config.resend_delay),
          generatorURL: (expr) => this.generatorURL(ns.language, expr),
          externalLabels: this.config.external_labels,
          externalURL: this.config.external_url,
          resolvedRetentionMs: parseDurationMs(this.config.resolved_retention),
          queryTimeoutMs: Math.max(this.defaultIntervalMs, definition.intervalMs ?? 0, 10_000),
        });
        const key = group.key();
        if (next.has(key)) continue;
        const previous = this.groups.get(key);
        if (previous !== undefined && JSON.stringify(previous.definition) === JSON.stringify(definition)) {
          next.set(key, previous); // unchanged: keep it running undisturbed
          continue;
        }
        if (previous !== undefined) group.copyStateFrom(previous);
        else if (this.restoredState[key] !== undefined) group.restoreState(this.restoredState[key]!);
        next.set(key, group);
      }
    }
    for (const [key, group] of this.groups) {
      if (next.get(key) !== group) void group.stop().then(() => group.markStale(Date.now()));
    }
    for (const [key, group] of next) {
      if (this.groups.get(key) !== group) group.start();
    }
    this.groups.clear();
    for (const [key, group] of next) this.groups.set(key, group);
    this.logger.info({ groups: this.groups.size }, 'rules loaded');
  }

  private async record(tenant: string, timestampMs: number, samples: RecordedSample[]): Promise<void> {
    if (samples.length === 0) return;
    if (this.options.appendSamples === undefined) throw new Error('recorded samples need the metrics store: set tsdb.enabled: true');
    await this.options.appendSamples(tenant, timestampMs, samples);
  }

  /** Where an alert links back to: Explore with the query, on the logs or the metrics side. */
  private generatorURL(language: RuleLanguage, expr: string): string {
    const base = `${this.config.external_url.replace(/\/+$/, '')}/explore?query=${encodeURIComponent(expr)}`;
    return language === 'promql' ? `${base}&source=metrics` : base;
  }

  /** Problems with rule files in the latest scan (path, line, reason). */
  problems(): RuleProblem[] {
    return this.snapshot.problems;
  }

  // ------------------------------------------------------------------------------------------------
  // Loki ruler API.

  namespaces(tenant: string): RuleNamespace[] {
    return this.snapshot.namespaces.filter((ns) => ns.tenant === tenant);
  }

  private find(tenant: string, namespace: string): RuleNamespace | undefined {
    return this.snapshot.namespaces.find((ns) => ns.tenant === tenant && ns.namespace === namespace);
  }

  /**
   * Creates or replaces a group. An existing namespace keeps its language; a new one is created in
   * `language`'s directory (the Loki API creates LogQL namespaces, the Prometheus config API PromQL ones).
   */
  async setRuleGroup(tenant: string, namespace: string, yamlText: string, language: RuleLanguage = 'logql'): Promise<void> {
    // The namespace becomes a file name (percent-encoded); keep it within filesystem limits.
    if (namespace.trim() === '' || encodeURIComponent(namespace).length > 200) {
      throw new RulerRequestError('invalid namespace: it must be 1 to about 200 characters (it names a rule file)', 400);
    }
    await this.reloading;
    const existing = this.find(tenant, namespace);
    const target = (existing?.language ?? language) === 'promql' ? this.promqlDirectory : this.directory;
    let group: RuleGroupDefinition;
    try {
      group = parseRuleGroup(yamlText, `${namespace} (request body)`, target === this.promqlDirectory ? { validateExpr: validatePromqlRuleExpr } : this.parseOptions);
    } catch (error) {
      throw new RulerRequestError((error as Error).message, 400);
    }
    if (existing?.readOnly) throw new RulerRequestError(`namespace ${JSON.stringify(namespace)} is the built-in training pack; turn it off with ruler.enable_training_rules: false`, 400);
    const groups = existing === undefined ? [group] : existing.groups.some((g) => g.name === group.name) ? existing.groups.map((g) => (g.name === group.name ? group : g)) : [...existing.groups, group];
    target.writeNamespace(tenant, namespace, groups);
    this.apply(this.scan());
  }

  async deleteRuleGroup(tenant: string, namespace: string, groupName: string | undefined): Promise<void> {
    await this.reloading;
    const existing = this.find(tenant, namespace);
    if (existing === undefined) throw new RulerRequestError('no rule groups found', 404);
    if (existing.readOnly) throw new RulerRequestError(`namespace ${JSON.stringify(namespace)} is the built-in training pack; turn it off with ruler.enable_training_rules: false`, 400);
    if (groupName !== undefined && !existing.groups.some((g) => g.name === groupName)) throw new RulerRequestError('group does not exist', 404);
    const groups = groupName === undefined ? [] : existing.groups.filter((g) => g.name !== groupName);
    (existing.language === 'promql' ? this.promqlDirectory : this.directory).writeNamespace(tenant, namespace, groups);
    this.apply(this.scan());
  }

  // ------------------------------------------------------------------------------------------------
  // Prometheus-shaped state.

  private tenantGroups(tenant: string): RuleGroup[] {
    return [...this.groups.values()]
      .filter((group) => group.tenant === tenant)
      .sort((a, b) => (a.namespace === b.namespace ? (a.definition.name < b.definition.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1));
  }

  /** `GET /prometheus/api/v1/rules` data, with the type/file/rule_group/rule_name filters. */
  prometheusRules(tenant: string, filter: { type?: 'alert' | 'record'; files?: string[]; groups?: string[]; names?: string[] } = {}): { groups: unknown[] } {
    const out: unknown[] = [];
    for (const group of this.tenantGroups(tenant)) {
      if (filter.files !== undefined && filter.files.length > 0 && !filter.files.includes(group.namespace)) continue;
      if (filter.groups !== undefined && filter.groups.length > 0 && !filter.groups.includes(group.definition.name)) continue;
      const rules: unknown[] = [];
      for (const rule of group.rules) {
        if (filter.type === 'alert' && !(rule instanceof AlertingRule)) continue;
        if (filter.type === 'record' && !(rule instanceof RecordingRule)) continue;
        if (filter.names !== undefined && filter.names.length > 0 && !filter.names.includes(rule.definition.name)) continue;
        const common = {
          name: rule.definition.name,
          query: rule.definition.expr,
          labels: rule.definition.labels,
          health: rule.health,
          lastError: rule.lastError,
          type: ruleType(rule),
          lastEvaluation: rfc3339(rule.lastEvaluationMs),
          evaluationTime: rule.evaluationSeconds,
        };
        if (rule instanceof AlertingRule) {
          rules.push({
            state: rule.state(),
            ...common,
            duration: rule.definition.forMs / 1000,
            keepFiringFor: rule.definition.keepFiringForMs / 1000,
            annotations: rule.definition.annotations,
            alerts: rule.alerts().filter((alert) => alert.state !== 'inactive').map((alert) => this.alertJson(alert)),
          });
        } else rules.push(common);
      }
      if (filter.type !== undefined && rules.length === 0) continue;
      out.push({
        name: group.definition.name,
        file: group.namespace,
        rules,
        interval: group.intervalMs / 1000,
        limit: group.definition.limit,
        lastEvaluation: rfc3339(group.lastEvaluationMs),
        evaluationTime: group.evaluationSeconds,
      });
    }
    return { groups: out };
  }

  private alertJson(alert: ReturnType<AlertingRule['alerts']>[number]): Record<string, unknown> {
    const labels: Labels = { ...this.config.external_labels, ...alert.labels };
    return {
      labels,
      annotations: alert.annotations,
      state: alert.state,
      activeAt: rfc3339(alert.activeAtMs),
      value: formatAlertValue(alert.value),
      ...(alert.keepFiringSinceMs !== undefined ? { keepFiringSince: rfc3339(alert.keepFiringSinceMs) } : {}),
    };
  }

  /** `GET /prometheus/api/v1/alerts` data: every pending or firing alert of the tenant. */
  prometheusAlerts(tenant: string): { alerts: unknown[] } {
    const alerts: unknown[] = [];
    for (const group of this.tenantGroups(tenant)) {
      for (const rule of group.rules) {
        if (!(rule instanceof AlertingRule)) continue;
        for (const alert of rule.alerts()) if (alert.state !== 'inactive') alerts.push(this.alertJson(alert));
      }
    }
    return { alerts };
  }

  // ------------------------------------------------------------------------------------------------

  metrics(): RulerMetrics {
    let rules = 0;
    let alertsFiring = 0;
    let alertsPending = 0;
    for (const group of this.groups.values()) {
      rules += group.rules.length;
      for (const rule of group.rules) {
        if (!(rule instanceof AlertingRule)) continue;
        for (const alert of rule.alerts()) {
          if (alert.state === 'firing') alertsFiring++;
          else if (alert.state === 'pending') alertsPending++;
        }
      }
    }
    return {
      ruleGroups: this.groups.size,
      rules,
      alertsFiring,
      alertsPending,
      ...this.counts,
      lastReloadSuccessful: this.lastReloadSuccessful,
      ruleFileProblems: this.snapshot.problems.length,
      notifications: this.notifier.counters().map(({ receiver, kind, sent, failedAttempts, dropped, queueLength }) => ({ receiver, kind, sent, failedAttempts, dropped, queueLength })),
    };
  }

  /** The metrics in Prometheus text exposition format, for the server's /metrics. */
  metricsText(): string {
    const m = this.metrics();
    const lines: string[] = [];
    const family = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Labels, number]>): void =>
      writeFamily(lines, name, type, help, samples.map(([labels, value]) => ({ labels, value })));
    family('rankscope_ruler_rule_groups', 'gauge', 'Rule groups being evaluated.', [[{}, m.ruleGroups]]);
    family('rankscope_ruler_rules', 'gauge', 'Rules being evaluated.', [[{}, m.rules]]);
    family('rankscope_ruler_alerts', 'gauge', 'Active alerts by state.', [
      [{ state: 'firing' }, m.alertsFiring],
      [{ state: 'pending' }, m.alertsPending],
    ]);
    family('rankscope_ruler_group_evaluations_total', 'counter', 'Rule group evaluations.', [[{}, m.evaluations]]);
    family('rankscope_ruler_rule_evaluation_failures_total', 'counter', 'Rule evaluations that failed.', [[{}, m.evaluationFailures]]);
    family('rankscope_ruler_config_reloads_total', 'counter', 'Rule reloads applied.', [[{}, m.reloads]]);
    family('rankscope_ruler_config_reload_failures_total', 'counter', 'Rule reloads that found a bad file.', [[{}, m.reloadFailures]]);
    family('rankscope_ruler_config_last_reload_successful', 'gauge', '1 when no rule file has problems.', [[{}, m.lastReloadSuccessful ? 1 : 0]]);
    family('rankscope_ruler_rule_file_problems', 'gauge', 'Problems in rule files (their last good rules keep running).', [[{}, m.ruleFileProblems]]);
    const byReceiver = (pick: (n: RulerMetrics['notifications'][number]) => number): Array<[Labels, number]> =>
      m.notifications.map((n) => [{ receiver: n.receiver, kind: n.kind }, pick(n)]);
    family('rankscope_ruler_notifications_sent_total', 'counter', 'Notifications delivered, per receiver.', byReceiver((n) => n.sent));
    family('rankscope_ruler_notification_failed_attempts_total', 'counter', 'Delivery attempts that failed (each retry counts), per receiver.', byReceiver((n) => n.failedAttempts));
    family('rankscope_ruler_notifications_dropped_total', 'counter', 'Notifications given up on after retries or queue overflow, per receiver.', byReceiver((n) => n.dropped));
    family('rankscope_ruler_notification_queue_length', 'gauge', 'Alerts waiting to be sent to each Alertmanager.', byReceiver((n) => n.queueLength));
    return `${lines.join('\n')}\n`;
  }

  private saveState(): void {
    const state: SavedAlertState = {};
    for (const [key, group] of this.groups) {
      const saved = group.saveState();
      if (Object.keys(saved).length > 0) state[key] = saved;
    }
    try {
      writeAlertState(this.statePath, state, Date.now());
    } catch (error) {
      this.logger.warn({ path: this.statePath, error: (error as Error).message }, 'cannot save alert state');
    }
  }

  /** Stops evaluating and watching, saves alert state; queued Alertmanager batches get a bounded chance to go out. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.debounceTimer);
    clearInterval(this.pollTimer);
    clearInterval(this.stateTimer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    await this.reloading;
    await Promise.all([...this.groups.values()].map((group) => group.stop()));
    this.saveState();
    await this.notifier.close();
  }
}
