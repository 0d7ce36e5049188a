// The store's public contract: what ingest writes and what the LogQL engine, the API and the ruler
// read. Implementations live beside this file; consumers import only these types and `openStore`.

import type { ObjectStoreConfig } from '../objstore/object-store.ts';
import type { LabelPair, Labels, PushEntry } from '../push/types.ts';

export type { LabelPair, Labels, PushEntry };

export type MatchType = '=' | '!=' | '=~' | '!~';

/** A stream-selector matcher. Regexes are fully anchored, as in Prometheus/Loki. */
export interface LabelMatcher {
  name: string;
  type: MatchType;
  value: string;
}

export interface AppendStream {
  labels: Labels;
  entries: PushEntry[];
}

export interface StreamInfo {
  /** Hex of the stream's 128-bit hash (tenant + sorted labels). Stable across restarts. */
  id: string;
  labels: Labels;
}

/**
 * A literal that every line the query can return must contain. The store uses these to skip blocks
 * whose token filters prove no line contains the literal. It never filters lines itself.
 */
export interface RequiredLiteral {
  literal: string;
  caseInsensitive: boolean;
}

export interface BlockQuery {
  tenant: string;
  matchers: LabelMatcher[];
  /** Inclusive. */
  startNs: bigint;
  /** Exclusive. */
  endNs: bigint;
  requiredLiterals?: RequiredLiteral[];
}

/** Where a persisted block lives, so a worker thread can fetch and decode it on its own. */
export interface BlockLocation {
  objectKey: string;
  offset: number;
  length: number;
  /**
   * Blocks of the same stream in other parts that overlap this one in time. A reader merges them
   * all by timestamp and drops exact duplicates (see `openBlockReader`).
   */
  mergeWith?: BlockLocation[];
  /**
   * A stream group member's block (src/store/stream-group.ts): the byte range of the shared frame,
   * in the same object, that holds its lines.
   */
  frame?: { offset: number; length: number };
}

/** Plain data (structured-cloneable) from which a worker thread opens its own block reader. */
export interface BlockReaderConfig {
  objectStore: ObjectStoreConfig;
}

/** A candidate block: metadata is in memory, the data loads on demand. */
export interface BlockRef {
  stream: StreamInfo;
  minTimeNs: bigint;
  maxTimeNs: bigint;
  entryCount: number;
  /** Uncompressed size of the lines. */
  rawBytes: number;
  /**
   * Set for blocks in parts, so a worker can read them with `openBlockReader`; absent when the data
   * is (partly) in the in-memory head. A ref may stand for several overlapping blocks of one stream
   * (a retried push stored twice): `load()` and the reader then return them merged, without exact
   * duplicates, and entryCount/rawBytes are the sums before that merge.
   */
  location?: BlockLocation;
  load(): Promise<BlockData>;
}

/**
 * One stream's entries, sorted by timestamp ascending. Lines are stored back to back in `lines`
 * (UTF-8) so literal filters can run `Buffer.indexOf` over the whole block before splitting.
 * Line i spans `lines[i === 0 ? 0 : lineEnds[i - 1]] .. lines[lineEnds[i]]`. Lines may contain '\n'.
 */
export interface BlockData {
  stream: StreamInfo;
  timestampsNs: BigInt64Array;
  lines: Buffer;
  lineEnds: Uint32Array;
  /** Per-line structured metadata, or undefined when no entry in the block has any. */
  structuredMetadata?: Array<LabelPair[] | undefined>;
  /**
   * Set when stored blocks behind this one could not be read (checksum mismatch, truncation): their
   * entries are missing and each message says which part and why, for the query's warnings.
   */
  unreadable?: string[];
}

export interface IndexStats {
  streams: number;
  chunks: number;
  entries: number;
  bytes: number;
}

export interface VolumeEntry {
  labels: Labels;
  /** Per-bucket byte sums when a step is asked for; otherwise one total. */
  bytes: number;
}

/** The read side, as the LogQL engine sees it. Tests may implement it in memory. */
export interface LogSource {
  /** Streams matching the matchers with data overlapping [startNs, endNs). */
  series(tenant: string, matchers: LabelMatcher[], startNs: bigint, endNs: bigint): Promise<StreamInfo[]>;
  /** Candidate blocks, pruned by label index, partition, time range and token filters. */
  selectBlocks(query: BlockQuery): Promise<BlockRef[]>;
  /** How worker threads read located blocks; absent when blocks cannot be read off this thread. */
  blockReaderConfig?(): BlockReaderConfig | undefined;
}

export interface AppendOptions {
  pushBody?: Buffer;
}

export interface LogStore extends LogSource {
  /**
   * Resolves only after the entries are in the WAL and fsync'd (group commit). `pushBody`: the
   * snappy-compressed PushRequest body that decodes (push/protobuf-decode.ts, lines as bytes) to
   * exactly `streams`, in order, nothing dropped or changed: a store may log that body instead.
   */
  append(tenant: string, streams: AppendStream[], options?: AppendOptions): Promise<void>;
  labelNames(tenant: string, startNs: bigint, endNs: bigint, matchers?: LabelMatcher[]): Promise<string[]>;
  labelValues(tenant: string, name: string, startNs: bigint, endNs: bigint, matchers?: LabelMatcher[]): Promise<string[]>;
  stats(tenant: string, matchers: LabelMatcher[], startNs: bigint, endNs: bigint): Promise<IndexStats>;
  /** Cuts every head into parts and makes them durable in the object store. */
  flush(): Promise<void>;
  /** Runs one compaction pass now (it also runs in the background). */
  compact(): Promise<void>;
  /** Applies retention now (it also runs in the background). */
  applyRetention(nowMs?: number): Promise<void>;
  /** Figures for /metrics. */
  metrics(): StoreMetrics;
  /** Whether appends can be expected to succeed (not after a failed WAL write until space returns). */
  writeHealth?(): Promise<{ ok: true } | { ok: false; reason: string; code: string }>;
  /** Flushes and releases files. */
  close(): Promise<void>;
}

export interface StoreMetrics {
  walFsyncSeconds: { count: number; sum: number; buckets: Array<[upperBoundSeconds: number, count: number]> };
  parts: number;
  headStreams: number;
  headBytes: number;
  /** Raw bytes of heads being cut into parts (in memory until the parts are written). */
  cuttingBytes?: number;
  diskBytes: number;
  /** Per tenant: entries dropped as exact duplicates (same stream, timestamp and line). */
  duplicateEntriesDiscarded: Array<[tenant: string, entries: number]>;
}
