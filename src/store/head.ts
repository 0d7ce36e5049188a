// The in-memory head: per stream, the entries acknowledged since the last cut. Entries may arrive in
// any order; the head remembers whether they are still sorted and sorts (stably) only when read or
// cut. Entries are kept as the decoded PushEntry objects (no copy on the hot path).

import { columnsFromEntries } from './block.ts';
import type { BlockData, PushEntry, StreamInfo } from './types.ts';

export class StreamHead {
  readonly tenant: string;
  readonly info: StreamInfo;
  entries: PushEntry[] = [];
  /** Approximate raw size: UTF-16 length of lines (exact for ASCII). */
  rawBytes = 0;
  sorted = true;
  minTimeNs = 0n;
  maxTimeNs = 0n;
  /** Lowest and highest WAL sequence numbers whose entries this head holds. */
  minSeq = -1n;
  maxSeq = -1n;
  /** When the first entry of this head arrived (wall clock), for the age-based cut. */
  firstAppendMs = 0;
  private version = 0;
  private cachedVersion = -1;
  private cachedData: BlockData | undefined;

  constructor(tenant: string, info: StreamInfo) {
    this.tenant = tenant;
    this.info = info;
  }

  add(entries: readonly PushEntry[], seq: bigint, nowMs: number): void {
    if (entries.length === 0) return;
    const target = this.entries;
    if (target.length === 0) {
      this.minTimeNs = entries[0]!.timestampNs;
      this.maxTimeNs = entries[0]!.timestampNs;
      this.minSeq = seq;
      this.firstAppendMs = nowMs;
    }
    let last = target.length > 0 ? target[target.length - 1]!.timestampNs : entries[0]!.timestampNs;
    let sorted = this.sorted;
    let minTimeNs = this.minTimeNs;
    let maxTimeNs = this.maxTimeNs;
    let rawBytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const timestampNs = entry.timestampNs;
      if (timestampNs < last) sorted = false;
      last = timestampNs;
      if (timestampNs < minTimeNs) minTimeNs = timestampNs;
      if (timestampNs > maxTimeNs) maxTimeNs = timestampNs;
      rawBytes += entry.line.length;
      target.push(entry);
    }
    this.sorted = sorted;
    this.minTimeNs = minTimeNs;
    this.maxTimeNs = maxTimeNs;
    this.rawBytes += rawBytes;
    this.maxSeq = seq;
    this.version++;
  }

  /** Entries sorted by timestamp (stable: equal timestamps keep arrival order). */
  sortedEntries(): PushEntry[] {
    if (!this.sorted) {
      this.entries.sort(compareEntries);
      this.sorted = true;
    }
    return this.entries;
  }

  /** The head as one block, for queries. Cached until the next append. */
  toBlockData(): BlockData {
    if (this.cachedData !== undefined && this.cachedVersion === this.version) return this.cachedData;
    const columns = columnsFromEntries(this.sortedEntries());
    const data: BlockData = { stream: this.info, ...columns };
    this.cachedData = data;
    this.cachedVersion = this.version;
    return data;
  }
}

export function compareEntries(a: PushEntry, b: PushEntry): number {
  return a.timestampNs < b.timestampNs ? -1 : a.timestampNs > b.timestampNs ? 1 : 0;
}
