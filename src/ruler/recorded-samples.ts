// The small durable store behind recording rules. Each evaluation's samples are appended as one JSON
// line to `<dir>/<tenant>.jsonl` and kept in memory per series; on open the files are replayed and
// rewritten without samples older than the retention. Queries read it back Prometheus-style: the
// latest sample of each matching series within a 5-minute lookback of the evaluation time.

import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatLabels } from '../push/labels.ts';
import { compileRegex } from '../regex/index.ts';
import type { Labels } from '../push/types.ts';
import type { LabelMatcher } from '../store/types.ts';

/**
 * Samples are held in memory (two 8-byte numbers each, plus array overhead): 2M samples is about
 * 50 MB. Past it, appends fail (the rule reports the error) until retention frees room.
 */
export const MAX_RECORDED_SAMPLES = 2_000_000;

/** Prometheus's default lookback delta. */
export const LOOKBACK_MS = 5 * 60_000;

interface StoredSeries {
  labels: Labels;
  timestampsMs: number[];
  values: number[];
}

export interface RecordedSample {
  labels: Labels;
  value: number;
}

interface RecordLine {
  t: number;
  s: Array<[Labels, number]>;
}

function encodeTenant(tenant: string): string {
  return encodeURIComponent(tenant).replace(/\./g, '%2E');
}

export class RecordedSampleStore {
  private readonly directory: string;
  private readonly retentionMs: number;
  private readonly tenants = new Map<string, Map<string, StoredSeries>>();
  private sampleCount = 0;

  private readonly maxSamples: number;

  constructor(directory: string, retentionMs: number, maxSamples = MAX_RECORDED_SAMPLES) {
    this.directory = directory;
    this.retentionMs = retentionMs;
    this.maxSamples = maxSamples;
    mkdirSync(directory, { recursive: true });
    this.replay(Date.now());
  }

  get samples(): number {
    return this.sampleCount;
  }

