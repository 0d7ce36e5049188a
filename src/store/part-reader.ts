// Reads parts: loads a part index (cached by the caller for the life of the part) and loads and
// decodes single blocks by byte range, so only the blocks a query picked are fetched.

import type { ObjectStore } from '../objstore/object-store.ts';
import { BlockDecodeError, decodeBlock } from './block.ts';
import { decodeFrame } from './stream-group.ts';
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
  const location: BlockLocation = { objectKey: partDataKey(part.tenant, part.day, part.partId), offset: block.offset, length: block.length };
  if (block.frameOffset !== undefined) location.frame = { offset: block.frameOffset, length: block.frameLength! };
  return location;
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
  const [bytes, frameLines] = await Promise.all([readBlockBytes(objectStore, location), location.frame === undefined ? undefined : frameLinesOf(objectStore, location.objectKey, location.frame)]);
  let data: BlockData;
  try {
    data = decodeBlock(bytes, stream, frameLines);
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

/**
 * Shared frames decoded lately in this thread (the main thread and each scan worker have their own):
 * the members of one frame are read one after another (a part lists a frame's blocks together, and
 * scan chunks keep them together, see scan-pool.ts), so each frame is decompressed once per scan
 * rather than once per member. At most FRAME_CACHE_ENTRIES frames, dropped FRAME_CACHE_IDLE_MS after
 * the last read so an idle server holds none.
 */
const FRAME_CACHE_ENTRIES = 4;
const FRAME_CACHE_IDLE_MS = 2000;
const frameCache = new Map<string, { objectStore: ObjectStore; lines: Promise<Buffer> }>();
let frameCacheTimer: NodeJS.Timeout | undefined;

function frameLinesOf(objectStore: ObjectStore, objectKey: string, frame: { offset: number; length: number }): Promise<Buffer> {
  const key = `${objectKey}@${frame.offset}+${frame.length}`;
  const cached = frameCache.get(key);
  if (frameCacheTimer === undefined) {
    frameCacheTimer = setTimeout(() => frameCache.clear(), FRAME_CACHE_IDLE_MS);
    frameCacheTimer.unref();
  } else frameCacheTimer.refresh();
  if (cached !== undefined && cached.objectStore === objectStore) {
    // Most recent last.
    frameCache.delete(key);
    frameCache.set(key, cached);
    return cached.lines;
  }
  const lines = readBlockBytes(objectStore, { objectKey, offset: frame.offset, length: frame.length }).then((bytes) => {
    try {
      return decodeFrame(bytes);
    } catch (error) {
      if (error instanceof BlockDecodeError) error.message = `frame ${objectKey}@${frame.offset}: ${error.message}`;
      throw error;
    }
  });
  frameCache.set(key, { objectStore, lines });
  // A failed read is not kept: the next member tries again (and reports its own error).
  lines.catch(() => {
    if (frameCache.get(key)?.lines === lines) frameCache.delete(key);
  });
  while (frameCache.size > FRAME_CACHE_ENTRIES) frameCache.delete(frameCache.keys().next().value!);
  return lines;
}
