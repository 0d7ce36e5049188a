// The part index: a small object beside each part's data object, listing its blocks (stream, time
// range, entry count, raw bytes, byte range, token filter) and, per stream, the highest WAL sequence
// number the part covers (so WAL replay after a crash skips what is already persisted).
// It is loaded once and cached in memory; queries prune blocks using only this.
//
// Object layout: sealed( zstd( u32 json length | JSON | token filters back to back ) ), where sealed
// adds a CRC-32 (checksum.ts); indexes written before checksums lack the envelope and still load.

import { zstdDecompressSync } from 'node:zlib';
import { zstdCompress } from './block.ts';
import { releaseOwnedMemory, releaseWholeMemory } from './owned-buffer.ts';
import { openSealedObject, sealObject } from './checksum.ts';
import { decodeTokenFilter, encodeTokenFilter, type TokenFilter } from './token-filter.ts';
import type { Labels, StreamInfo } from './types.ts';

const PART_INDEX_VERSION = 1;

export interface BlockMeta {
  streamId: string;
  minTimeNs: bigint;
  maxTimeNs: bigint;
  entryCount: number;
  rawBytes: number;
  offset: number;
  length: number;
  filter: TokenFilter;
  /** A stream group member's block: its shared frame's byte range in the data object. */
  frameOffset?: number;
  frameLength?: number;
}

export interface PartStreamMeta {
  info: StreamInfo;
  /** Highest WAL seq whose entries for this stream (in this partition) the part holds; -1 if none. */
  walSeq: bigint;
}

export interface PartMeta {
  partId: string;
  tenant: string;
  /** UTC day number (days since the epoch). */
  day: number;
  /** Part ids this part supersedes (compaction). They are deleted once this part is durable. */
  replaces: string[];
  streams: Map<string, PartStreamMeta>;
  blocks: BlockMeta[];
  blocksByStream: Map<string, BlockMeta[]>;
  rawBytes: number;
  dataBytes: number;
  indexBytes: number;
  minTimeNs: bigint;
  maxTimeNs: bigint;
}

interface PartIndexJson {
  version: number;
  partId: string;
  tenant: string;
  day: number;
  replaces: string[];
  dataBytes: number;
  streams: Array<{ id: string; labels: Labels; walSeq: string }>;
  blocks: Array<{ stream: number; minTimeNs: string; maxTimeNs: string; entryCount: number; rawBytes: number; offset: number; length: number; filterLength: number; frameOffset?: number; frameLength?: number }>;
}

export function encodePartIndex(meta: Omit<PartMeta, 'blocksByStream' | 'indexBytes'>): Buffer {
  const streamNumbers = new Map<string, number>();
  const json: PartIndexJson = {
    version: PART_INDEX_VERSION,
    partId: meta.partId,
    tenant: meta.tenant,
    day: meta.day,
    replaces: meta.replaces,
    dataBytes: meta.dataBytes,
    streams: [],
    blocks: [],
  };
  for (const stream of meta.streams.values()) {
    streamNumbers.set(stream.info.id, json.streams.length);
    json.streams.push({ id: stream.info.id, labels: stream.info.labels, walSeq: stream.walSeq.toString() });
  }
  const filters: Buffer[] = [];
  // A stream group frame's blocks share one filter object (stream-group.ts): encoded once.
  const encoded = new Map<TokenFilter, Buffer>();
  for (const block of meta.blocks) {
    let filter = encoded.get(block.filter);
    if (filter === undefined) encoded.set(block.filter, (filter = encodeTokenFilter(block.filter)));
    filters.push(filter);
    json.blocks.push({
      stream: streamNumbers.get(block.streamId)!,
      minTimeNs: block.minTimeNs.toString(),
      maxTimeNs: block.maxTimeNs.toString(),
      entryCount: block.entryCount,
      rawBytes: block.rawBytes,
      offset: block.offset,
      length: block.length,
      filterLength: filter.length,
      ...(block.frameOffset === undefined ? {} : { frameOffset: block.frameOffset, frameLength: block.frameLength }),
    });
  }
  const jsonBytes = Buffer.from(JSON.stringify(json));
  const lengthPrefix = Buffer.allocUnsafe(4);
  lengthPrefix.writeUInt32LE(jsonBytes.length, 0);
  const payload = Buffer.concat([lengthPrefix, jsonBytes, ...filters]);
  const compressed = zstdCompress(payload);
  // Spent at once (owned-buffer.ts): a cut's index of a few hundred filters is a few hundred KB.
  releaseOwnedMemory(payload);
  const sealed = sealObject(compressed);
  releaseWholeMemory(compressed);
  return sealed;
}

