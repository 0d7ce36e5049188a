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

/** FNV-1a over UTF-16 code units. */
function stringHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash;
}

/** Murmur3's finalizer: spreads every input bit over the output. */
function mix(hash: number): number {
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

/**
 * A 32-bit in-process hash of a string, or of its first `length` characters (FNV-1a, then mixed so
 * its low bits serve as a table index). Never persisted.
 */
export function mixedStringHash(text: string, length = text.length): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return mix(hash);
}

/**
 * A 30-bit in-process fingerprint of a tenant's stream, for finding its head without building a key
 * string (a flat key per stream was ~100 bytes held per head) or hashing SHA-256 on every append.
 * Order-independent (a sum over label pairs), so it needs no sorted copy of the names. Distinct
 * streams can share one: the stream table compares the labels on a hit. Never persisted.
 */
export function streamFingerprint(tenant: string, labels: Labels): number {
  let sum = stringHash(tenant);
  for (const name in labels) sum = (sum + mix(stringHash(name) ^ Math.imul(stringHash(labels[name]!), 0x9e3779b1))) | 0;
  // Small integers are stored unboxed as map keys.
  return mix(sum) & 0x3fffffff;
}
