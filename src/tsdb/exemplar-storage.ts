// Exemplars: bounded in-memory storage, as Prometheus' circular exemplar storage keeps them. One ring
// of `maxExemplars` slots shared by every series (and tenant); each series links its exemplars oldest
// to newest through the ring, so a new exemplar overwrites the oldest one of all and unlinks it from
// its series. Per series, exemplars are accepted in time order only: the same (labels, value,
// timestamp) as the newest is a duplicate (ignored), an older or equal timestamp is out of order.
// Exemplar label sets are at most 128 runes (names and values together), as OpenMetrics says.
// Durability is the WAL's: exemplars are written with the samples and replayed on start.

import { compileMatcher, type CompiledMatcher } from '../store/label-matcher.ts';
import { compareLabels, labelsHash, sameLabels } from './series-index.ts';
import type { Labels, MetricLabelMatcher } from './types.ts';

/** OpenMetrics' limit on an exemplar's label set, in runes (names and values together). */
export const MAX_EXEMPLAR_LABEL_RUNES = 128;

export interface Exemplar {
  labels: Labels;
  value: number;
  timestampMs: number;
}

/** Exemplars of one series, oldest first. */
export interface SeriesExemplars {
  seriesLabels: Labels;
  exemplars: Exemplar[];
}

export type ExemplarOutcome = 'added' | 'duplicate' | 'out_of_order' | 'too_long' | 'disabled';

interface ExemplarSeries {
  tenant: string;
  labels: Labels;
  hash: number;
  oldest: number;
  newest: number;
}

const NONE = -1;
/**
 * Slots allocated before the first exemplar needs more; the ring then doubles up to its capacity. A
 * server that receives no exemplars kept the default 100,000 slots (~2.8 MB: three typed arrays and
 * two arrays of references) resident from its start (bench/server-rss-ab.ts, issue 9 item 3).
 */
const INITIAL_SLOTS = 1024;

export class ExemplarStorage {
  readonly capacity: number;
  /** Slots allocated so far (≤ capacity): until the ring is this full it has not wrapped. */
  private allocated: number;
  private timestampsMs: Float64Array;
  private values: Float64Array;
  /** The next newer slot of the same series, or NONE. */
  private next: Int32Array;
  private readonly labels: Array<Labels | undefined> = [];
  private readonly owners: Array<ExemplarSeries | undefined> = [];
  /** Series by tenant and label-set hash (a collision chain is an array). */
  private readonly series = new Map<string, Map<number, ExemplarSeries | ExemplarSeries[]>>();
  private cursor = 0;
  private stored = 0;

  constructor(maxExemplars: number) {
    this.capacity = Math.max(0, Math.floor(maxExemplars));
    this.allocated = Math.min(this.capacity, INITIAL_SLOTS);
    this.timestampsMs = new Float64Array(this.allocated);
    this.values = new Float64Array(this.allocated);
    this.next = new Int32Array(this.allocated).fill(NONE);
  }

  /** Doubles the slots (up to the capacity); only called before the ring first wraps, so slots keep their places. */
  private grow(): void {
    const allocated = Math.min(this.capacity, this.allocated * 2);
    const timestampsMs = new Float64Array(allocated);
    timestampsMs.set(this.timestampsMs);
    const values = new Float64Array(allocated);
    values.set(this.values);
    const next = new Int32Array(allocated).fill(NONE);
    next.set(this.next);
    this.timestampsMs = timestampsMs;
    this.values = values;
    this.next = next;
    this.allocated = allocated;
  }

  /** Exemplars held now (at most the capacity). */
  get size(): number {
    return this.stored;
  }

  /** Checks an exemplar against the series' newest without storing it. */
  check(tenant: string, seriesLabels: Labels, exemplar: Exemplar): ExemplarOutcome {
    if (this.capacity === 0) return 'disabled';
    if (labelRunes(exemplar.labels) > MAX_EXEMPLAR_LABEL_RUNES) return 'too_long';
    const series = this.find(tenant, seriesLabels, labelsHash(seriesLabels));
    if (series === undefined) return 'added';
    const newest = series.newest;
    const newestMs = this.timestampsMs[newest]!;
    if (newestMs === exemplar.timestampMs && sameValue(this.values[newest]!, exemplar.value) && sameLabels(this.labels[newest]!, exemplar.labels)) return 'duplicate';
    return exemplar.timestampMs <= newestMs ? 'out_of_order' : 'added';
  }

