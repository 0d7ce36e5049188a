// Runs the scrape_configs: per job, its targets from static_configs, file_sd_configs (re-read as
// the files change) and kubernetes_sd_configs (listed and watched), relabeled into scrape targets, each with its own ScrapeLoop. A target that
// appears starts a loop; one that goes away stops its loop, which marks its series stale. It also
// answers what /api/v1/targets shows.

import { createHash } from 'node:crypto';
import type { Labels } from '../push/types.ts';
import type { ScrapeConfig } from './config.ts';
import { FileDiscovery } from './file-sd.ts';
import { KubernetesDiscovery } from './kubernetes-sd.ts';
import { ScrapeLoop, type MetricsAppender, type ScrapeStatus } from './scrape-loop.ts';
import { discoveredLabelsOf, populateTarget, type ScrapeTarget, type TargetGroup } from './target.ts';

export interface ScrapeManagerOptions {
  configs: ScrapeConfig[];
  appender: MetricsAppender;
  /** The tenant scraped series are written to. */
  tenant: string;
  now?: () => number;
  log?: (message: string) => void;
}

export interface ActiveTargetView {
  target: ScrapeTarget;
  status: ScrapeStatus;
  config: ScrapeConfig;
}

interface Job {
  config: ScrapeConfig;
  /** `config` for scrape_configs of the file; another origin's jobs are replaced as a set (replaceJobs). */
  origin: string;
  fileDiscoveries: Array<{ discovery: FileDiscovery; refreshMs: number }>;
  kubernetesDiscoveries: KubernetesDiscovery[];
  loops: Map<string, ScrapeLoop>;
  dropped: Labels[];
  timers: NodeJS.Timeout[];
}

export class ScrapeManager {
  private readonly options: ScrapeManagerOptions;
  private readonly jobs: Job[] = [];
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly pendingSyncs = new Set<Job>();
  private started = false;

  constructor(options: ScrapeManagerOptions) {
    this.options = options;
    for (const config of options.configs) this.jobs.push(this.makeJob(config, 'config'));
  }

  private makeJob(config: ScrapeConfig, origin: string): Job {
    const log = (message: string) => this.options.log?.(`scrape job ${config.job_name}: ${message}`);
    const fileDiscoveries = config.file_sd_configs.map((sd) => ({ discovery: new FileDiscovery(sd.files, log), refreshMs: sd.refresh_interval }));
    const job: Job = { config, origin, fileDiscoveries, kubernetesDiscoveries: [], loops: new Map(), dropped: [], timers: [] };
    job.kubernetesDiscoveries = config.kubernetes_sd_configs.map((sd) => new KubernetesDiscovery(sd, () => this.scheduleSync(job), (message) => log(`kubernetes_sd: ${message}`)));
    return job;
  }

  /**
   * Replaces the jobs that came from `origin` (the monitor objects of Kubernetes, say) with `configs`:
   * a job whose config is unchanged keeps its loops; a changed or removed one is stopped (its series
   * marked stale) and a new or changed one started. Jobs of other origins are untouched; a job name
   * already taken by another origin is refused.
   */
  async replaceJobs(origin: string, configs: ScrapeConfig[]): Promise<void> {
    const wanted = new Map(configs.map((config) => [config.job_name, config]));
    const removed: Job[] = [];
    for (const job of [...this.jobs]) {
      if (job.origin !== origin) {
        if (wanted.delete(job.config.job_name)) this.options.log?.(`scrape job ${job.config.job_name} from ${origin}: the name is taken by another job; ignored`);
        continue;
      }
      const next = wanted.get(job.config.job_name);
      if (next !== undefined && JSON.stringify(next) === JSON.stringify(job.config)) {
        wanted.delete(job.config.job_name);
        continue;
      }
      removed.push(job);
      this.jobs.splice(this.jobs.indexOf(job), 1);
    }
    await Promise.all(removed.map((job) => this.stopJob(job)));
    for (const config of wanted.values()) {
      const job = this.makeJob(config, origin);
      this.jobs.push(job);
      if (this.started && !this.stopped) this.startJob(job);
    }
  }

  private async stopJob(job: Job): Promise<void> {
    for (const timer of job.timers) clearInterval(timer);
    await Promise.all(job.kubernetesDiscoveries.map((discovery) => discovery.stop()));
    const loops = [...job.loops.values()];
    job.loops.clear();
    await Promise.all(loops.map((loop) => loop.stop().catch((error: unknown) => this.options.log?.(`scrape: ${(error as Error).message}`))));
  }

