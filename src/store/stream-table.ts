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
 * Bounded: past MAX_INTERNED_STRINGS the table starts over (later streams share less; nothing breaks).
 */
const MAX_INTERNED_STRINGS = 65_536;

export class LabelInterner {
  private strings = new Map<string, string>();

  intern(text: string): string {
    const known = this.strings.get(text);
    if (known !== undefined) return known;
    if (this.strings.size >= MAX_INTERNED_STRINGS) this.strings = new Map();
    this.strings.set(text, text);
    return text;
  }

  /** A copy of `labels` whose names and values are the shared strings. */
  labels(labels: Labels): Labels {
    const copy: Labels = {};
    for (const name in labels) copy[this.intern(name)] = this.intern(labels[name]!);
    return copy;
  }
}
