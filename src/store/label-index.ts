// Per-partition inverted index: label name → value → stream ids, plus each stream's labels.
// Persisted per partition as JSON (the stream list; the inverted maps are rebuilt on load), sealed
// with a checksum.

import { openSealedObject, sealObject } from './checksum.ts';
import type { CompiledMatcher } from './label-matcher.ts';
import type { Labels, StreamInfo } from './types.ts';

export class LabelIndex {
  /**
   * name → value → the ids of streams with it: one id as a plain string, an array from the second on
   * (a stream is added once, so the array holds no repeats). Most values (pod names, ranks of one
   * job) belong to one stream, and a Set each made the index most of the memory and replay time of
   * 100k-stream tenants; values shared by every stream (a namespace) then held a 100k-entry Set,
   * three times an array's memory and a fifth of WAL replay time (bench/store-streams-bench.ts).
   */
  private readonly postings = new Map<string, Map<string, string | string[]>>();
  readonly streams = new Map<string, StreamInfo>();
  /** Bumped on every new stream, so callers can tell whether to persist. */
  version = 0;

  add(info: StreamInfo): boolean {
    if (this.streams.has(info.id)) return false;
    this.streams.set(info.id, info);
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
    return true;
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
        const value = this.streams.get(id)!.labels[matcher.name];
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
    for (const info of this.streams.values()) streams.push([info.id, info.labels]);
    return sealObject(Buffer.from(JSON.stringify({ version: 1, streams })));
  }

  static deserialize(bytes: Buffer, into: LabelIndex = new LabelIndex()): LabelIndex {
    const parsed = JSON.parse(openSealedObject(bytes).toString('utf8')) as { version: number; streams: Array<[string, Labels]> };
    if (parsed.version !== 1 || !Array.isArray(parsed.streams)) throw new Error('label index: unknown format');
    for (const [id, labels] of parsed.streams) into.add({ id, labels });
    return into;
  }
}
