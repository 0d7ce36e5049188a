// One UTC day of one tenant: its parts, its label index, each stream's time range within the day, the
// highest WAL seq per stream already persisted in its parts (for idempotent WAL replay), and the parts
// whose index could not be read (left out, and named in the warnings of every query over the day).

import { LabelIndex } from './label-index.ts';
import { NS_PER_DAY } from './object-keys.ts';
import type { PartMeta } from './part-index.ts';
import type { StreamInfo } from './types.ts';

export class Partition {
  readonly tenant: string;
  readonly day: number;
  readonly startNs: bigint;
  /** Exclusive. */
  readonly endNs: bigint;
  readonly labelIndex = new LabelIndex();
  readonly persistedSeq = new Map<string, bigint>();
  parts: PartMeta[] = [];
  /**
   * Parts left out because their index is unreadable: part id → why. Which streams and times they
   * held is unknown, so every query over this day answers with a warning naming them.
   */
  readonly unreadableParts = new Map<string, string>();
  /** labelIndex.version last written to the object store. */
  persistedLabelVersion = 0;

  constructor(tenant: string, day: number) {
    this.tenant = tenant;
    this.day = day;
    this.startNs = BigInt(day) * NS_PER_DAY;
    this.endNs = this.startNs + NS_PER_DAY;
  }

  noteStream(info: StreamInfo, minTimeNs: bigint, maxTimeNs: bigint): void {
    this.labelIndex.note(info, minTimeNs, maxTimeNs);
  }

  addPart(part: PartMeta): void {
    this.parts.push(part);
    for (const stream of part.streams.values()) {
      const known = this.persistedSeq.get(stream.info.id);
      if (known === undefined || stream.walSeq > known) this.persistedSeq.set(stream.info.id, stream.walSeq);
    }
    for (const block of part.blocks) this.noteStream(part.streams.get(block.streamId)!.info, block.minTimeNs, block.maxTimeNs);
  }

  /** Removes parts by id (after compaction replaced them). persistedSeq only grows, so it stays. */
  removeParts(partIds: ReadonlySet<string>): PartMeta[] {
    const removed = this.parts.filter((part) => partIds.has(part.partId));
    this.parts = this.parts.filter((part) => !partIds.has(part.partId));
    return removed;
  }

  isPersisted(streamId: string, seq: bigint): boolean {
    const persisted = this.persistedSeq.get(streamId);
    return persisted !== undefined && seq <= persisted;
  }
}
