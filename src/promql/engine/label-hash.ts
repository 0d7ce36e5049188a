// limit_ratio picks series by where their label hash falls in [0, 1): Prometheus hashes a label set
// with xxHash64 over `name 0xff value 0xff …` (names sorted) and divides by 2^64. We compute the
// same hash so the same series are picked as by Prometheus.

import type { Labels } from '../../push/types.ts';

const MASK = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & MASK;
}

function round(acc: bigint, lane: bigint): bigint {
  return (rotl((acc + lane * P2) & MASK, 31n) * P1) & MASK;
}

function mergeRound(acc: bigint, value: bigint): bigint {
  return ((((acc ^ round(0n, value)) * P1) & MASK) + P4) & MASK;
}

/** xxHash64 with seed 0. */
export function xxhash64(bytes: Uint8Array): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = bytes.length;
  let offset = 0;
  let h: bigint;
  if (length >= 32) {
    let v1 = (P1 + P2) & MASK;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (-P1) & MASK;
    while (offset + 32 <= length) {
      v1 = round(v1, view.getBigUint64(offset, true));
      v2 = round(v2, view.getBigUint64(offset + 8, true));
      v3 = round(v3, view.getBigUint64(offset + 16, true));
      v4 = round(v4, view.getBigUint64(offset + 24, true));
      offset += 32;
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & MASK;
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else h = P5;
  h = (h + BigInt(length)) & MASK;
  while (offset + 8 <= length) {
    h ^= round(0n, view.getBigUint64(offset, true));
    h = (rotl(h, 27n) * P1 + P4) & MASK;
    offset += 8;
  }
  if (offset + 4 <= length) {
    h ^= (BigInt(view.getUint32(offset, true)) * P1) & MASK;
    h = (rotl(h, 23n) * P2 + P3) & MASK;
    offset += 4;
  }
  while (offset < length) {
    h ^= (BigInt(bytes[offset]!) * P5) & MASK;
    h = (rotl(h, 11n) * P1) & MASK;
    offset++;
  }
  h ^= h >> 33n;
  h = (h * P2) & MASK;
  h ^= h >> 29n;
  h = (h * P3) & MASK;
  h ^= h >> 32n;
  return h;
}

/** The series' position in [0, 1) for limit_ratio. */
export function limitRatioHash(labels: Labels): number {
  const parts: Buffer[] = [];
  const separator = Buffer.from([0xff]);
  for (const name of Object.keys(labels).sort()) {
    parts.push(Buffer.from(name, 'utf8'), separator, Buffer.from(labels[name]!, 'utf8'), separator);
  }
  return Number(xxhash64(Buffer.concat(parts))) / 18446744073709551615;
}
