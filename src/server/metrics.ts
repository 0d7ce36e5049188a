// A small Prometheus text-exposition registry (format 0.0.4) for /metrics: counters and histograms
// with labels, plus gauges read at scrape time. Enough for our own figures; no client library needed.

type LabelValues = Record<string, string>;

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(lines: string[]): void;
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
  render(lines: string[]): void {
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${formatLabelValues(labels)} ${formatNumber(value)}`);
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
  render(lines: string[]): void {
    for (const { labels, counts, sum, count } of this.series.values()) {
      for (let i = 0; i < this.upperBounds.length; i++) {
        lines.push(`${this.name}_bucket${formatLabelValues({ ...labels, le: formatNumber(this.upperBounds[i]!) })} ${counts[i]}`);
      }
      lines.push(`${this.name}_bucket${formatLabelValues({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${formatLabelValues(labels)} ${formatNumber(sum)}`);
      lines.push(`${this.name}_count${formatLabelValues(labels)} ${count}`);
    }
  }
}

export class MetricsRegistry {
  private readonly families: Family[] = [];

  counter(name: string, help: string): Counter {
    const counter = new Counter(name);
    this.families.push({ name, help, type: 'counter', render: (lines) => counter.render(lines) });
    return counter;
  }

  histogram(name: string, help: string, upperBounds: number[]): Histogram {
    const histogram = new Histogram(name, upperBounds);
    this.families.push({ name, help, type: 'histogram', render: (lines) => histogram.render(lines) });
    return histogram;
  }

  /** A gauge whose samples are read when scraped. */
  gauge(name: string, help: string, read: () => Array<[LabelValues, number]> | number): void {
    this.families.push({
      name,
      help,
      type: 'gauge',
      render: (lines) => {
        const value = read();
        if (typeof value === 'number') lines.push(`${name} ${formatNumber(value)}`);
        else for (const [labels, sample] of value) lines.push(`${name}${formatLabelValues(labels)} ${formatNumber(sample)}`);
      },
    });
  }

  /** A counter kept elsewhere (the store's), read when scraped. */
  externalCounter(name: string, help: string, read: () => Array<[LabelValues, number]>): void {
    this.families.push({
      name,
      help,
      type: 'counter',
      render: (lines) => {
        for (const [labels, sample] of read()) lines.push(`${name}${formatLabelValues(labels)} ${formatNumber(sample)}`);
      },
    });
  }

  /** A histogram kept elsewhere (the store's WAL fsync timings), rendered at scrape time. */
  externalHistogram(name: string, help: string, read: () => { count: number; sum: number; buckets: Array<[number, number]> }): void {
    this.families.push({
      name,
      help,
      type: 'histogram',
      render: (lines) => {
        const { count, sum, buckets } = read();
        for (const [upperBound, bucketCount] of buckets) lines.push(`${name}_bucket{le="${formatNumber(upperBound)}"} ${bucketCount}`);
        lines.push(`${name}_bucket{le="+Inf"} ${count}`, `${name}_sum ${formatNumber(sum)}`, `${name}_count ${count}`);
      },
    });
  }

  render(): string {
    const lines: string[] = [];
    for (const family of this.families) {
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
      family.render(lines);
    }
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

function formatLabelValues(labels: LabelValues): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  return `{${names.map((name) => `${name}="${labels[name]!.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',')}}`;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
