// Reading located blocks from any thread: the LogQL engine's scan workers open one of these from
// the plain-data config the store hands out, so they need neither the store nor the object store.
// A location with `mergeWith` stands for overlapping blocks of one stream; they are read and merged
// without exact duplicates, as the store's own `load()` does.

import { openObjectStore } from '../objstore/open-object-store.ts';
import type { ObjectStore } from '../objstore/object-store.ts';
import { mergeBlockData } from './block-merge.ts';
import { readBlock } from './part-reader.ts';
import type { BlockData, BlockLocation, BlockReaderConfig, StreamInfo } from './types.ts';

export interface BlockReader {
  read(location: BlockLocation, stream: StreamInfo): Promise<BlockData>;
}

export function openBlockReader(config: BlockReaderConfig): BlockReader {
  return blockReaderOver(openObjectStore(config.objectStore));
}

export function blockReaderOver(objectStore: ObjectStore): BlockReader {
  return {
    async read(location, stream) {
      if (location.mergeWith === undefined || location.mergeWith.length === 0) return readBlock(objectStore, location, stream);
      const blocks = await Promise.all([location, ...location.mergeWith].map((part) => readBlock(objectStore, part, stream)));
      return mergeBlockData(blocks, stream);
    },
  };
}
