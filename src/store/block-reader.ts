// Reading located blocks from any thread: the LogQL engine's scan workers open one of these from
// the plain-data config the store hands out, so they need neither the store nor the object store.
// A location with `mergeWith` stands for overlapping blocks of one stream; they are read and merged
// without exact duplicates, as the store's own `load()` does.
//
// A block that fails its checksum or cannot be decoded is not an error for the query that reads it:
// the reader returns it empty, with `unreadable` saying which part and why, so the query answers with
// the readable blocks and a warning (Loki's `warnings`). A data object that is gone (deleted by hand,
// an S3 lifecycle rule) is the same kind of loss. Compaction reads through `readBlock` instead, which
// throws: it must never rewrite a part without the entries it could not read.

import { openObjectStore } from '../objstore/open-object-store.ts';
import { ObjectNotFoundError, type ObjectStore } from '../objstore/object-store.ts';
import { formatLabels } from '../push/labels.ts';
import { BlockDecodeError } from './block.ts';
import { mergeBlockData } from './block-merge.ts';
import { dayName, parseObjectKey } from './object-keys.ts';
import { readBlock } from './part-reader.ts';
import type { BlockData, BlockLocation, BlockReaderConfig, StreamInfo } from './types.ts';

/** Unreadable blocks logged by this process; past this many, further ones are not logged again. */
const MAX_LOGGED_UNREADABLE = 1024;
const loggedUnreadable = new Set<string>();

export interface BlockReader {
  read(location: BlockLocation, stream: StreamInfo): Promise<BlockData>;
}

export function openBlockReader(config: BlockReaderConfig): BlockReader {
  return blockReaderOver(openObjectStore(config.objectStore));
}

export function blockReaderOver(objectStore: ObjectStore): BlockReader {
  const readOne = (location: BlockLocation, stream: StreamInfo): Promise<BlockData> =>
    readBlock(objectStore, location, stream).catch((error: unknown) => {
      if (!(error instanceof BlockDecodeError) && !(error instanceof ObjectNotFoundError)) throw error;
      return unreadableBlock(location, stream, error);
    });
  return {
    async read(location, stream) {
      if (location.mergeWith === undefined || location.mergeWith.length === 0) return readOne(location, stream);
      const blocks = await Promise.all([location, ...location.mergeWith].map((part) => readOne(part, stream)));
      return mergeBlockData(blocks, stream);
    },
  };
}

/** An empty block standing for one that could not be read, with the warning that says so. */
export function unreadableBlock(location: BlockLocation, stream: StreamInfo, error: Error): BlockData {
  const parsed = parseObjectKey(location.objectKey);
  const part = parsed?.partId === undefined ? location.objectKey : `part ${parsed.partId} (tenant ${parsed.tenant}, ${dayName(parsed.day)})`;
  const message = `${part}: the block of stream ${formatLabels(stream.labels)} at byte ${location.offset} is unreadable and its entries are missing from this answer: ${error.message}`;
  logOnce(`${location.objectKey}@${location.offset}`, message);
  return emptyBlock(stream, message);
}

/**
 * An empty block standing for a whole part whose index could not be read: which streams it held is
 * unknown, so it carries no stream's labels, only the warning for the query over its day.
 */
export function unreadablePartBlock(tenant: string, day: number, partId: string, reason: string): BlockData {
  const message = `part ${partId} (tenant ${tenant}, ${dayName(day)}): its index is unreadable, so entries it holds may be missing from this answer (those still in the WAL were replayed): ${reason}`;
  logOnce(`${tenant}/${day}/${partId}`, message);
  return emptyBlock({ id: `unreadable-part-${partId}`, labels: {} }, message);
}

function emptyBlock(stream: StreamInfo, warning: string): BlockData {
  return { stream, timestampsNs: new BigInt64Array(0), lines: Buffer.alloc(0), lineEnds: new Uint32Array(0), unreadable: [warning] };
}

function logOnce(key: string, message: string): void {
  if (loggedUnreadable.has(key) || loggedUnreadable.size >= MAX_LOGGED_UNREADABLE) return;
  loggedUnreadable.add(key);
  console.error(`rankscope store: ${message}`);
}
