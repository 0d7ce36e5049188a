// Streams of every tenant found by (tenant, labels) without a key string per stream: a map from
// streamFingerprint to the item, or to the few items whose fingerprints collide, compared by labels.
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

export class StreamTable<T extends TableItem> {
  private readonly slots = new Map<number, T | T[]>();
  size = 0;

  get(fingerprint: number, tenant: string, labels: Labels): T | undefined {
    const slot = this.slots.get(fingerprint);
    if (slot === undefined) return undefined;
    if (!Array.isArray(slot)) return slot.tenant === tenant && sameLabels(slot.info.labels, labels) ? slot : undefined;
    for (const item of slot) if (item.tenant === tenant && sameLabels(item.info.labels, labels)) return item;
    return undefined;
  }

  /** Adds an item that is not in the table yet. */
  add(fingerprint: number, item: T): void {
    const slot = this.slots.get(fingerprint);
    if (slot === undefined) this.slots.set(fingerprint, item);
    else if (Array.isArray(slot)) slot.push(item);
    else this.slots.set(fingerprint, [slot, item]);
    this.size++;
  }

  delete(fingerprint: number, item: T): boolean {
    const slot = this.slots.get(fingerprint);
    if (slot === item) {
      this.slots.delete(fingerprint);
    } else if (Array.isArray(slot) && slot.includes(item)) {
      const rest = slot.filter((other) => other !== item);
      this.slots.set(fingerprint, rest.length === 1 ? rest[0]! : rest);
    } else {
      return false;
    }
    this.size--;
    return true;
  }

  *values(): Generator<T> {
    for (const slot of this.slots.values()) {
      if (Array.isArray(slot)) yield* slot;
      else yield slot;
    }
  }
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
