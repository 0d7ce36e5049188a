// Where a partition lives in the shared object store: its parts under `cluster/partitions/<n>/`
// (the store's own key layout below that), and a manifest naming the last WAL sequence its parts
// are known to hold.

import { join } from 'node:path';
import { ObjectNotFoundError, type ObjectStore, type ObjectStoreConfig } from '../objstore/object-store.ts';
import type { BlockLocation } from '../store/types.ts';

export interface PartitionManifest {
  partition: number;
  /** Every WAL batch of this partition up to this sequence is in parts; a new owner reads on from the next. */
  committedSeq: number;
  owner: string;
  committedAtMs: number;
}

export function partitionKeyPrefix(partition: number): string {
  return `cluster/partitions/${partition}/`;
}

/** An object store config whose keys are the partition's (what a partition's store opens). */
export function partitionObjectStoreConfig(base: ObjectStoreConfig, partition: number): ObjectStoreConfig {
  if (base.backend === 'filesystem') return { backend: 'filesystem', directory: join(base.directory, ...partitionKeyPrefix(partition).split('/').filter((segment) => segment !== '')) };
  return { ...base, prefix: base.prefix + partitionKeyPrefix(partition) };
}

/** A location an owner reported (relative to its partition), as a key of the shared store. */
export function sharedLocation(partition: number, location: BlockLocation): BlockLocation {
  const prefix = partitionKeyPrefix(partition);
  const shared: BlockLocation = { objectKey: prefix + location.objectKey, offset: location.offset, length: location.length };
  if (location.mergeWith !== undefined) shared.mergeWith = location.mergeWith.map((other) => sharedLocation(partition, other));
  return shared;
}

function manifestKey(partition: number): string {
  return `${partitionKeyPrefix(partition)}manifest.json`;
}

export async function readManifest(store: ObjectStore, partition: number): Promise<PartitionManifest | undefined> {
  let bytes: Buffer;
  try {
    bytes = await store.get(manifestKey(partition));
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return undefined;
    throw error;
  }
  const manifest = JSON.parse(bytes.toString('utf8')) as PartitionManifest;
  if (manifest.partition !== partition || !Number.isSafeInteger(manifest.committedSeq) || manifest.committedSeq < 0) {
    throw new Error(`manifest of partition ${partition} is invalid: ${bytes.toString('utf8').slice(0, 200)}`);
  }
  return manifest;
}

export async function writeManifest(store: ObjectStore, manifest: PartitionManifest): Promise<void> {
  await store.put(manifestKey(manifest.partition), Buffer.from(JSON.stringify(manifest), 'utf8'));
}
