// Streams of every tenant found by (tenant, labels) without a key string per stream: a hash table
// keyed by streamFingerprint, whose hits (fingerprints can collide) are compared by labels.
// The store keeps its heads, and the streams of its last cut, in these.

import type { Labels, StreamInfo } from './types.ts';

export interface TableItem {
  readonly tenant: string;
  readonly info: StreamInfo;
}

export function sameLabels(a: Labels, b: Labels): boolean {
  let count = 0;
  for (const name in a) {
    if (a[name] !== b[name]) return false;
    count++;
  }
  // Same size and every name of `a` in `b` with its value: equal.
  return Object.keys(b).length === count;
}

const INITIAL_SLOTS = 64;

/**
 * Open addressing with linear probing, at most half full: a slot is a pair [fingerprint, position
 * + 1] (0: empty) into `items`, so a miss (every new stream of a WAL replay) reads one cache line
 * and a hit one item. A Map of 600k fingerprints cost a cache miss or two per lookup in its bucket
 * chains and ~40 bytes an entry; this is 20-28.
 */
export class StreamTable<T extends TableItem> {
  /** By position; a deleted item's position is reused. */
  private readonly items: Array<T | undefined> = [];
  private readonly freePositions: number[] = [];
  private slots = new Int32Array(INITIAL_SLOTS * 2);
  size = 0;

  get(fingerprint: number, tenant: string, labels: Labels): T | undefined {
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    // Bounded: the table is at most half full, so probing meets an empty slot.
    for (let slot = fingerprint & mask; ; slot = (slot + 1) & mask) {
      const position = slots[slot * 2 + 1]!;
      if (position === 0) return undefined;
      if (slots[slot * 2] !== fingerprint) continue;
      const item = this.items[position - 1]!;
      if (item.tenant === tenant && sameLabels(item.info.labels, labels)) return item;
    }
  }

  /** Adds an item that is not in the table yet. */
  add(fingerprint: number, item: T): void {
    let position = this.freePositions.pop();
    if (position === undefined) {
      position = this.items.length;
      this.items.push(item);
    } else {
      this.items[position] = item;
    }
    this.size++;
    if (this.size * 4 > this.slots.length) this.grow();
    place(this.slots, fingerprint, position);
  }

  delete(fingerprint: number, item: T): boolean {
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    let slot = fingerprint & mask;
    // Bounded as in get.
    for (; ; slot = (slot + 1) & mask) {
      const position = slots[slot * 2 + 1]!;
      if (position === 0) return false;
      if (slots[slot * 2] === fingerprint && this.items[position - 1] === item) break;
    }
    const position = slots[slot * 2 + 1]! - 1;
    this.items[position] = undefined;
    this.freePositions.push(position);
    this.size--;
    // Backward-shift deletion: move later entries of the probe run into the gap, so no tombstones.
    let gap = slot;
    for (let next = (gap + 1) & mask; slots[next * 2 + 1] !== 0; next = (next + 1) & mask) {
      const home = slots[next * 2]! & mask;
      // The entry at `next` may move to `gap` unless its home lies cyclically in (gap, next].
      if (gap <= next ? home > gap && home <= next : home > gap || home <= next) continue;
      slots[gap * 2] = slots[next * 2]!;
      slots[gap * 2 + 1] = slots[next * 2 + 1]!;
      gap = next;
    }
    slots[gap * 2] = 0;
    slots[gap * 2 + 1] = 0;
    return true;
  }

  *values(): Generator<T> {
    for (const item of this.items) if (item !== undefined) yield item;
  }

  /** Doubles the slots and places every entry again (fingerprints are in the slots: no item is read). */
  private grow(): void {
    const old = this.slots;
    const slots = new Int32Array(old.length * 2);
    for (let slot = 0; slot < old.length; slot += 2) if (old[slot + 1] !== 0) place(slots, old[slot]!, old[slot + 1]! - 1);
    this.slots = slots;
  }
}

function place(slots: Int32Array, fingerprint: number, position: number): void {
  const mask = (slots.length >> 1) - 1;
  let slot = fingerprint & mask;
  // Bounded: the table is at most half full.
  while (slots[slot * 2 + 1] !== 0) slot = (slot + 1) & mask;
  slots[slot * 2] = fingerprint;
  slots[slot * 2 + 1] = position + 1;
}

/**
 * Shares label name and value strings among streams: each push decodes its own copies, and a head
 * keeps its stream's labels, so 100k streams held 100k copies of `namespace` and `training`.
 * Names are always shared. Values are shared per name until the name has shown
 * MAX_VALUES_PER_NAME distinct values: past that it is a per-stream label (a pod name, an id),
 * where sharing saves nothing and a map entry per value cost replay time and memory.
 */
const MAX_VALUES_PER_NAME = 1024;
/** Bounded: past this many names the table starts over (later streams share less; nothing breaks). */
const MAX_NAMES = 4096;

interface InternedName {
  name: string;
  /** Undefined once the name has too many distinct values to be worth sharing. */
  values: Map<string, string> | undefined;
}

export class LabelInterner {
  private names = new Map<string, InternedName>();

  /**
   * `labels` with the values of low-cardinality names replaced by shared strings (names need no
   * help: V8 shares property names itself). A copy, or with `inPlace` (labels the caller owns, such
   * as a replayed record's) the same object: one object less per stream.
   */
  labels(labels: Labels, inPlace = false): Labels {
    const copy: Labels = inPlace ? labels : {};
    for (const name in labels) {
      let interned = this.names.get(name);
      if (interned === undefined) {
        if (this.names.size >= MAX_NAMES) this.names = new Map();
        interned = { name, values: new Map() };
        this.names.set(name, interned);
      }
      const value = labels[name]!;
      const values = interned.values;
      if (values === undefined) {
        copy[interned.name] = value;
        continue;
      }
      let shared = values.get(value);
      if (shared === undefined) {
        shared = value;
        if (values.size >= MAX_VALUES_PER_NAME) interned.values = undefined;
        else values.set(value, value);
      }
      copy[interned.name] = shared;
    }
    return copy;
  }
}
