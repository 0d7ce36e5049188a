// Writes one immutable part: blocks of one stream each (about `blockTargetBytes` raw), back to back in
// a data object, then the part index object. The index is written last: a part exists only once its
// index does, so a crash mid-write leaves an orphaned data object that open() removes.

import { randomBytes } from 'node:crypto';
import type { ObjectStore } from '../objstore/object-store.ts';
import type { BlockColumns } from './block.ts';
import type { BlockEncoderPool } from './block-encoder-pool.ts';
import { encodeStreamBlocks } from './block-encoding.ts';
import { partDataKey, partIndexKey } from './object-keys.ts';
import { releaseOwnedMemory } from './owned-buffer.ts';
import { encodePartIndex, finishPartMeta, type BlockMeta, type PartMeta, type PartStreamMeta } from './part-index.ts';
import type { EncodedBlock } from './block-encoding.ts';
import { encodeReferenceFrames } from './reference-frames.ts';
import { encodeGroupFrames, memberColumns, MIN_GROUP_BYTES, type GroupLayout, type GroupMember } from './stream-group.ts';
import type { StreamInfo } from './types.ts';
import { formatLabels } from '../push/labels.ts';

/** One stream's sorted entries for a part, with the highest WAL seq they come from. */
export interface PartStreamInput {
  info: StreamInfo;
  walSeq: bigint;
  columns: BlockColumns;
}

const isDigit = (code: number): boolean => code >= 48 && code <= 57;

/**
 * Orders strings with runs of digits compared by value (rank=2 before rank=10). Not
 * String.localeCompare's `numeric` option: its ICU collator maps ~3 MB of locale data into the
 * server at the first cut (peak RSS on the 244 MB bench log 148 MB against 145 MB).
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(j);
    if (isDigit(x) && isDigit(y)) {
      let iEnd = i;
      let jEnd = j;
      while (iEnd < a.length && isDigit(a.charCodeAt(iEnd))) iEnd++;
      while (jEnd < b.length && isDigit(b.charCodeAt(jEnd))) jEnd++;
      // Leading zeros aside, the longer run is the larger number; equal lengths compare as text.
      while (i < iEnd - 1 && a.charCodeAt(i) === 48) i++;
      while (j < jEnd - 1 && b.charCodeAt(j) === 48) j++;
      if (iEnd - i !== jEnd - j) return iEnd - i - (jEnd - j);
      for (; i < iEnd; i++, j++) if (a.charCodeAt(i) !== b.charCodeAt(j)) return a.charCodeAt(i) - b.charCodeAt(j);
      continue;
    }
    if (x !== y) return x - y;
    i++;
    j++;
  }
  return a.length - i - (b.length - j);
}

/** One stream group member's sorted entries for a part (see addGroup). */
export interface PartGroupMember {
  info: StreamInfo;
  walSeq: bigint;
  member: GroupMember;
}

/**
 * A shared frame to copy into a part as it is (compaction), with its members' blocks: `offset` of
 * each block is relative to the frame's first byte in the source, as is the frame's own (0).
 */
export interface FrameUnit {
  frame: Uint8Array;
  blocks: Array<{ info: StreamInfo; walSeq: bigint; block: EncodedBlock }>;
}

/** Part ids sort by creation time. */
export function newPartId(): string {
  return `${Date.now().toString().padStart(14, '0')}-${randomBytes(6).toString('hex')}`;
}

export class PartBuilder {
  readonly partId = newPartId();
  readonly tenant: string;
  readonly day: number;
  private readonly blockTargetBytes: number;
  private readonly chunks: Uint8Array[] = [];
  private dataBytes = 0;
  private readonly blocks: BlockMeta[] = [];
  private readonly streams = new Map<string, PartStreamMeta>();

  constructor(tenant: string, day: number, blockTargetBytes: number) {
    this.tenant = tenant;
    this.day = day;
    this.blockTargetBytes = blockTargetBytes;
  }

  get isEmpty(): boolean {
    return this.blocks.length === 0;
  }

  /** Adds one stream's sorted entries; splits them into blocks of about blockTargetBytes raw. */
  async addStream(info: StreamInfo, walSeq: bigint, columns: BlockColumns, encoder?: BlockEncoderPool): Promise<void> {
    if (columns.timestampsNs.length === 0) {
      this.noteStream(info, walSeq);
      return;
    }
    this.addEncodedBlocks(info, walSeq, encoder !== undefined ? await encoder.encode(columns, this.blockTargetBytes) : encodeStreamBlocks(columns, this.blockTargetBytes));
  }