  /** Stores the exemplar when check() allows it; returns the outcome. */
  add(tenant: string, seriesLabels: Labels, exemplar: Exemplar): ExemplarOutcome {
    const outcome = this.check(tenant, seriesLabels, exemplar);
    if (outcome !== 'added') return outcome;
    const hash = labelsHash(seriesLabels);
    let series = this.find(tenant, seriesLabels, hash);
    if (this.cursor === this.allocated) this.grow();
    const slot = this.cursor;
    this.evict(slot);
    if (series === undefined) {
      series = { tenant, labels: seriesLabels, hash, oldest: slot, newest: slot };
      this.link(series);
    } else {
      this.next[series.newest] = slot;
      series.newest = slot;
    }
    this.timestampsMs[slot] = exemplar.timestampMs;
    this.values[slot] = exemplar.value;
    this.labels[slot] = exemplar.labels;
    this.owners[slot] = series;
    this.next[slot] = NONE;
    this.stored++;
    this.cursor = (slot + 1) % this.capacity;
    return 'added';
  }

  /** Frees a slot about to be overwritten: in a FIFO ring it is its series' oldest exemplar. */
  private evict(slot: number): void {
    const owner = this.owners[slot];
    if (owner === undefined) return;
    this.stored--;
    if (owner.newest === slot) this.unlink(owner);
    else owner.oldest = this.next[slot]!;
    this.owners[slot] = undefined;
    this.labels[slot] = undefined;
  }

  private find(tenant: string, labels: Labels, hash: number): ExemplarSeries | undefined {
    const found = this.series.get(tenant)?.get(hash);
    if (found === undefined) return undefined;
    if (!Array.isArray(found)) return sameLabels(found.labels, labels) ? found : undefined;
    return found.find((candidate) => sameLabels(candidate.labels, labels));
  }

  private link(series: ExemplarSeries): void {
    let byHash = this.series.get(series.tenant);
    if (byHash === undefined) this.series.set(series.tenant, (byHash = new Map()));
    const found = byHash.get(series.hash);
    if (found === undefined) byHash.set(series.hash, series);
    else if (Array.isArray(found)) found.push(series);
    else byHash.set(series.hash, [found, series]);
  }

  private unlink(series: ExemplarSeries): void {
    const byHash = this.series.get(series.tenant)!;
    const found = byHash.get(series.hash);
    if (found === series) byHash.delete(series.hash);
    else if (Array.isArray(found)) {
      const rest = found.filter((candidate) => candidate !== series);
      if (rest.length === 0) byHash.delete(series.hash);
      else byHash.set(series.hash, rest.length === 1 ? rest[0]! : rest);
    }
    if (byHash.size === 0) this.series.delete(series.tenant);
  }

  /**
   * Exemplars in [startMs, endMs] of the series matching any matcher set, series sorted by labels as
   * Prometheus sorts them. Throws MatcherError on a bad regex.
   */
  select(tenant: string, matcherSets: readonly (readonly MetricLabelMatcher[])[], startMs: number, endMs: number): SeriesExemplars[] {
    const byHash = this.series.get(tenant);
    if (byHash === undefined || matcherSets.length === 0) return [];
    const compiledSets = matcherSets.map((set) => set.map((matcher) => compileMatcher(matcher)));
    const out: SeriesExemplars[] = [];
    for (const found of byHash.values()) {
      for (const series of Array.isArray(found) ? found : [found]) {
        if (!compiledSets.some((set) => matchesAll(set, series.labels))) continue;
        const exemplars: Exemplar[] = [];
        // Bounded: the chain holds at most `capacity` slots and ends at the series' newest.
        for (let slot = series.oldest; slot !== NONE; slot = this.next[slot]!) {
          const timestampMs = this.timestampsMs[slot]!;
          if (timestampMs >= startMs && timestampMs <= endMs) exemplars.push({ labels: this.labels[slot]!, value: this.values[slot]!, timestampMs });
          if (slot === series.newest) break;
        }
        if (exemplars.length > 0) out.push({ seriesLabels: series.labels, exemplars });
      }
    }
    return out.sort((a, b) => compareLabels(a.seriesLabels, b.seriesLabels));
  }

  /** Every stored exemplar with its tenant and series, oldest first (for the WAL segment preamble). */
  *entries(): Generator<{ tenant: string; seriesLabels: Labels; exemplar: Exemplar }> {
    // Until the ring is fully allocated it has not wrapped: the slots from the cursor on are empty.
    for (let i = 0; i < this.allocated; i++) {
      const slot = (this.cursor + i) % this.allocated;
      const owner = this.owners[slot];
      if (owner === undefined) continue;
      yield { tenant: owner.tenant, seriesLabels: owner.labels, exemplar: { labels: this.labels[slot]!, value: this.values[slot]!, timestampMs: this.timestampsMs[slot]! } };
    }
  }
}

function matchesAll(matchers: readonly CompiledMatcher[], labels: Labels): boolean {
  for (const matcher of matchers) if (!matcher.matches(labels[matcher.name] ?? '')) return false;
  return true;
}

function labelRunes(labels: Labels): number {
  let runes = 0;
  for (const name in labels) {
    // Bounded by the string lengths; counts code points, not UTF-16 units.
    for (const _ of name) runes++;
    for (const _ of labels[name]!) runes++;
  }
  return runes;
}

function sameValue(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}
