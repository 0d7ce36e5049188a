// Per-partition inverted index: label name → value → stream ids, plus each stream's labels and its
// time range within the partition. Persisted per partition as JSON (the stream list; the inverted
// maps are rebuilt on load, the time ranges come from the parts' blocks), sealed with a checksum.
//
// Layout: each stream gets an ordinal (its position in `infos`); its time range sits in arrays at
// that ordinal, and streams are found by id through an open-addressing table of ordinals. Postings
// hold ordinals. A JS Map entry and an object per stream made the index half the CPU of a WAL
// replay of 600k streams (bench/store-streams-bench.ts): every insert into a Map of that size
// costs a cache miss or two, and every growth rehashes by reading each key string again.

import { openSealedObject, sealObject } from './checksum.ts';
import type { CompiledMatcher } from './label-matcher.ts';
import { mixedStringHash } from './stream-id.ts';
import type { Labels, StreamInfo } from './types.ts';

const NO_MIN_NS = 0x7fffffffffffffffn;
const NO_MAX_NS = -0x8000000000000000n;
const INITIAL_SLOTS = 64;
/**
 * A name keeps value → ordinals in a Map until it has this many distinct values: then it is a
 * per-stream label (a pod name, an id) whose Map entry per value cost as much as the stream itself,
 * and its postings become hash chains over stream ordinals (8 bytes per stream, no object).
 */
const MAX_MAPPED_VALUES = 1024;

export interface StreamTimeRange {
  minTimeNs: bigint;
  maxTimeNs: bigint;
}

/**
 * A stream id's hash. Ids are 32 hex digits of SHA-256 (stream-id.ts), whose first 8 spread as well
 * as all 32, for a quarter of the work on every note of a push; other ids (tests) are hashed whole.
 */
function idHash(id: string): number {
  return mixedStringHash(id, id.length === 32 ? 8 : id.length);
}

/** Grows a per-ordinal array to hold `ordinal`. */
function grownToHold(array: Int32Array<ArrayBuffer>, ordinal: number): Int32Array<ArrayBuffer> {
  if (ordinal < array.length) return array;
  let length = Math.max(INITIAL_SLOTS, array.length * 2);
  while (length <= ordinal) length *= 2;
  const grown = new Int32Array(length);
  grown.set(array);
  return grown;
}

/**
 * The postings of one label name: value → ordinals in a Map while the name has few values, then
 * hash chains (`buckets` by value hash, linked through `next` by ordinal, each stream's value hash
 * kept so growth never reads a string).
 */
class NamePostings {
  readonly name: string;
  /** value → one ordinal, or ordinals in ascending order. Undefined in chain mode. */
  byValue: Map<string, number | number[]> | undefined = new Map();
  /** Chain mode: ordinal + 1 of the newest stream whose value hash falls in the bucket (0: none). */
  private buckets = new Int32Array(0);
  /** Chain mode, per ordinal: ordinal + 1 of the next stream in its bucket (0: end). */
  private next = new Int32Array(0);
  private valueHashes = new Int32Array(0);
  private chained = 0;

  constructor(name: string) {
    this.name = name;
  }

  add(ordinal: number, value: string): void {
    const byValue = this.byValue;
    if (byValue === undefined) {
      this.link(ordinal, mixedStringHash(value));
      return;
    }
    const ordinals = byValue.get(value);
    if (ordinals === undefined) {
      byValue.set(value, ordinal);
      if (byValue.size > MAX_MAPPED_VALUES) this.toChains();
    } else if (typeof ordinals === 'number') byValue.set(value, [ordinals, ordinal]);
    else ordinals.push(ordinal);
  }

  private toChains(): void {
    const byValue = this.byValue!;
    this.byValue = undefined;
    this.buckets = new Int32Array(INITIAL_SLOTS);
    for (const [value, ordinals] of byValue) {
      const hash = mixedStringHash(value);
      if (typeof ordinals === 'number') this.link(ordinals, hash);
      else for (const ordinal of ordinals) this.link(ordinal, hash);
    }
  }

  private link(ordinal: number, hash: number): void {
    if (this.chained >= this.buckets.length >> 1) this.rehash(this.buckets.length * 2);
    this.next = grownToHold(this.next, ordinal);
    this.valueHashes = grownToHold(this.valueHashes, ordinal);
    const bucket = hash & (this.buckets.length - 1);
    this.next[ordinal] = this.buckets[bucket]!;
    this.buckets[bucket] = ordinal + 1;
    this.valueHashes[ordinal] = hash;
    this.chained++;
  }

