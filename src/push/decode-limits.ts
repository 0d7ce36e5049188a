// Count limits a push decoder checks while it decodes, so that a small body that expands into
// millions of entries (2 bytes each in protobuf, 9 in JSON) is refused before they are built, not
// after. Byte limits (body size, decompressed size) are the server's and apply before decoding.

import { PushDecodeError } from './protobuf.ts';

export interface PushDecodeLimits {
  /** Most streams one push may hold. */
  maxStreams: number;
  /** Most entries one push may hold, over all its streams. */
  maxEntries: number;
  /** Most structured-metadata (and JSON label) pairs one push may hold, over all its entries. */
  maxPairs: number;
}

/**
 * Longest label-set text a decoder parses. Loki's default limits allow about 46 KB (15 names of up to
 * 1 KB, values of up to 2 KB); past this the set is refused unparsed: parsing 12 MB of label pairs
 * took 7 s.
 */
export const MAX_LABEL_SET_CHARS = 256 * 1024;

export const UNLIMITED_DECODE: PushDecodeLimits = { maxStreams: Infinity, maxEntries: Infinity, maxPairs: Infinity };

/** A push over a count limit: the request is too large to decode, whatever its bytes. */
export class PushTooLargeError extends PushDecodeError {
  readonly statusCode = 413;
  constructor(message: string) {
    super(message);
    this.name = 'PushTooLargeError';
  }
}

/** Counts what a decoder has built so far and throws as soon as one count passes its limit. */
export class DecodeBudget {
  private readonly limits: PushDecodeLimits;
  streams = 0;
  entries = 0;
  pairs = 0;

  constructor(limits: PushDecodeLimits) {
    this.limits = limits;
  }

  addStream(): void {
    if (++this.streams > this.limits.maxStreams) throw tooMany('streams', this.limits.maxStreams, 'server.max_push_streams');
  }

  addEntries(count: number): void {
    this.entries += count;
    if (this.entries > this.limits.maxEntries) throw tooMany('entries', this.limits.maxEntries, 'server.max_push_entries');
  }

  addPairs(count: number): void {
    this.pairs += count;
    if (this.pairs > this.limits.maxPairs) throw tooMany('label and structured metadata pairs', this.limits.maxPairs, 'server.max_push_entries');
  }
}

function tooMany(what: string, limit: number, key: string): PushTooLargeError {
  return new PushTooLargeError(`push request has more than ${limit} ${what} (${key}); send it in smaller batches`);
}
