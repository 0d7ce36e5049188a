// Checksummed envelopes for the small objects the store writes beside its blocks (part indexes,
// label indexes): `RSC1 | u32 CRC-32 of the payload | payload`. Blocks carry their CRC in their own
// header (block.ts). Objects written before checksums existed have no envelope and are read as they
// are: neither a part index (a zstd frame) nor a label index (JSON) can start with the magic.

import { crc32 } from 'node:zlib';

const MAGIC = Buffer.from('RSC1', 'latin1');
const HEADER_BYTES = 8;

export class ChecksumError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChecksumError';
  }
}

export function sealObject(payload: Buffer): Buffer {
  const sealed = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  MAGIC.copy(sealed, 0);
  sealed.writeUInt32LE(crc32(payload), 4);
  payload.copy(sealed, HEADER_BYTES);
  return sealed;
}

/** The payload of a sealed object after checking its CRC; an unsealed (older) object as it is. */
export function openSealedObject(bytes: Buffer): Buffer {
  if (bytes.length < HEADER_BYTES || bytes.compare(MAGIC, 0, MAGIC.length, 0, MAGIC.length) !== 0) return bytes;
  const payload = bytes.subarray(HEADER_BYTES);
  const expected = bytes.readUInt32LE(4);
  const actual = crc32(payload);
  if (actual !== expected) throw new ChecksumError(`checksum mismatch (stored ${hex(expected)}, computed ${hex(actual)}): the object is corrupt`);
  return payload;
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