export class PartIndexError extends Error {
  constructor(indexKey: string, message: string) {
    super(`part index ${indexKey}: ${message}`);
    this.name = 'PartIndexError';
  }
}

/**
 * No part index comes near this once decompressed (100,000 one-line streams make about 20 MB): a
 * larger one is corrupt, and is refused before it takes the memory.
 */
const MAX_PART_INDEX_BYTES = 512 * 1024 * 1024;

/**
 * Decodes a part index. Whatever the bytes hold, the only error is a PartIndexError naming the object:
 * indexes written before checksums have no envelope, so their JSON is checked field by field.
 */
export function decodePartIndex(bytes: Buffer, indexKey: string): PartMeta {
  try {
    return decodeCheckedPartIndex(bytes, indexKey);
  } catch (error) {
    if (error instanceof PartIndexError) throw error;
    throw new PartIndexError(indexKey, (error as Error).message);
  }
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isNsText = (value: unknown): value is string => typeof value === 'string' && /^-?\d{1,20}$/.test(value);

function checkJson(json: PartIndexJson, indexKey: string): void {
  if (typeof json !== 'object' || json === null) throw new PartIndexError(indexKey, 'not a JSON object');
  if (json.version !== PART_INDEX_VERSION) throw new PartIndexError(indexKey, `unknown version ${json.version}`);
  if (!Array.isArray(json.streams) || !Array.isArray(json.blocks)) throw new PartIndexError(indexKey, 'streams or blocks missing');
  if (typeof json.partId !== 'string' || typeof json.tenant !== 'string' || !Number.isSafeInteger(json.day) || !isCount(json.dataBytes)) {
    throw new PartIndexError(indexKey, 'partId, tenant, day or dataBytes missing or of the wrong type');
  }
  if (!Array.isArray(json.replaces) || !json.replaces.every((id) => typeof id === 'string')) throw new PartIndexError(indexKey, 'replaces is not a list of part ids');
  for (const [index, stream] of json.streams.entries()) {
    const labels: unknown = stream?.labels;
    const labelsOk = typeof labels === 'object' && labels !== null && !Array.isArray(labels) && Object.values(labels).every((value) => typeof value === 'string');
    if (typeof stream?.id !== 'string' || !labelsOk || !isNsText(stream.walSeq)) throw new PartIndexError(indexKey, `stream ${index} is malformed`);
  }
  for (const [index, block] of json.blocks.entries()) {
    const fieldsOk =
      isCount(block?.stream) && isNsText(block.minTimeNs) && isNsText(block.maxTimeNs) && isCount(block.entryCount) && isCount(block.rawBytes) && isCount(block.offset) && isCount(block.length) && isCount(block.filterLength);
    if (!fieldsOk) throw new PartIndexError(indexKey, `block ${index} is malformed`);
    if (BigInt(block.minTimeNs) > BigInt(block.maxTimeNs)) throw new PartIndexError(indexKey, `block ${index} ends before it starts`);
    if ((block.frameOffset !== undefined || block.frameLength !== undefined) && !(isCount(block.frameOffset) && isCount(block.frameLength) && block.frameOffset + block.frameLength <= json.dataBytes)) {
      throw new PartIndexError(indexKey, `block ${index}'s frame is malformed or lies outside the ${json.dataBytes} data bytes`);
    }
  }
}

function decodeCheckedPartIndex(bytes: Buffer, indexKey: string): PartMeta {
  let payload: Buffer;
  try {
    payload = zstdDecompressSync(openSealedObject(bytes), { maxOutputLength: MAX_PART_INDEX_BYTES });
  } catch (error) {
    throw new PartIndexError(indexKey, `cannot read: ${(error as Error).message}`);
  }
  if (payload.length < 4) throw new PartIndexError(indexKey, `${payload.length} bytes is too short`);
  const jsonLength = payload.readUInt32LE(0);
  if (4 + jsonLength > payload.length) throw new PartIndexError(indexKey, `JSON length ${jsonLength} runs past the ${payload.length} bytes present`);
  let json: PartIndexJson;
  try {
    json = JSON.parse(payload.toString('utf8', 4, 4 + jsonLength)) as PartIndexJson;
  } catch (error) {
    throw new PartIndexError(indexKey, `not JSON: ${(error as Error).message}`);
  }
  checkJson(json, indexKey);
  const streams = new Map<string, PartStreamMeta>();
  const streamIds: string[] = [];
  for (const stream of json.streams) {
    streams.set(stream.id, { info: { id: stream.id, labels: stream.labels }, walSeq: BigInt(stream.walSeq) });
    streamIds.push(stream.id);
  }
  let filterOffset = 4 + jsonLength;
  const blocks: BlockMeta[] = [];
  const frameFilters = new Map<number, { bytes: Buffer; filter: TokenFilter }>();
  for (const [index, block] of json.blocks.entries()) {
    const streamId = streamIds[block.stream];
    if (streamId === undefined) throw new PartIndexError(indexKey, `block ${index} names stream ${block.stream} of ${streamIds.length}`);
    if (!(block.filterLength >= 0) || filterOffset + block.filterLength > payload.length) throw new PartIndexError(indexKey, `block ${index}'s token filter runs past the ${payload.length} bytes present`);
    if (!(block.offset >= 0 && block.length >= 0 && block.offset + block.length <= json.dataBytes)) throw new PartIndexError(indexKey, `block ${index} lies outside the ${json.dataBytes} data bytes`);
    const filterBytes = payload.subarray(filterOffset, filterOffset + block.filterLength);
    filterOffset += block.filterLength;
    // The blocks of one stream group frame carry the same filter (stream-group.ts): decoded once.
    let filter: TokenFilter;
    const previous = block.frameOffset === undefined ? undefined : frameFilters.get(block.frameOffset);
    if (previous !== undefined && previous.bytes.equals(filterBytes)) filter = previous.filter;
    else {
      filter = decodeTokenFilter(filterBytes);
      if (block.frameOffset !== undefined) frameFilters.set(block.frameOffset, { bytes: filterBytes, filter });
    }
    blocks.push({
      streamId,
      minTimeNs: BigInt(block.minTimeNs),
      maxTimeNs: BigInt(block.maxTimeNs),
      entryCount: block.entryCount,
      rawBytes: block.rawBytes,
      offset: block.offset,
      length: block.length,
      filter,
      ...(block.frameOffset === undefined ? {} : { frameOffset: block.frameOffset, frameLength: block.frameLength! }),
    });
  }
  return finishPartMeta({
    partId: json.partId,
    tenant: json.tenant,
    day: json.day,
    replaces: json.replaces,
    streams,
    blocks,
    dataBytes: json.dataBytes,
    indexBytes: bytes.length,
  });
}

/** Derives the lookup maps and totals. */
export function finishPartMeta(
  meta: Pick<PartMeta, 'partId' | 'tenant' | 'day' | 'replaces' | 'streams' | 'blocks' | 'dataBytes' | 'indexBytes'>,
): PartMeta {
  const blocksByStream = new Map<string, BlockMeta[]>();
  let rawBytes = 0;
  let minTimeNs: bigint | undefined;
  let maxTimeNs: bigint | undefined;
  for (const block of meta.blocks) {
    let list = blocksByStream.get(block.streamId);
    if (list === undefined) {
      list = [];
      blocksByStream.set(block.streamId, list);
    }
    list.push(block);
    rawBytes += block.rawBytes;
    if (minTimeNs === undefined || block.minTimeNs < minTimeNs) minTimeNs = block.minTimeNs;
    if (maxTimeNs === undefined || block.maxTimeNs > maxTimeNs) maxTimeNs = block.maxTimeNs;
  }
  return { ...meta, blocksByStream, rawBytes, minTimeNs: minTimeNs ?? 0n, maxTimeNs: maxTimeNs ?? 0n };
}
