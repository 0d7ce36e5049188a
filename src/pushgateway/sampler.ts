// Turns pushed groups into TSDB series with no scrape hop, as if Prometheus scraped the Pushgateway
// with `honor_labels: true`: each series is the sample's name with the group's labels (empty values,
// such as the `instance=""` the Pushgateway adds, are absent in Prometheus), sampled with its last value
// every interval so it never leaves the lookback window. A series a group no longer has (replaced,
// deleted, expired) gets a staleness marker, as a scrape that no longer sees it would write.

import type { Labels } from '../push/types.ts';
import type { AppendSeries, MetricsStore } from '../tsdb/types.ts';
import { exposedSamples, type PushGroup } from './group-store.ts';

/** Where pushed groups go: their samples, and their families' type and help (for /api/v1/metadata). */
export interface MetricsAppender extends Pick<MetricsStore, 'append'> {
  setMetadata?(tenant: string, family: string, metadata: { type: string; help: string; unit: string }): void;
}

export class PushSampler {
  private readonly appender: MetricsAppender;
  /** tenant → group id → series key → labels, of the series last written for that group. */
  private readonly written = new Map<string, Map<string, Map<string, Labels>>>();

  constructor(appender: MetricsAppender) {
    this.appender = appender;
  }

  /**
   * Writes the group's values at `nowMs` (`group` undefined: the group is gone) and staleness markers
   * for the series it wrote before and has no more. Resolves once the TSDB has them durable.
   */
  async sample(tenant: string, groupId: string, group: PushGroup | undefined, nowMs: number): Promise<void> {
    const series = this.collect(tenant, groupId, group, nowMs);
    if (series.length > 0) await this.appender.append(tenant, series);
  }

  /** As sample(), for many groups of one tenant in one append (one WAL write and fsync for a tick). */
  async sampleAll(tenant: string, groups: Array<{ groupId: string; group: PushGroup | undefined }>, nowMs: number): Promise<void> {
    const series = groups.flatMap(({ groupId, group }) => this.collect(tenant, groupId, group, nowMs));
    if (series.length > 0) await this.appender.append(tenant, series);
  }

  private collect(tenant: string, groupId: string, group: PushGroup | undefined, nowMs: number): AppendSeries[] {
    let byGroup = this.written.get(tenant);
    if (byGroup === undefined) {
      byGroup = new Map();
      this.written.set(tenant, byGroup);
    }
    const before = byGroup.get(groupId) ?? new Map<string, Labels>();
    const now = new Map<string, Labels>();
    const series: AppendSeries[] = [];
    for (const sample of group === undefined ? [] : exposedSamples(group)) {
      const labels = seriesLabels(sample.name, sample.labels);
      const key = seriesKey(labels);
      now.set(key, labels);
      series.push({ labels, samples: [{ timestampMs: nowMs, value: sample.value }] });
    }
    for (const [key, labels] of before) {
      if (!now.has(key)) series.push({ labels, samples: [{ timestampMs: nowMs, value: NaN, stale: true }] });
    }
    if (now.size === 0) byGroup.delete(groupId);
    else byGroup.set(groupId, now);
    // A sample at the same millisecond as one written before (a push and a tick together) is refused
    // as a duplicate by the TSDB; the value written first stands, which is what a scrape would have seen.
    return series;
  }
}

function seriesLabels(name: string, labels: Labels): Labels {
  const result: Labels = { __name__: name };
  for (const labelName of Object.keys(labels).sort()) if (labels[labelName] !== '') result[labelName] = labels[labelName]!;
  return result;
}

function seriesKey(labels: Labels): string {
  return JSON.stringify(labels);
}
