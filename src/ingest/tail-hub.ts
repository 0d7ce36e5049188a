// Live tail fan-out, fed straight from ingest after each push is durable. Each subscriber has a
// compiled LogQL filter; matches are buffered and delivered in small batches so a busy stream costs
// one WebSocket frame per flush interval rather than one per line.

import type { Labels, PushEntry, PushStream } from '../push/types.ts';

export interface TailMatch {
  labels: Labels;
  line: string;
  structuredMetadata?: Labels;
  parsed?: Labels;
}

export type TailFilter = (labels: Labels, entry: PushEntry) => TailMatch | null;

export interface TailedEntry extends TailMatch {
  timestampNs: bigint;
}

export interface TailSubscription {
  close(): void;
}

/** An entry a slow subscriber never got, reported to it as Loki's `dropped_entries`. */
export interface DroppedEntry {
  labels: Labels;
  timestampNs: bigint;
}

export type TailDeliver = (entries: TailedEntry[], dropped: DroppedEntry[]) => void;

interface Subscriber {
  tenant: string;
  filter: TailFilter;
  pending: TailedEntry[];
  dropped: DroppedEntry[];
  deliver: TailDeliver;
}

/** Subscribers see entries within this delay of their push; well under the 1 s promise. */
const DEFAULT_FLUSH_INTERVAL_MS = 50;
/** Past this many undelivered matches a subscriber is too slow; its oldest matches are dropped. */
const DEFAULT_MAX_PENDING_ENTRIES = 50_000;
/** Dropped entries reported per flush; past this only the count grows. */
const MAX_REPORTED_DROPS = 1000;

export class TailHub {
  private readonly byTenant = new Map<string, Set<Subscriber>>();
  private readonly flushIntervalMs: number;
  private readonly maxPendingEntries: number;
  private timer: NodeJS.Timeout | undefined;
  private droppedTotal = 0;

  constructor(flushIntervalMs = DEFAULT_FLUSH_INTERVAL_MS, maxPendingEntries = DEFAULT_MAX_PENDING_ENTRIES) {
    this.flushIntervalMs = flushIntervalMs;
    this.maxPendingEntries = maxPendingEntries;
  }

  subscribe(tenant: string, filter: TailFilter, deliver: TailDeliver): TailSubscription {
    const subscriber: Subscriber = { tenant, filter, pending: [], dropped: [], deliver };
    let set = this.byTenant.get(tenant);
    if (set === undefined) {
      set = new Set();
      this.byTenant.set(tenant, set);
    }
    set.add(subscriber);
    return {
      close: () => {
        const current = this.byTenant.get(tenant);
        current?.delete(subscriber);
        if (current?.size === 0) this.byTenant.delete(tenant);
      },
    };
  }

  get subscriberCount(): number {
    let count = 0;
    for (const set of this.byTenant.values()) count += set.size;
    return count;
  }

  /** Entries dropped because a subscriber fell too far behind. */
  get droppedEntries(): number {
    return this.droppedTotal;
  }

  /** Counts drops decided by a subscriber's transport (a socket that is not draining). */
  countDropped(entries: number): void {
    this.droppedTotal += entries;
  }

  publish(tenant: string, streams: PushStream[]): void {
    const subscribers = this.byTenant.get(tenant);
    if (subscribers === undefined) return;
    for (const subscriber of subscribers) {
      for (const stream of streams) {
        for (const entry of stream.entries) {
          let match: TailMatch | null;
          try {
            match = subscriber.filter(stream.labels, entry);
          } catch {
            // A filter that throws on one line (a bad regex edge case) must not break ingest.
            match = null;
          }
          if (match !== null) subscriber.pending.push({ ...match, timestampNs: entry.timestampNs });
        }
      }
      if (subscriber.pending.length > this.maxPendingEntries) {
        const excess = subscriber.pending.length - this.maxPendingEntries;
        for (const entry of subscriber.pending.splice(0, excess)) {
          if (subscriber.dropped.length < MAX_REPORTED_DROPS) subscriber.dropped.push({ labels: entry.labels, timestampNs: entry.timestampNs });
        }
        this.droppedTotal += excess;
      }
    }
    this.timer ??= setTimeout(() => this.flush(), this.flushIntervalMs);
  }

  /** Delivers every pending batch now. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const set of this.byTenant.values()) {
      for (const subscriber of set) {
        if (subscriber.pending.length === 0 && subscriber.dropped.length === 0) continue;
        const batch = subscriber.pending;
        const dropped = subscriber.dropped;
        subscriber.pending = [];
        subscriber.dropped = [];
        batch.sort((a, b) => (a.timestampNs < b.timestampNs ? -1 : a.timestampNs > b.timestampNs ? 1 : 0));
        subscriber.deliver(batch, dropped);
      }
    }
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.byTenant.clear();
  }
}
