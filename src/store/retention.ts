// Retention drops whole day partitions once their whole day is older than retention_period.
// Part indexes are deleted before data objects so a crash mid-way never leaves an index whose data
// is gone (an orphaned data object is removed on the next open).

import type { ObjectStore } from '../objstore/object-store.ts';
import { partitionPrefix } from './object-keys.ts';
import type { Partition } from './partition.ts';

/** Entries with timestamps below this are expired; undefined when retention is off. */
export function retentionCutoffNs(nowMs: number, retentionPeriodMs: number): bigint | undefined {
  if (retentionPeriodMs <= 0) return undefined;
  return BigInt(Math.floor(nowMs - retentionPeriodMs)) * 1_000_000n;
}

/** Partitions whose every possible entry is older than the cutoff. */
export function expiredPartitions(partitions: Iterable<Partition>, cutoffNs: bigint): Partition[] {
  const expired: Partition[] = [];
  for (const partition of partitions) if (partition.endNs <= cutoffNs) expired.push(partition);
  return expired;
}

export async function deletePartitionObjects(objectStore: ObjectStore, tenant: string, day: number): Promise<number> {
  const keys = await objectStore.list(partitionPrefix(tenant, day));
  const indexesFirst = [...keys.filter((key) => key.endsWith('.index')), ...keys.filter((key) => !key.endsWith('.index'))];
  for (const key of indexesFirst) await objectStore.delete(key);
  return keys.length;
}
