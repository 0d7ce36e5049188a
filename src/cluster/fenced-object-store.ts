// An object store that refuses writes once its owner no longer holds the partition's lease. A
// partition's TSDB keeps a pointer object (the last flushed head) next to its blocks; an owner that
// lost its lease and still closed its TSDB (close cuts the head) would otherwise overwrite the new
// owner's pointer and make the next takeover drop blocks the new owner committed.

import type { ObjectStore } from '../objstore/object-store.ts';

export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

export function fencedObjectStore(inner: ObjectStore, mayWrite: () => boolean, what: string): ObjectStore {
  const check = (key: string): void => {
    if (!mayWrite()) throw new LeaseLostError(`${what}: not writing ${key}: the partition's lease is no longer held`);
  };
  return {
    put: async (key, data) => {
      check(key);
      await inner.put(key, data);
    },
    delete: async (key) => {
      check(key);
      await inner.delete(key);
    },
    get: (key) => inner.get(key),
    getRange: (key, offset, length) => inner.getRange(key, offset, length),
    list: (prefix) => inner.list(prefix),
    close: () => inner.close(),
  };
}
