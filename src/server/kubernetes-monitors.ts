// `kubernetes_monitors:`: the ServiceMonitor, PodMonitor and PrometheusRule objects of the Prometheus
// Operator (kube-prometheus-stack), listed and watched. Monitors become scrape jobs of the running
// ScrapeManager (replaced as a set whenever one changes, src/scrape/monitors.ts); PrometheusRules
// become PromQL rule files of the default tenant (`k8s_<namespace>_<name>.yaml` in the PromQL rule
// directory, which the ruler re-reads), written atomically and removed with their object. A monitor
// that does not convert is reported and skipped; the others keep working.

import { mkdirSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as yamlStringify } from 'yaml';
import { z } from 'zod';
import { durationMsSchema } from '../config/config-values.ts';
import { formatDurationMs } from '../duration/duration.ts';
import { KubernetesClient } from '../kubernetes/client.ts';
import { Informer, type KubeObject } from '../kubernetes/informer.ts';
import { scrapeConfigSchema, type ScrapeConfig } from '../scrape/config.ts';
import { podMonitorScrapeConfigs, serviceMonitorScrapeConfigs, type MonitorDiscoveryDefaults, type MonitorObject } from '../scrape/monitors.ts';
import type { ScrapeManager } from '../scrape/scrape-manager.ts';

export const kubernetesMonitorsConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Empty: in-cluster (the pod's service account). */
    api_server: z.string().default(''),
    bearer_token_file: z.string().default(''),
    tls_config: z.object({ ca_file: z.string().default(''), insecure_skip_verify: z.boolean().default(false) }).strict().prefault({}),
    /** Namespaces whose monitor objects are read; empty = all. */
    namespaces: z.array(z.string().min(1)).default([]),
    /** For monitor endpoints without an `interval`. */
    scrape_interval: durationMsSchema.prefault('30s'),
    /** PrometheusRule objects become rules of the ruler; off to take only the scrapes. */
    rules: z.boolean().default(true),
  })
  .strict();

export type KubernetesMonitorsConfig = z.output<typeof kubernetesMonitorsConfigSchema>;

interface PrometheusRule extends KubeObject {
  spec?: { groups?: Array<{ name: string; interval?: string; rules?: Array<Record<string, unknown>> }> };
}

export const MONITOR_ORIGIN = 'kubernetes_monitors';
const RULE_FILE_PREFIX = 'k8s_';

export class KubernetesMonitors {
  private readonly serviceMonitors: Informer<MonitorObject & KubeObject>[] = [];
  private readonly podMonitors: Informer<MonitorObject & KubeObject>[] = [];
  private readonly rules: Informer<PrometheusRule>[] = [];
  private readonly manager: ScrapeManager;
  private readonly rulesDir: string | undefined;
  private readonly defaults: MonitorDiscoveryDefaults;
  private readonly log: (message: string) => void;
  private scheduled = false;
  private applying: Promise<void> = Promise.resolve();
  /** Why each object was skipped in the latest pass, to report a problem once, not at every event. */
  private reported = new Set<string>();

  constructor(config: KubernetesMonitorsConfig, manager: ScrapeManager, rulesDir: string | undefined, log: (message: string) => void, env: NodeJS.ProcessEnv = process.env) {
    this.manager = manager;
    this.rulesDir = config.rules ? rulesDir : undefined;
    this.log = log;
    this.defaults = {
      apiServer: config.api_server,
      bearerTokenFile: config.bearer_token_file,
      caFile: config.tls_config.ca_file,
      insecureSkipVerify: config.tls_config.insecure_skip_verify,
      scrapeInterval: formatDurationMs(config.scrape_interval),
    };
    const client = new KubernetesClient({ apiServer: config.api_server || undefined, bearerTokenFile: config.bearer_token_file || undefined, caFile: config.tls_config.ca_file || undefined, insecureSkipVerify: config.tls_config.insecure_skip_verify }, env);
    const onChange = () => this.schedule();
    const onError = (message: string) => log(`kubernetes_monitors: ${message}`);
    for (const namespace of config.namespaces.length > 0 ? config.namespaces : [undefined]) {
      const path = (resource: string) => `/apis/monitoring.coreos.com/v1/${namespace === undefined ? '' : `namespaces/${encodeURIComponent(namespace)}/`}${resource}`;
      this.serviceMonitors.push(new Informer(client, path('servicemonitors'), onChange, onError));
      this.podMonitors.push(new Informer(client, path('podmonitors'), onChange, onError));
      if (this.rulesDir !== undefined) this.rules.push(new Informer(client, path('prometheusrules'), onChange, onError));
    }
  }