  /**
   * Adds the streams of one group (stream-group.ts): their lines as shared frames of about
   * `frameTargetBytes` raw, each member with a block per frame. A group too small to gain from a
   * frame, or of one stream, is added stream by stream. A stream may appear more than once, with
   * entries of disjoint time ranges (compaction's merged runs).
   */
  addGroup(members: readonly PartGroupMember[], frameTargetBytes: number, layout: GroupLayout, scratch?: (bytes: number) => Buffer | undefined): void {
    const nonEmpty = members.filter(({ member }) => member.timestampsNs.length > 0);
    for (const { info, walSeq } of members) this.noteStream(info, walSeq);
    let rawBytes = 0;
    for (const { member } of nonEmpty) rawBytes += member.lineEnds[member.lineEnds.length - 1]!;
    if (nonEmpty.length < 2 || rawBytes < MIN_GROUP_BYTES) {
      for (const { info, walSeq, member } of nonEmpty) this.addEncodedBlocks(info, walSeq, encodeStreamBlocks(memberColumns(member), this.blockTargetBytes));
      return;
    }
    if (layout === 'reference') {
      // Label order (numbers by value), so the same stream (rank 0 of a job, the one that prints the
      // most and is read the most) is the reference in every cut; see encodeReferenceFrames.
      const keys = new Map(nonEmpty.map((entry) => [entry, formatLabels(entry.info.labels)]));
      nonEmpty.sort((a, b) => naturalCompare(keys.get(a)!, keys.get(b)!));
    }
    const groupMembers = nonEmpty.map(({ member }) => member);
    for (const frame of layout === 'reference' ? encodeReferenceFrames(groupMembers, frameTargetBytes) : encodeGroupFrames(groupMembers, frameTargetBytes, scratch)) {
      this.addFrameUnit({ frame: frame.bytes, blocks: frame.blocks.map(({ member, block }) => ({ info: nonEmpty[member]!.info, walSeq: nonEmpty[member]!.walSeq, block })) });
    }
  }

  /** Adds a shared frame and its members' blocks (already encoded), frame first. */
  addFrameUnit(unit: FrameUnit): void {
    const frameOffset = this.dataBytes;
    this.chunks.push(unit.frame);
    this.dataBytes += unit.frame.length;
    for (const { info, walSeq, block } of unit.blocks) {
      this.noteStream(info, walSeq);
      this.pushBlock(info, block, { frameOffset, frameLength: unit.frame.length });
    }
  }

  /**
   * Adds blocks already encoded, after any the stream has here: compaction copies a block whose
   * entries no other block of the merge can overlap as it is, without decoding it.
   */
  addEncodedBlocks(info: StreamInfo, walSeq: bigint, blocks: readonly EncodedBlock[]): void {
    this.noteStream(info, walSeq);
    for (const block of blocks) this.pushBlock(info, block);
  }

  private pushBlock(info: StreamInfo, block: EncodedBlock, frame?: { frameOffset: number; frameLength: number }): void {
    this.blocks.push({
      streamId: info.id,
      minTimeNs: block.minTimeNs,
      maxTimeNs: block.maxTimeNs,
      entryCount: block.entryCount,
      rawBytes: block.rawBytes,
      offset: this.dataBytes,
      length: block.bytes.length,
      filter: block.filter,
      ...frame,
    });
    this.chunks.push(block.bytes);
    this.dataBytes += block.bytes.length;
  }

  private noteStream(info: StreamInfo, walSeq: bigint): void {
    const existing = this.streams.get(info.id);
    this.streams.set(info.id, { info, walSeq: existing !== undefined && existing.walSeq > walSeq ? existing.walSeq : walSeq });
  }

  /**
   * Writes data then index. Returns the part's metadata, as a reader would load it. The encoded
   * blocks and the data object are freed as soon as they are written (the object stores write the
   * bytes and keep no reference): a cut's blocks outlive a few young collections, so they waited
   * for V8's next full one, 31 MB of each over the 244 MB bench log (bench/buffer-allocation-sites.mjs).
   */
  async write(objectStore: ObjectStore, replaces: string[] = []): Promise<PartMeta> {
    const data = Buffer.concat(this.chunks, this.dataBytes);
    for (const chunk of this.chunks.splice(0)) releaseOwnedMemory(chunk);
    await objectStore.put(partDataKey(this.tenant, this.day, this.partId), data);
    releaseOwnedMemory(data);
    const meta = {
      partId: this.partId,
      tenant: this.tenant,
      day: this.day,
      replaces,
      streams: this.streams,
      blocks: this.blocks,
      dataBytes: this.dataBytes,
    };
    const index = encodePartIndex({ ...finishPartMeta({ ...meta, indexBytes: 0 }) });
    await objectStore.put(partIndexKey(this.tenant, this.day, this.partId), index);
    return finishPartMeta({ ...meta, indexBytes: index.length });
  }
}

export { sliceColumns } from './block-slice.ts';
