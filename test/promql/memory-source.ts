// An in-memory MetricsSource for engine tests and the promqltest runner: series appended in time
// order, selected by matchers (RE2, fully anchored) and time, returned sorted by label set.

import type { Labels } from '../../src/push/types.ts';
import type { FloatHistogram, MetricLabelMatcher, MetricsSource, SeriesSamples, SeriesSelectQuery } from '../../src/tsdb/types.ts';
import { compileAnchoredRegex } from '../../src/promql/regex.ts';
import { compareLabels, labelsKey } from '../../src/promql/engine/series.ts';

interface StoredSeries {
  labels: Labels;
  timestampsMs: number[];
  values: number[];
  stale: number[];
  histograms: Array<FloatHistogram | undefined>;
}

export function matchesAll(labels: Labels, matchers: MetricLabelMatcher[]): boolean {
  for (const m of matchers) {
    const value = labels[m.name] ?? '';
    switch (m.type) {
      case '=':
        if (value !== m.value) return false;
        break;
      case '!=':
        if (value === m.value) return false;
        break;
      case '=~':
        if (!compileAnchoredRegex(m.value).matches(value)) return false;
        break;
      case '!~':
        if (compileAnchoredRegex(m.value).matches(value)) return false;
        break;
    }
  }
  return true;
}

export class MemorySource implements MetricsSource {
  private readonly stored = new Map<string, StoredSeries>();

  clear(): void {
    this.stored.clear();
  }

  appendHistogram(labels: Labels, timestampMs: number, histogram: FloatHistogram): void {
    this.append(labels, timestampMs, NaN, false, histogram);
  }

  /** Appends one sample; a later sample at the same timestamp replaces the earlier one. */
  append(labels: Labels, timestampMs: number, value: number, stale = false, histogram?: FloatHistogram): void {
    const key = labelsKey(labels);
    let stored = this.stored.get(key);
    if (stored === undefined) {
      stored = { labels: { ...labels }, timestampsMs: [], values: [], stale: [], histograms: [] };
      this.stored.set(key, stored);
    }
    const last = stored.timestampsMs.length - 1;
    if (last >= 0 && stored.timestampsMs[last]! === timestampMs) {
      stored.values[last] = value;
      stored.stale[last] = stale ? 1 : 0;
      stored.histograms[last] = histogram;
      return;
    }
    if (last >= 0 && stored.timestampsMs[last]! > timestampMs) {
      // Keep time order for out-of-order loads.
      let i = last;
      while (i >= 0 && stored.timestampsMs[i]! > timestampMs) i--;
      if (i >= 0 && stored.timestampsMs[i] === timestampMs) {
        stored.values[i] = value;
        stored.stale[i] = stale ? 1 : 0;
        stored.histograms[i] = histogram;
        return;
      }
      stored.timestampsMs.splice(i + 1, 0, timestampMs);
      stored.values.splice(i + 1, 0, value);
      stored.stale.splice(i + 1, 0, stale ? 1 : 0);
      stored.histograms.splice(i + 1, 0, histogram);
      return;
    }
    stored.timestampsMs.push(timestampMs);
    stored.values.push(stale ? NaN : value);
    stored.stale.push(stale ? 1 : 0);
    stored.histograms.push(histogram);
  }

  async select(_tenant: string, query: SeriesSelectQuery): Promise<SeriesSamples[]> {
    const out: SeriesSamples[] = [];
    for (const stored of this.stored.values()) {
      if (!matchesAll(stored.labels, query.matchers)) continue;
      const ts = stored.timestampsMs;
      let lo = 0;
      while (lo < ts.length && ts[lo]! < query.startMs) lo++;
      let hi = lo;
      while (hi < ts.length && ts[hi]! <= query.endMs) hi++;
      if (hi === lo) continue;
      const stale = stored.stale.slice(lo, hi);
      const histograms = stored.histograms.slice(lo, hi);
      out.push({
        labels: stored.labels,
        timestampsMs: Float64Array.from(ts.slice(lo, hi)),
        values: Float64Array.from(stored.values.slice(lo, hi)),
        ...(stale.includes(1) ? { stale: Uint8Array.from(stale) } : {}),
        ...(histograms.some((h) => h !== undefined) ? { histograms } : {}),
      });
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  async series(_tenant: string, matcherSets: MetricLabelMatcher[][], startMs: number, endMs: number): Promise<Labels[]> {
    const out: Labels[] = [];
    for (const stored of this.stored.values()) {
      if (!stored.timestampsMs.some((t) => t >= startMs && t <= endMs)) continue;
      if (matcherSets.some((set) => matchesAll(stored.labels, set))) out.push(stored.labels);
    }
    return out.sort(compareLabels);
  }

  async labelNames(_tenant: string, startMs: number, endMs: number, matcherSets?: MetricLabelMatcher[][]): Promise<string[]> {
    const names = new Set<string>();
    for (const labels of await this.series('', matcherSets ?? [[]], startMs, endMs)) for (const name in labels) names.add(name);
    return [...names].sort();
  }

  async labelValues(_tenant: string, name: string, startMs: number, endMs: number, matcherSets?: MetricLabelMatcher[][]): Promise<string[]> {
    const values = new Set<string>();
    for (const labels of await this.series('', matcherSets ?? [[]], startMs, endMs)) if (labels[name] !== undefined) values.add(labels[name]!);
    return [...values].sort();
  }
}