  private informers(): Informer<KubeObject>[] {
    return [...this.serviceMonitors, ...this.podMonitors, ...this.rules] as Informer<KubeObject>[];
  }

  start(): void {
    for (const informer of this.informers()) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers().map((informer) => informer.stop()));
    await this.applying;
  }

  /** A list or a rollout brings many events at once: apply once per burst. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.applying = this.applying.then(() => this.apply()).catch((error: unknown) => this.log(`kubernetes_monitors: ${(error as Error).message}`));
    });
  }

  private report(key: string, message: string, seen: Set<string>): void {
    seen.add(key);
    if (!this.reported.has(key)) this.log(`kubernetes_monitors: ${message}`);
  }

  private async apply(): Promise<void> {
    const seen = new Set<string>();
    const configs: ScrapeConfig[] = [];
    const convert = (informers: Informer<MonitorObject & KubeObject>[], kind: string, toConfigs: typeof serviceMonitorScrapeConfigs) => {
      for (const monitor of informers.flatMap((informer) => informer.list())) {
        const name = `${kind} ${monitor.metadata.namespace}/${monitor.metadata.name}`;
        try {
          for (const input of toConfigs(monitor, this.defaults)) {
            const parsed = scrapeConfigSchema.safeParse(input);
            if (parsed.success) configs.push(parsed.data);
            else this.report(`${name}:${input.job_name}`, `${name}: skipped: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`, seen);
          }
        } catch (error) {
          this.report(name, `${name}: skipped: ${(error as Error).message}`, seen);
        }
      }
    };
    convert(this.serviceMonitors, 'ServiceMonitor', serviceMonitorScrapeConfigs);
    convert(this.podMonitors, 'PodMonitor', podMonitorScrapeConfigs);
    await this.manager.replaceJobs(MONITOR_ORIGIN, configs);
    if (this.rulesDir !== undefined && this.rules.every((informer) => informer.hasSynced())) this.writeRules();
    this.reported = seen;
  }

  /** One PromQL rule file per PrometheusRule; files of objects that are gone are removed. */
  private writeRules(): void {
    const dir = this.rulesDir!;
    mkdirSync(dir, { recursive: true });
    const wanted = new Set<string>();
    for (const rule of this.rules.flatMap((informer) => informer.list())) {
      const file = `${RULE_FILE_PREFIX}${rule.metadata.namespace ?? ''}_${rule.metadata.name}.yaml`.replace(/[^A-Za-z0-9_.-]/g, '_');
      wanted.add(file);
      const groups = (rule.spec?.groups ?? []).map((group) => ({ name: group.name, ...(group.interval ? { interval: group.interval } : {}), rules: group.rules ?? [] }));
      const text = `# From PrometheusRule ${rule.metadata.namespace}/${rule.metadata.name} (written by rankscope; edits are replaced).\n${yamlStringify({ groups })}`;
      const path = join(dir, file);
      writeFileSync(`${path}.tmp~`, text);
      renameSync(`${path}.tmp~`, path);
    }
    for (const file of readdirSync(dir)) {
      if (file.startsWith(RULE_FILE_PREFIX) && file.endsWith('.yaml') && !wanted.has(file)) unlinkSync(join(dir, file));
    }
  }
}
