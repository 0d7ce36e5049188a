// One target's scrape loop: every scrape_interval, at an offset of the interval fixed by the target's
// hash (so a job's targets spread over the interval, as Prometheus spreads them), fetch the target
// (OpenMetrics preferred, gzip accepted), parse it with the one exposition reader, label and relabel
// its samples, and append them with the report series (`up`, `scrape_duration_seconds`,
// `scrape_samples_scraped`, `scrape_samples_post_metric_relabeling`, `scrape_series_added`).
// A series the previous scrape had and this one has not gets a staleness marker; a failed scrape marks
// every series stale; a stopped loop (its target gone) marks all its series, the report ones too.

import { expositionFormatOf, parseExposition, type ParsedExposition } from '../push/exposition-parse.ts';
import type { Labels } from '../push/types.ts';
import type { AppendSeries, MetricsStore } from '../tsdb/types.ts';
import type { ScrapeConfig } from './config.ts';
import { relabel } from './relabel.ts';
import type { ScrapeTarget } from './target.ts';
import { TargetClient } from './target-client.ts';

/** Where scrapes go: the samples, and the families' type, help and unit (for /api/v1/metadata). */
export interface MetricsAppender extends Pick<MetricsStore, 'append'> {
  setMetadata?(tenant: string, family: string, metadata: { type: string; help: string; unit: string }): void;
}

/** What Prometheus 2.x sends: OpenMetrics first, then the 0.0.4 text format. */
export const SCRAPE_ACCEPT_HEADER = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

export type TargetHealth = 'up' | 'down' | 'unknown';

export interface ScrapeStatus {
  health: TargetHealth;
  lastError: string;
  /** 0 = not scraped yet. */
  lastScrapeMs: number;
  lastScrapeDurationSeconds: number;
}

export interface ScrapeLoopOptions {
  target: ScrapeTarget;
  config: ScrapeConfig;
  appender: MetricsAppender;
  tenant: string;
  /** Where in the interval this target is scraped, 0 ≤ offset < interval. */
  offsetMs: number;
  now?: () => number;
  onError?: (error: Error) => void;
}

export class ScrapeLoop {
  readonly target: ScrapeTarget;
  private readonly options: ScrapeLoopOptions;
  private readonly now: () => number;
  /** HTTP(S) with the job's tls_config and credentials. */
  private readonly client: TargetClient;
  /** Series of the last scrape (without explicit timestamps), by key, for staleness markers. */
  private previous = new Map<string, Labels>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  status: ScrapeStatus = { health: 'unknown', lastError: '', lastScrapeMs: 0, lastScrapeDurationSeconds: 0 };

  constructor(options: ScrapeLoopOptions) {
    this.options = options;
    this.target = options.target;
    this.now = options.now ?? Date.now;
    this.client = new TargetClient(options.config);
  }

  start(): void {
    this.schedule();
  }