  private rehash(bucketCount: number): void {
    const old = this.buckets;
    const buckets = new Int32Array(bucketCount);
    const next = this.next;
    const hashes = this.valueHashes;
    // Bounded: each chain ends (0) and visits each linked ordinal once.
    for (let b = 0; b < old.length; b++) {
      for (let entry = old[b]!; entry !== 0; ) {
        const ordinal = entry - 1;
        entry = next[ordinal]!;
        const bucket = hashes[ordinal]! & (bucketCount - 1);
        next[ordinal] = buckets[bucket]!;
        buckets[bucket] = ordinal + 1;
      }
    }
    this.buckets = buckets;
  }

  /** Ordinals (any order) of streams whose value passes `matches`; with `equals`, only that value is looked at. */
  collect(matches: (value: string) => boolean, equals: string | undefined, infos: readonly StreamInfo[], out: number[]): void {
    const byValue = this.byValue;
    if (byValue !== undefined) {
      if (equals !== undefined) {
        const ordinals = byValue.get(equals);
        if (typeof ordinals === 'number') out.push(ordinals);
        else if (ordinals !== undefined) for (const ordinal of ordinals) out.push(ordinal);
        return;
      }
      for (const [value, ordinals] of byValue) {
        if (!matches(value)) continue;
        if (typeof ordinals === 'number') out.push(ordinals);
        else for (const ordinal of ordinals) out.push(ordinal);
      }
      return;
    }
    const name = this.name;
    if (equals !== undefined) {
      const hash = mixedStringHash(equals);
      for (let entry = this.buckets[hash & (this.buckets.length - 1)]!; entry !== 0; entry = this.next[entry - 1]!) {
        const ordinal = entry - 1;
        if (this.valueHashes[ordinal] === hash && infos[ordinal]!.labels[name] === equals) out.push(ordinal);
      }
      return;
    }
    // Most values of such a name belong to one stream: testing each stream's value is testing each value.
    for (let b = 0; b < this.buckets.length; b++) {
      for (let entry = this.buckets[b]!; entry !== 0; entry = this.next[entry - 1]!) {
        if (matches(infos[entry - 1]!.labels[name]!)) out.push(entry - 1);
      }
    }
  }
}

export class LabelIndex {
  /** By ordinal: each stream's info and time range (min > max until an entry was noted). */
  private readonly infos: StreamInfo[] = [];
  private readonly minTimesNs: bigint[] = [];
  private readonly maxTimesNs: bigint[] = [];
  private idHashes = new Int32Array(INITIAL_SLOTS);
  /** Open addressing by id hash, linear probing, at most half full: ordinal + 1 (0: empty). */
  private idSlots = new Int32Array(INITIAL_SLOTS);
  private readonly postings = new Map<string, NamePostings>();
  /** Bumped on every new stream, so callers can tell whether to persist. */
  version = 0;

  /** Adds a stream (no time range yet); false when it was there. */
  add(info: StreamInfo): boolean {
    const hash = idHash(info.id);
    if (this.ordinalOf(info.id, hash) >= 0) return false;
    this.addStream(info, hash);
    return true;
  }

  /** Adds the stream if new and widens its time range to take [minTimeNs, maxTimeNs]. */
  note(info: StreamInfo, minTimeNs: bigint, maxTimeNs: bigint): void {
    const hash = idHash(info.id);
    let ordinal = this.ordinalOf(info.id, hash);
    if (ordinal < 0) ordinal = this.addStream(info, hash);
    if (minTimeNs < this.minTimesNs[ordinal]!) this.minTimesNs[ordinal] = minTimeNs;
    if (maxTimeNs > this.maxTimesNs[ordinal]!) this.maxTimesNs[ordinal] = maxTimeNs;
  }

  info(id: string): StreamInfo | undefined {
    const ordinal = this.ordinalOf(id, idHash(id));
    return ordinal < 0 ? undefined : this.infos[ordinal];
  }

  /** The stream's time range in this partition, once any of its entries was noted. */
  timeRange(id: string): StreamTimeRange | undefined {
    const ordinal = this.ordinalOf(id, idHash(id));
    if (ordinal < 0) return undefined;
    const minTimeNs = this.minTimesNs[ordinal]!;
    const maxTimeNs = this.maxTimesNs[ordinal]!;
    return minTimeNs > maxTimeNs ? undefined : { minTimeNs, maxTimeNs };
  }

  get size(): number {
    return this.infos.length;
  }

