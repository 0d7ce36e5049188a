// Per-partition inverted index: label name → value → stream ids, plus each stream's labels and its
// time range within the partition. Persisted per partition as JSON (the stream list; the inverted
// maps are rebuilt on load, the time ranges come from the parts' blocks), sealed with a checksum.

import { openSealedObject, sealObject } from './checksum.ts';
import type { CompiledMatcher } from './label-matcher.ts';
import type { Labels, StreamInfo } from './types.ts';

/** A stream of the index: one object and one map entry per stream (its time range lived in a second map). */
interface IndexedStream {
  readonly info: StreamInfo;
  /** minTimeNs > maxTimeNs until a block or head entry of the stream is noted (streams read from a persisted index). */
  minTimeNs: bigint;
  maxTimeNs: bigint;
}

const NO_MIN_NS = 0x7fffffffffffffffn;
const NO_MAX_NS = -0x8000000000000000n;

export interface StreamTimeRange {
  minTimeNs: bigint;
  maxTimeNs: bigint;
}

export class LabelIndex {
  /**
   * name → value → the ids of streams with it: one id as a plain string, an array from the second on
   * (a stream is added once, so the array holds no repeats). Most values (pod names, ranks of one
   * job) belong to one stream, and a Set each made the index most of the memory and replay time of
   * 100k-stream tenants; values shared by every stream (a namespace) then held a 100k-entry Set,
   * three times an array's memory and a fifth of WAL replay time (bench/store-streams-bench.ts).
   */
  private readonly postings = new Map<string, Map<string, string | string[]>>();
  private readonly streams = new Map<string, IndexedStream>();
  /** Bumped on every new stream, so callers can tell whether to persist. */
  version = 0;

  /** Adds a stream (no time range yet); false when it was there. */
  add(info: StreamInfo): boolean {
    if (this.streams.has(info.id)) return false;
    this.addStream(info);
    return true;
  }

  /** Adds the stream if new and widens its time range to take [minTimeNs, maxTimeNs]. */
  note(info: StreamInfo, minTimeNs: bigint, maxTimeNs: bigint): void {
    const stream = this.streams.get(info.id) ?? this.addStream(info);
    if (minTimeNs < stream.minTimeNs) stream.minTimeNs = minTimeNs;
    if (maxTimeNs > stream.maxTimeNs) stream.maxTimeNs = maxTimeNs;
  }

  info(id: string): StreamInfo | undefined {
    return this.streams.get(id)?.info;
  }

  /** The stream's time range in this partition, once any of its entries was noted. */
  timeRange(id: string): StreamTimeRange | undefined {
    const stream = this.streams.get(id);
    return stream === undefined || stream.minTimeNs > stream.maxTimeNs ? undefined : stream;
  }

  get size(): number {
    return this.streams.size;
  }

  /** Adds a stream that is not in the index. */
  private addStream(info: StreamInfo): IndexedStream {
    const stream: IndexedStream = { info, minTimeNs: NO_MIN_NS, maxTimeNs: NO_MAX_NS };
    this.streams.set(info.id, stream);
    for (const name in info.labels) {
      let values = this.postings.get(name);
      if (values === undefined) {
        values = new Map();
        this.postings.set(name, values);
      }
      const value = info.labels[name]!;
      const ids = values.get(value);
      if (ids === undefined) values.set(value, info.id);
      else if (typeof ids === 'string') values.set(value, [ids, info.id]);
      else ids.push(info.id);
    }
    this.version++;
    return stream;
  }

  /** Ids of streams matching every matcher. No matchers: every stream. */
  match(matchers: readonly CompiledMatcher[]): Set<string> {
    let result: Set<string> | undefined;
    // Positive, selective matchers first keeps the intermediate sets small.
    const ordered = [...matchers].sort((a, b) => Number(a.matchesEmpty) - Number(b.matchesEmpty));
    for (const matcher of ordered) {
      const ids = this.matchOne(matcher, result);
      result = ids;
      if (result.size === 0) return result;
    }
    return result ?? new Set(this.streams.keys());
  }

  private matchOne(matcher: CompiledMatcher, within: Set<string> | undefined): Set<string> {
    const values = this.postings.get(matcher.name);
    const matched = new Set<string>();
    if (matcher.matchesEmpty) {
      // Streams without the label match too: start from the candidates and drop non-matching values.
      const candidates = within ?? new Set(this.streams.keys());
      for (const id of candidates) {
        const value = this.streams.get(id)!.info.labels[matcher.name];
        if (value === undefined || matcher.matches(value)) matched.add(id);
      }
      return matched;
    }
    if (values === undefined) return matched;
    for (const [value, ids] of values) {
      if (!matcher.matches(value)) continue;
      if (typeof ids === 'string') {
        if (within === undefined || within.has(ids)) matched.add(ids);
      } else {
        for (const id of ids) if (within === undefined || within.has(id)) matched.add(id);
      }
    }
    return matched;
  }

  serialize(): Buffer {
    const streams: Array<[string, Labels]> = [];
    for (const { info } of this.streams.values()) streams.push([info.id, info.labels]);
    return sealObject(Buffer.from(JSON.stringify({ version: 1, streams })));
  }

  static deserialize(bytes: Buffer, into: LabelIndex = new LabelIndex()): LabelIndex {
    const parsed = JSON.parse(openSealedObject(bytes).toString('utf8')) as { version: number; streams: Array<[string, Labels]> };
    if (parsed.version !== 1 || !Array.isArray(parsed.streams)) throw new Error('label index: unknown format');
    for (const [id, labels] of parsed.streams) into.add({ id, labels });
    return into;
  }
}
