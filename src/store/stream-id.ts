// A stream is a tenant plus a sorted label set. Its id is the first 128 bits of SHA-256 over a
// canonical encoding, so it is stable across restarts and processes (and worker threads).

import { createHash } from 'node:crypto';
import type { Labels } from './types.ts';

/** Hex (32 chars) of the 128-bit stream id. */
export function streamId(tenant: string, labels: Labels): string {
  const hash = createHash('sha256');
  // NUL separators cannot occur in a tenant id, label name or (validated) value text ambiguity-free
  // enough: lengths are included too, so no two distinct inputs share an encoding.
  hash.update(`${tenant.length}:${tenant}\0`);
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name]!;
    hash.update(`${name.length}:${name}=${value.length}:${value}\0`);
  }
  return hash.digest('hex').slice(0, 32);
}

/** A cheap in-process key for the labels (used to avoid hashing on every append). */
export function labelsKey(labels: Labels): string {
  let key = '';
  for (const name of Object.keys(labels).sort()) key += `${name}\u0001${labels[name]}\u0002`;
  return key;
}
