// A stream is a tenant plus a sorted label set. Its id is the first 128 bits of SHA-256 over a
// canonical encoding, so it is stable across restarts and processes (and worker threads).

import { hash } from 'node:crypto';
import type { Labels } from './types.ts';

/** Hex (32 chars) of the 128-bit stream id. */
export function streamId(tenant: string, labels: Labels): string {
  // NUL separators and lengths: no two distinct inputs share an encoding. One string hashed in one
  // call (the same bytes as hashing the pieces in turn, so ids are unchanged), and the hex made from
  // the first 16 digest bytes: slicing a 64-character hex string kept the whole of it alive.
  const parts: string[] = [`${tenant.length}:${tenant}\0`];
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name]!;
    parts.push(`${name.length}:${name}=${value.length}:${value}\0`);
  }
  return hash('sha256', parts.join(''), 'buffer').toString('hex', 0, 16);
}

/**
 * A cheap in-process key for a tenant's stream (used to avoid hashing on every append). Built by
 * join, so it is one flat string: a key built with += stays a tree of a dozen concatenation nodes
 * for as long as the map holds it (~400 bytes per stream).
 */
export function streamKey(tenant: string, labels: Labels): string {
  // Lengths before the tenant and each value keep it unambiguous whatever the values hold (label
  // names cannot contain the separator).
  const parts: string[] = [String(tenant.length), tenant];
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name]!;
    parts.push(name, String(value.length), value);
  }
  return parts.join('\u0001');
}