  /** Watch events come in bursts (a list, a rollout): one sync per burst. */
  private scheduleSync(job: Job): void {
    if (this.pendingSyncs.has(job) || this.stopped) return;
    this.pendingSyncs.add(job);
    setImmediate(() => {
      this.pendingSyncs.delete(job);
      this.enqueueSync(job);
    });
  }

  start(): void {
    this.started = true;
    for (const job of this.jobs) this.startJob(job);
  }

  private startJob(job: Job): void {
    for (const { discovery } of job.fileDiscoveries) discovery.refresh();
    for (const discovery of job.kubernetesDiscoveries) discovery.start();
    this.enqueueSync(job);
    for (const { discovery, refreshMs } of job.fileDiscoveries) {
      const timer = setInterval(() => {
        if (discovery.refresh()) this.enqueueSync(job);
      }, refreshMs);
      timer.unref();
      job.timers.push(timer);
    }
  }

  /** Stops every loop (their series are marked stale). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const job of this.jobs) for (const timer of job.timers) clearInterval(timer);
    await Promise.all(this.jobs.flatMap((job) => job.kubernetesDiscoveries.map((discovery) => discovery.stop())));
    await this.syncing;
    await Promise.all(this.jobs.flatMap((job) => [...job.loops.values()].map((loop) => loop.stop().catch((error: unknown) => this.options.log?.(`scrape: ${(error as Error).message}`)))));
  }

  activeTargets(): ActiveTargetView[] {
    return this.jobs.flatMap((job) => [...job.loops.values()].map((loop) => ({ target: loop.target, status: loop.status, config: job.config })));
  }

  droppedTargets(): Array<{ job: string; discoveredLabels: Labels }> {
    return this.jobs.flatMap((job) => job.dropped.map((discoveredLabels) => ({ job: job.config.job_name, discoveredLabels })));
  }

  private enqueueSync(job: Job): void {
    this.syncing = this.syncing.then(() => this.sync(job)).catch((error: unknown) => this.options.log?.(`scrape job ${job.config.job_name}: ${(error as Error).message}`));
  }

  /** Starts loops for new targets and stops those of targets that are gone. */
  private async sync(job: Job): Promise<void> {
    if (this.stopped || !this.jobs.includes(job)) return;
    const { config } = job;
    const groups: TargetGroup[] = [
      ...config.static_configs.map((staticConfig, index) => ({ targets: staticConfig.targets, labels: staticConfig.labels, source: `static_configs[${index}]` })),
      ...job.fileDiscoveries.flatMap(({ discovery }) => discovery.groups()),
      ...job.kubernetesDiscoveries.flatMap((discovery) => discovery.groups()),
    ];
    const wanted = new Map<string, ScrapeTarget>();
    const dropped: Labels[] = [];
    for (const group of groups) {
      for (const address of group.targets) {
        const populated = populateTarget(discoveredLabelsOf(address, group, config), config);
        if (populated.kind === 'active') wanted.set(populated.target.key, populated.target);
        else dropped.push(populated.discoveredLabels);
        if (populated.kind === 'error') this.options.log?.(`scrape job ${config.job_name}: target ${address}: ${populated.message}`);
      }
    }
    job.dropped = dropped;
    const gone = [...job.loops].filter(([key]) => !wanted.has(key));
    for (const [key] of gone) job.loops.delete(key);
    for (const [key, target] of wanted) {
      if (job.loops.has(key)) continue;
      const loop = new ScrapeLoop({
        target,
        config,
        appender: this.options.appender,
        tenant: this.options.tenant,
        offsetMs: offsetOf(target.key, config.scrape_interval),
        ...(this.options.now !== undefined ? { now: this.options.now } : {}),
        onError: (error) => this.options.log?.(`scrape ${target.url}: ${error.message}`),
      });
      job.loops.set(key, loop);
      loop.start();
    }
    await Promise.all(gone.map(([, loop]) => loop.stop()));
  }
}

/** Where in the interval a target is scraped: fixed by its identity, so targets spread evenly. */
export function offsetOf(key: string, intervalMs: number): number {
  const digest = createHash('sha256').update(key).digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(Math.max(1, Math.round(intervalMs))));
}
