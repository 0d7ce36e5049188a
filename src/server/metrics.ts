// A small Prometheus metrics registry for /metrics: counters and histograms with labels, plus gauges
// read at scrape time. Enough for our own figures; no client library needed. The text is written by
// push/exposition-text.ts, as every /metrics of ours is.

import { histogramSamples, writeFamily, type ExpositionSample, type MetricType } from '../push/exposition-text.ts';

type LabelValues = Record<string, string>;

interface Family {
  name: string;
  help: string;
  type: MetricType;
  samples(): Iterable<ExpositionSample>;
}

export class Counter {
  private readonly values = new Map<string, { labels: LabelValues; value: number }>();
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  inc(labels: LabelValues = {}, by = 1): void {
    const key = labelKey(labels);
    const current = this.values.get(key);
    if (current === undefined) this.values.set(key, { labels, value: by });
    else current.value += by;
  }
  get(labels: LabelValues = {}): number {
    return this.values.get(labelKey(labels))?.value ?? 0;
  }
  samples(): ExpositionSample[] {
    return [...this.values.values()].map(({ labels, value }) => ({ labels, value }));
  }
}

export class Histogram {
  readonly name: string;
  private readonly upperBounds: number[];
  private readonly series = new Map<string, { labels: LabelValues; counts: number[]; sum: number; count: number }>();
  constructor(name: string, upperBounds: number[]) {
    this.name = name;
    this.upperBounds = upperBounds;
  }
  observe(value: number, labels: LabelValues = {}): void {
    const key = labelKey(labels);
    let series = this.series.get(key);
    if (series === undefined) {
      series = { labels, counts: new Array<number>(this.upperBounds.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    for (let i = 0; i < this.upperBounds.length; i++) if (value <= this.upperBounds[i]!) series.counts[i]!++;
    series.sum += value;
    series.count++;
  }
  samples(): ExpositionSample[] {
    const samples: ExpositionSample[] = [];
    for (const { labels, counts, sum, count } of this.series.values()) {
      samples.push(...histogramSamples(labels, this.upperBounds.map((upperBound, i) => [upperBound, counts[i]!]), sum, count));
    }
    return samples;
  }
}

export class MetricsRegistry {
  private readonly families: Family[] = [];

  counter(name: string, help: string): Counter {
    const counter = new Counter(name);
    this.families.push({ name, help, type: 'counter', samples: () => counter.samples() });
    return counter;
  }

  histogram(name: string, help: string, upperBounds: number[]): Histogram {
    const histogram = new Histogram(name, upperBounds);
    this.families.push({ name, help, type: 'histogram', samples: () => histogram.samples() });
    return histogram;
  }

  /** A gauge whose samples are read when scraped. */
  gauge(name: string, help: string, read: () => Array<[LabelValues, number]> | number): void {
    this.families.push({
      name,
      help,
      type: 'gauge',
      samples: () => {
        const value = read();
        return typeof value === 'number' ? [{ labels: {}, value }] : value.map(([labels, sample]) => ({ labels, value: sample }));
      },
    });
  }

  /** A counter kept elsewhere (the store's), read when scraped. */
  externalCounter(name: string, help: string, read: () => Array<[LabelValues, number]>): void {
    this.families.push({
      name,
      help,
      type: 'counter',
      samples: () => read().map(([labels, value]) => ({ labels, value })),
    });
  }

  /** A histogram kept elsewhere (the store's WAL fsync timings), rendered at scrape time. */
  externalHistogram(name: string, help: string, read: () => { count: number; sum: number; buckets: Array<[number, number]> }): void {
    this.families.push({
      name,
      help,
      type: 'histogram',
      samples: () => {
        const { count, sum, buckets } = read();
        return histogramSamples({}, buckets, sum, count);
      },
    });
  }

  render(): string {
    const lines: string[] = [];
    for (const family of this.families) writeFamily(lines, family.name, family.type, family.help, family.samples());
    return lines.join('\n') + '\n';
  }
}

function labelKey(labels: LabelValues): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  return names
    .sort()
    .map((name) => `${name}\u0000${labels[name]}`)
    .join('\u0001');
}
