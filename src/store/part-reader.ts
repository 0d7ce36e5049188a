// Reads parts: loads a part index (cached by the caller for the life of the part) and loads and
// decodes single blocks by byte range, so only the blocks a query picked are fetched.

import type { ObjectStore } from '../objstore/object-store.ts';
import { BlockDecodeError, decodeBlock } from './block.ts';
import { partDataKey, partIndexKey } from './object-keys.ts';
import { decodePartIndex, PartIndexError, type BlockMeta, type PartMeta } from './part-index.ts';
import type { BlockData, BlockLocation, StreamInfo } from './types.ts';

/** Loads a part index; one that names another tenant, day or part than its key is a PartIndexError. */
export async function readPartIndex(objectStore: ObjectStore, tenant: string, day: number, partId: string): Promise<PartMeta> {
  const key = partIndexKey(tenant, day, partId);
  const meta = decodePartIndex(await objectStore.get(key), key);
  // The store files a part under the tenant and day its index names: a mismatch must not move it.
  if (meta.tenant !== tenant || meta.day !== day || meta.partId !== partId) {
    throw new PartIndexError(key, `names tenant ${JSON.stringify(meta.tenant)}, day ${meta.day}, part ${meta.partId}, not the ones of its key`);
  }
  return meta;
}

export function blockLocation(part: PartMeta, block: BlockMeta): BlockLocation {
  return { objectKey: partDataKey(part.tenant, part.day, part.partId), offset: block.offset, length: block.length };
}

/** A block's bytes as stored (compressed), checked for length. */
export async function readBlockBytes(objectStore: ObjectStore, location: BlockLocation): Promise<Buffer> {
  const bytes = await objectStore.getRange(location.objectKey, location.offset, location.length);
  if (bytes.length !== location.length) {
    throw new BlockDecodeError(`block ${location.objectKey}@${location.offset}: expected ${location.length} bytes, read ${bytes.length}`);
  }
  return bytes;
}

export async function readBlock(objectStore: ObjectStore, location: BlockLocation, stream: StreamInfo): Promise<BlockData> {
  const bytes = await readBlockBytes(objectStore, location);
  let data: BlockData;
  try {
    data = decodeBlock(bytes, stream);
  } catch (error) {
    if (error instanceof BlockDecodeError) error.message = `block ${location.objectKey}@${location.offset}: ${error.message}`;
    throw error;
  }
  releaseReadBuffer(bytes);
  return data;
}

/**
 * The decoded block keeps nothing of the bytes read (its columns are decompressed or copied out), so
 * a read buffer of its own is freed now rather than at the next full GC (see releaseBlockColumns in
 * logql/engine/block-scan.ts for what that saves a scan). getRange hands the caller a buffer nothing
 * else holds (the filesystem store allocates it per read, S3 per response); an object store that
 * served ranges out of a cache would have to return copies.
 */
function releaseReadBuffer(bytes: Buffer): void {
  const buffer = bytes.buffer;
  if (!(buffer instanceof ArrayBuffer) || buffer.detached || bytes.byteOffset !== 0 || buffer.byteLength !== bytes.length || bytes.length < 64 * 1024) return;
  try {
    buffer.transfer(0);
  } catch {
    // Not detachable: left to the GC.
  }
}
