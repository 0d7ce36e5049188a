// The shapes of a TSDB block (block.ts writes version 2 and reads both; block-v1.ts reads version 1).

import type { SeriesIndex } from './series-index.ts';
import type { StoredChunk } from './head.ts';
import type { Labels } from './types.ts';

export interface BlockMeta {
  version: number;
  id: string;
  tenant: string;
  minTimeMs: number;
  maxTimeMs: number;
  /** Every sample from WAL records with seq below this is in some block (used on WAL replay). */
  walSeqEnd: number;
  /** 1 for a head cut; compaction outputs one more than its highest input. */
  level: number;
  stats: { series: number; chunks: number; samples: number };
  dataBytes: number;
  indexOffset: number;
  indexLength: number;
  indexCrc32: number;
  /** Version 2: the index's size once decompressed. */
  indexRawLength?: number;
}

export interface BlockSeriesInput {
  labels: Labels;
  chunks: StoredChunk[];
}

export interface ChunkRef {
  minTimeMs: number;
  maxTimeMs: number;
  count: number;
  /** Version 2: the page holding the chunk; `offset` is then inside the decompressed page. */
  page: number;
  offset: number;
  length: number;
}

export interface PageRef {
  offset: number;
  compressedLength: number;
  rawLength: number;
  crc32: number;
}

export interface BlockIndex {
  labels: Labels[];
  chunks: ChunkRef[][];
  postings: SeriesIndex;
  /** Version 2 only. */
  pages?: PageRef[];
}

export class BlockFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockFormatError';
  }
}