  /** Stops scraping and writes staleness markers for every series of the target. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    this.client.close();
    const series: AppendSeries[] = [];
    const nowMs = this.now();
    for (const labels of this.previous.values()) series.push({ labels, samples: [{ timestampMs: nowMs, value: NaN, stale: true }] });
    if (this.status.lastScrapeMs > 0) for (const name of REPORT_NAMES) series.push({ labels: { __name__: name, ...this.target.labels }, samples: [{ timestampMs: nowMs, value: NaN, stale: true }] });
    this.previous = new Map();
    if (series.length > 0) await this.options.appender.append(this.options.tenant, series);
  }

  /** One scrape, now; resolves when its samples are durable. */
  async scrape(): Promise<void> {
    const { config, target } = this.options;
    const scrapeMs = this.now();
    const started = performance.now();
    let parsed: ParsedExposition | undefined;
    let error = '';
    try {
      parsed = await this.fetchAndParse();
    } catch (caught) {
      error = (caught as Error).message;
    }
    const current = new Map<string, Labels>();
    const series: AppendSeries[] = [];
    let samplesScraped = 0;
    let added = 0;
    const seen = new Set<string>();
    if (parsed !== undefined) {
      samplesScraped = parsed.samples.length;
      for (const family of parsed.families.values()) {
        if (family.help === undefined && (family.type === 'untyped' || family.type === 'unknown')) continue;
        this.options.appender.setMetadata?.(this.options.tenant, family.name, { type: family.type === 'untyped' ? 'unknown' : family.type, help: family.help ?? '', unit: family.unit ?? '' });
      }
      for (const sample of parsed.samples) {
        const labels = relabel(sampleLabels(sample.name, sample.labels, target.labels, config.honor_labels), config.metric_relabel_configs);
        if (labels === undefined) continue;
        const key = seriesKey(labels);
        // A repeated series keeps its first sample, as Prometheus refuses the duplicate.
        if (seen.has(key)) continue;
        seen.add(key);
        const explicit = config.honor_timestamps && sample.timestampMs !== undefined;
        if (!explicit) current.set(key, labels);
        if (!this.previous.has(key)) added++;
        const timestampMs = explicit ? sample.timestampMs! : scrapeMs;
        const entry: AppendSeries = { labels, samples: [{ timestampMs, value: sample.value }] };
        // An exemplar without its own timestamp takes the sample's, as Prometheus does.
        if (sample.exemplar !== undefined) entry.exemplars = [{ labels: sample.exemplar.labels, value: sample.exemplar.value, timestampMs: sample.exemplar.timestampMs ?? timestampMs }];
        series.push(entry);
      }
      if (config.sample_limit > 0 && series.length > config.sample_limit) {
        error = `sample limit exceeded: ${series.length} samples after metric_relabel_configs, sample_limit is ${config.sample_limit}`;
      }
    }
    const postRelabel = series.length;
    if (error !== '') {
      series.length = 0;
      current.clear();
      added = 0;
    }
    for (const [key, labels] of this.previous) if (!current.has(key)) series.push({ labels, samples: [{ timestampMs: scrapeMs, value: NaN, stale: true }] });
    this.previous = current;
    const durationSeconds = (performance.now() - started) / 1000;
    const report: Array<[string, number]> = [
      ['up', error === '' ? 1 : 0],
      ['scrape_duration_seconds', durationSeconds],
      ['scrape_samples_scraped', error === '' ? samplesScraped : 0],
      ['scrape_samples_post_metric_relabeling', error === '' ? postRelabel : 0],
      ['scrape_series_added', added],
    ];
    for (const [name, value] of report) series.push({ labels: { __name__: name, ...target.labels }, samples: [{ timestampMs: scrapeMs, value }] });
    this.status = { health: error === '' ? 'up' : 'down', lastError: error, lastScrapeMs: scrapeMs, lastScrapeDurationSeconds: durationSeconds };
    await this.options.appender.append(this.options.tenant, series);
  }

  private async fetchAndParse(): Promise<ParsedExposition> {
    const { config, target } = this.options;
    const headers: Record<string, string> = {
      accept: SCRAPE_ACCEPT_HEADER,
      'accept-encoding': 'gzip',
      'user-agent': 'rankscope-scrape',
      'x-prometheus-scrape-timeout-seconds': String(config.scrape_timeout / 1000),
    };
    const response = await this.client.get(target.url, headers, config.scrape_timeout);
    if (response.status < 200 || response.status >= 300) throw new Error(`server returned HTTP status ${response.status} ${response.statusText}`);
    const text = response.body;
    return parseExposition(text, expositionFormatOf(response.contentType));
  }

  private schedule(): void {
    if (this.stopped) return;
    const intervalMs = this.options.config.scrape_interval;
    const nowMs = this.now();
    let nextMs = Math.floor(nowMs / intervalMs) * intervalMs + this.options.offsetMs;
    if (nextMs <= nowMs) nextMs += intervalMs;
    this.timer = setTimeout(() => {
      this.running = this.scrape()
        .catch((error: unknown) => this.options.onError?.(error as Error))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, nextMs - nowMs);
    this.timer.unref();
  }
}

const REPORT_NAMES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'];

/**
 * A sample's labels joined with the target's. honor_labels: the sample's win. Otherwise the target's
 * win and a clashing sample label is kept as `exported_<name>`. Empty values are absent.
 */
export function sampleLabels(name: string, scraped: Labels, targetLabels: Labels, honorLabels: boolean): Labels {
  const labels: Labels = { __name__: name, ...scraped };
  for (const [labelName, value] of Object.entries(targetLabels)) {
    if (honorLabels) {
      if (!(labelName in labels)) labels[labelName] = value;
      continue;
    }
    if (labelName in labels) {
      let exported = `exported_${labelName}`;
      while (exported in labels) exported = `exported_${exported}`;
      labels[exported] = labels[labelName]!;
    }
    labels[labelName] = value;
  }
  for (const labelName of Object.keys(labels)) if (labels[labelName] === '') delete labels[labelName];
  return labels;
}

function seriesKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}\u0000${labels[name]}`)
    .join('\u0001');
}
