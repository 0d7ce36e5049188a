// A decoded push stream kept as columns over the request body: timestamps in a BigInt64Array, each
// line as a [start, end) byte range into the body, and the few figures validation needs (line
// bytes, the longest line, the time range) summed while decoding. What the server's protobuf
// decoder hands to ingest. A RawLineEntry and a bigint per entry (1.65M of each on the 244 MB
// bench log) lived through the WAL's fsync, so the young-generation collections copied and promoted
// them: columns are a few typed arrays per stream and push, and validation, the WAL record and the
// head read them without an object per entry.
//
// `entries` builds the RawLineEntry objects on first read, for the consumers that want entries
// (the run tracker, live tail, a validation that drops some). From then on the entries are the
// truth (a reader may change them, as level detection adds metadata): `columns()` answers
// undefined, and column readers fall back to the entries.

import { RawLineEntry } from './raw-line-entry.ts';
import type { LabelPair, Labels, PushEntry, PushStream } from './types.ts';

/** Whether this machine is little-endian: the word order of the timestamp column's int64s when read as 32-bit halves. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export interface RawStreamColumns {
  count: number;
  /** Entry i's timestamp at [i]; at least `count` long. */
  timestampsNs: BigInt64Array;
  /** The same bytes as u32 pairs, (low, high) on a little-endian machine: copied without building a bigint. */
  timestampWords: Uint32Array;
  /** The request body holding the lines; never written to. */
  source: Buffer;
  lineStarts: Uint32Array;
  lineEnds: Uint32Array;
  /** Entry i's pairs at [i], when any entry has some. */
  structuredMetadata: Array<LabelPair[] | undefined> | undefined;
  /** Sum of the entries' line bytes, and the longest. */
  lineBytes: number;
  maxLineBytes: number;
  minTimestampNs: bigint;
  maxTimestampNs: bigint;
  /**
   * Whether every timestamp is later than the one before (so none repeats, and the first is the
   * oldest): a head appends such a batch after its newest entry with no per-entry check.
   */
  increasing: boolean;
}

export class RawPushStream implements PushStream {
  labels: Labels;
  private columnsOrUndefined: RawStreamColumns | undefined;
  private materialized: PushEntry[] | undefined;
  /** The columns as decoded, kept after `entries` took over so that releaseColumnMemory finds them. */
  private readonly decoded: RawStreamColumns;

  constructor(labels: Labels, columns: RawStreamColumns) {
    this.labels = labels;
    this.columnsOrUndefined = columns;
    this.decoded = columns;
  }

  /**
   * Frees the memory of the columns' typed arrays now (the push's column arena, shared by its
   * streams, and any column that outgrew it) instead of at the next full collection: they live
   * through the WAL fsync, so they are promoted, and on the 244 MB bench log the arenas alone were
   * ~250 KB a push, ~60 MB over the run. Lines (the body) are not touched. Nothing may read the
   * columns afterwards; entries built from them stay valid (they hold bigints and the body).
   */
  releaseColumnMemory(): void {
    const columns = this.decoded;
    releaseArrayBuffer(columns.timestampsNs.buffer);
    releaseArrayBuffer(columns.lineStarts.buffer);
    releaseArrayBuffer(columns.lineEnds.buffer);
  }

  /** The columns, while no reader has taken the entries. */
  columns(): RawStreamColumns | undefined {
    return this.columnsOrUndefined;
  }

  get entries(): PushEntry[] {
    if (this.materialized === undefined) {
      const columns = this.columnsOrUndefined!;
      const entries = new Array<PushEntry>(columns.count);
      for (let i = 0; i < columns.count; i++) {
        const entry = new RawLineEntry(columns.timestampsNs[i]!, columns.source, columns.lineStarts[i]!, columns.lineEnds[i]!);
        const metadata = columns.structuredMetadata?.[i];
        if (metadata !== undefined) entry.structuredMetadata = metadata;
        entries[i] = entry;
      }
      this.materialized = entries;
      this.columnsOrUndefined = undefined;
    }
    return this.materialized;
  }

  set entries(entries: PushEntry[]) {
    this.materialized = entries;
    this.columnsOrUndefined = undefined;
  }
}

/** Detaches `memory` (freeing it) unless it is already detached or a SharedArrayBuffer. */
function releaseArrayBuffer(memory: ArrayBufferLike): void {
  if (memory instanceof ArrayBuffer && !memory.detached) memory.transfer(0);
}

/** The columns of a stream that still has them (a RawPushStream whose entries nobody took). */
export function rawColumnsOf(stream: { entries: readonly PushEntry[] }): RawStreamColumns | undefined {
  return stream instanceof RawPushStream ? stream.columns() : undefined;
}