  private ordinalOf(id: string, hash: number): number {
    const slots = this.idSlots;
    const mask = slots.length - 1;
    // Bounded: the table is at most half full, so probing meets an empty slot.
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = slots[slot]!;
      if (entry === 0) return -1;
      if (this.idHashes[entry - 1] === hash && this.infos[entry - 1]!.id === id) return entry - 1;
    }
  }

  /** Adds a stream that is not in the index; returns its ordinal. */
  private addStream(info: StreamInfo, hash: number): number {
    const ordinal = this.infos.length;
    this.infos.push(info);
    this.minTimesNs.push(NO_MIN_NS);
    this.maxTimesNs.push(NO_MAX_NS);
    this.idHashes = grownToHold(this.idHashes, ordinal);
    this.idHashes[ordinal] = hash;
    if ((ordinal + 1) * 2 > this.idSlots.length) this.growIdSlots();
    else this.placeId(this.idSlots, ordinal, hash);
    for (const name in info.labels) {
      let postings = this.postings.get(name);
      if (postings === undefined) {
        postings = new NamePostings(name);
        this.postings.set(name, postings);
      }
      postings.add(ordinal, info.labels[name]!);
    }
    this.version++;
    return ordinal;
  }

  private placeId(slots: Int32Array, ordinal: number, hash: number): void {
    const mask = slots.length - 1;
    let slot = hash & mask;
    // Bounded: the table is at most half full.
    while (slots[slot] !== 0) slot = (slot + 1) & mask;
    slots[slot] = ordinal + 1;
  }

  /** Doubles the id table and places every ordinal again (from the kept hashes: no id is read). */
  private growIdSlots(): void {
    const slots = new Int32Array(this.idSlots.length * 2);
    for (let ordinal = 0; ordinal < this.infos.length; ordinal++) this.placeId(slots, ordinal, this.idHashes[ordinal]!);
    this.idSlots = slots;
  }

  /** Ids of streams matching every matcher. No matchers: every stream. */
  match(matchers: readonly CompiledMatcher[]): Set<string> {
    let result: number[] | undefined;
    // Positive, selective matchers first keeps the intermediate sets small.
    const ordered = [...matchers].sort((a, b) => Number(a.matchesEmpty) - Number(b.matchesEmpty));
    for (const matcher of ordered) {
      result = this.matchOne(matcher, result);
      if (result.length === 0) break;
    }
    const ids = new Set<string>();
    if (result === undefined) for (const info of this.infos) ids.add(info.id);
    else for (const ordinal of result) ids.add(this.infos[ordinal]!.id);
    return ids;
  }

  /** Ordinals, ascending, of the streams among `within` (ascending; all when undefined) that pass the matcher. */
  private matchOne(matcher: CompiledMatcher, within: number[] | undefined): number[] {
    const matched: number[] = [];
    if (matcher.matchesEmpty) {
      // Streams without the label match too: go through the candidates.
      const name = matcher.name;
      const count = within === undefined ? this.infos.length : within.length;
      for (let i = 0; i < count; i++) {
        const ordinal = within === undefined ? i : within[i]!;
        const value = this.infos[ordinal]!.labels[name];
        if (value === undefined || matcher.matches(value)) matched.push(ordinal);
      }
      return matched;
    }
    const postings = this.postings.get(matcher.name);
    if (postings === undefined) return matched;
    postings.collect(matcher.matches, matcher.equals, this.infos, matched);
    // A stream has one value per name: the lists of distinct values never share an ordinal.
    matched.sort((a, b) => a - b);
    if (within === undefined) return matched;
    const both: number[] = [];
    let i = 0;
    let j = 0;
    while (i < matched.length && j < within.length) {
      if (matched[i]! < within[j]!) i++;
      else if (matched[i]! > within[j]!) j++;
      else {
        both.push(matched[i]!);
        i++;
        j++;
      }
    }
    return both;
  }

  serialize(): Buffer {
    const streams: Array<[string, Labels]> = [];
    for (const info of this.infos) streams.push([info.id, info.labels]);
    return sealObject(Buffer.from(JSON.stringify({ version: 1, streams })));
  }

  static deserialize(bytes: Buffer, into: LabelIndex = new LabelIndex()): LabelIndex {
    const parsed = JSON.parse(openSealedObject(bytes).toString('utf8')) as { version: number; streams: Array<[string, Labels]> };
    if (parsed.version !== 1 || !Array.isArray(parsed.streams)) throw new Error('label index: unknown format');
    for (const [id, labels] of parsed.streams) into.add({ id, labels });
    return into;
  }
}