  private replay(nowMs: number): void {
    for (const name of readdirSync(this.directory)) {
      if (!name.endsWith('.jsonl')) continue;
      const tenant = decodeURIComponent(name.slice(0, -'.jsonl'.length));
      const path = join(this.directory, name);
      const kept: string[] = [];
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line === '') continue;
        let record: RecordLine;
        try {
          record = JSON.parse(line) as RecordLine;
        } catch {
          continue; // a torn last line after a crash: everything before it is intact
        }
        if (typeof record.t !== 'number' || !Array.isArray(record.s) || record.t < nowMs - this.retentionMs) continue;
        this.insert(tenant, record);
        kept.push(line);
      }
      // Rewrite without expired samples, atomically, so the file does not grow without bound.
      writeFileSync(`${path}.tmp`, kept.length === 0 ? '' : `${kept.join('\n')}\n`);
      renameSync(`${path}.tmp`, path);
    }
  }

  private insert(tenant: string, record: RecordLine): void {
    let series = this.tenants.get(tenant);
    if (series === undefined) {
      series = new Map();
      this.tenants.set(tenant, series);
    }
    for (const [labels, value] of record.s) {
      const key = formatLabels(labels);
      let stored = series.get(key);
      if (stored === undefined) {
        stored = { labels, timestampsMs: [], values: [] };
        series.set(key, stored);
      }
      // Evaluations come in time order; an out-of-order one (clock step) is inserted in place.
      let at = stored.timestampsMs.length;
      while (at > 0 && stored.timestampsMs[at - 1]! > record.t) at--;
      if (at > 0 && stored.timestampsMs[at - 1] === record.t) stored.values[at - 1] = value;
      else {
        stored.timestampsMs.splice(at, 0, record.t);
        stored.values.splice(at, 0, value);
        this.sampleCount++;
      }
    }
  }

  /** Appends one evaluation's samples (labels include __name__). */
  append(tenant: string, timestampMs: number, samples: RecordedSample[]): void {
    if (samples.length === 0) return;
    this.dropExpired(tenant, timestampMs);
    if (this.sampleCount + samples.length > this.maxSamples) {
      throw new Error(`the recorded-sample store is full (${this.sampleCount} samples); lower ruler.recording_retention or record fewer series`);
    }
    const record: RecordLine = { t: timestampMs, s: samples.map((sample) => [sample.labels, sample.value]) };
    appendFileSync(join(this.directory, `${encodeTenant(tenant)}.jsonl`), `${JSON.stringify(record)}\n`);
    this.insert(tenant, record);
  }

  private dropExpired(tenant: string, nowMs: number): void {
    const series = this.tenants.get(tenant);
    if (series === undefined) return;
    const cutoffMs = nowMs - this.retentionMs;
    for (const [key, stored] of series) {
      let drop = 0;
      while (drop < stored.timestampsMs.length && stored.timestampsMs[drop]! < cutoffMs) drop++;
      if (drop === 0) continue;
      stored.timestampsMs.splice(0, drop);
      stored.values.splice(0, drop);
      this.sampleCount -= drop;
      if (stored.timestampsMs.length === 0) series.delete(key);
    }
  }

  private matching(tenant: string, matchers: LabelMatcher[]): StoredSeries[] {
    const series = this.tenants.get(tenant);
    if (series === undefined) return [];
    const compiled = matchers.map((matcher) => ({
      ...matcher,
      regex: matcher.type === '=~' || matcher.type === '!~' ? compileRegex(matcher.value, 'matcher').regexp : undefined,
    }));
    const out: StoredSeries[] = [];
    for (const stored of series.values()) {
      const ok = compiled.every((matcher) => {
        const value = stored.labels[matcher.name] ?? '';
        if (matcher.type === '=') return value === matcher.value;
        if (matcher.type === '!=') return value !== matcher.value;
        if (matcher.type === '=~') return matcher.regex!.test(value);
        return !matcher.regex!.test(value);
      });
      if (ok) out.push(stored);
    }
    return out;
  }

  /** Label names across the tenant's recorded series (for metric browsers). */
  labelNames(tenant: string): string[] {
    const names = new Set<string>();
    for (const stored of this.tenants.get(tenant)?.values() ?? []) for (const name of Object.keys(stored.labels)) names.add(name);
    return [...names].sort();
  }

  /** Values of one label across the tenant's recorded series; `__name__` lists the recorded metrics. */
  labelValues(tenant: string, name: string): string[] {
    const values = new Set<string>();
    for (const stored of this.tenants.get(tenant)?.values() ?? []) {
      const value = stored.labels[name];
      if (value !== undefined) values.add(value);
    }
    return [...values].sort();
  }

  /** The latest sample per matching series in (timeMs - lookback, timeMs]. */
  instant(tenant: string, matchers: LabelMatcher[], timeMs: number): Array<{ labels: Labels; timestampMs: number; value: number }> {
    const out: Array<{ labels: Labels; timestampMs: number; value: number }> = [];
    for (const stored of this.matching(tenant, matchers)) {
      const index = latestAtOrBefore(stored.timestampsMs, timeMs);
      if (index < 0 || stored.timestampsMs[index]! <= timeMs - LOOKBACK_MS) continue;
      out.push({ labels: stored.labels, timestampMs: timeMs, value: stored.values[index]! });
    }
    return out.sort((a, b) => (formatLabels(a.labels) < formatLabels(b.labels) ? -1 : 1));
  }

  /** One point per step from startMs to endMs, each the instant value at that step. */
  range(tenant: string, matchers: LabelMatcher[], startMs: number, endMs: number, stepMs: number): Array<{ labels: Labels; samples: Array<[number, number]> }> {
    const out: Array<{ labels: Labels; samples: Array<[number, number]> }> = [];
    for (const stored of this.matching(tenant, matchers)) {
      const samples: Array<[number, number]> = [];
      for (let t = startMs; t <= endMs; t += stepMs) {
        const index = latestAtOrBefore(stored.timestampsMs, t);
        if (index >= 0 && stored.timestampsMs[index]! > t - LOOKBACK_MS) samples.push([t, stored.values[index]!]);
      }
      if (samples.length > 0) out.push({ labels: stored.labels, samples });
    }
    return out.sort((a, b) => (formatLabels(a.labels) < formatLabels(b.labels) ? -1 : 1));
  }
}

function latestAtOrBefore(timestampsMs: number[], timeMs: number): number {
  let low = 0;
  let high = timestampsMs.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (timestampsMs[mid]! <= timeMs) {
      found = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  return found;
}
