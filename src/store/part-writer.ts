// Writes one immutable part: blocks of one stream each (about `blockTargetBytes` raw), back to back in
// a data object, then the part index object. The index is written last: a part exists only once its
// index does, so a crash mid-write leaves an orphaned data object that open() removes.

import { randomBytes } from 'node:crypto';
import type { ObjectStore } from '../objstore/object-store.ts';
import { encodeBlock, type BlockColumns } from './block.ts';
import { partDataKey, partIndexKey } from './object-keys.ts';
import { encodePartIndex, finishPartMeta, type BlockMeta, type PartMeta, type PartStreamMeta } from './part-index.ts';
import { buildTokenFilter } from './token-filter.ts';
import type { StreamInfo } from './types.ts';

/** Part ids sort by creation time. */
export function newPartId(): string {
  return `${Date.now().toString().padStart(14, '0')}-${randomBytes(6).toString('hex')}`;
}

export class PartBuilder {
  readonly partId = newPartId();
  readonly tenant: string;
  readonly day: number;
  private readonly blockTargetBytes: number;
  private readonly chunks: Buffer[] = [];
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
  addStream(info: StreamInfo, walSeq: bigint, columns: BlockColumns): void {
    const count = columns.timestampsNs.length;
    const existing = this.streams.get(info.id);
    this.streams.set(info.id, { info, walSeq: existing !== undefined && existing.walSeq > walSeq ? existing.walSeq : walSeq });
    let first = 0;
    while (first < count) {
      const startByte = first === 0 ? 0 : columns.lineEnds[first - 1]!;
      let last = first + 1;
      while (last < count && columns.lineEnds[last - 1]! - startByte < this.blockTargetBytes) last++;
      this.addBlock(info, sliceColumns(columns, first, last));
      first = last;
    }
  }

  private addBlock(info: StreamInfo, columns: BlockColumns): void {
    const encoded = encodeBlock(columns);
    const count = columns.timestampsNs.length;
    this.blocks.push({
      streamId: info.id,
      minTimeNs: columns.timestampsNs[0]!,
      maxTimeNs: columns.timestampsNs[count - 1]!,
      entryCount: count,
      rawBytes: columns.lines.length,
      offset: this.dataBytes,
      length: encoded.length,
      filter: buildTokenFilter(columns.lines, columns.lineEnds),
    });
    this.chunks.push(encoded);
    this.dataBytes += encoded.length;
  }

  /** Writes data then index. Returns the part's metadata, as a reader would load it. */
  async write(objectStore: ObjectStore, replaces: string[] = []): Promise<PartMeta> {
    await objectStore.put(partDataKey(this.tenant, this.day, this.partId), Buffer.concat(this.chunks, this.dataBytes));
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

export function sliceColumns(columns: BlockColumns, first: number, last: number): BlockColumns {
  if (first === 0 && last === columns.timestampsNs.length) return columns;
  const startByte = first === 0 ? 0 : columns.lineEnds[first - 1]!;
  const lineEnds = new Uint32Array(last - first);
  for (let i = first; i < last; i++) lineEnds[i - first] = columns.lineEnds[i]! - startByte;
  const sliced: BlockColumns = {
    timestampsNs: columns.timestampsNs.subarray(first, last),
    lines: columns.lines.subarray(startByte, columns.lineEnds[last - 1]!),
    lineEnds,
  };
  if (columns.structuredMetadata !== undefined) {
    const metadata = columns.structuredMetadata.slice(first, last);
    if (metadata.some((pairs) => pairs !== undefined)) sliced.structuredMetadata = metadata;
  }
  return sliced;
}
