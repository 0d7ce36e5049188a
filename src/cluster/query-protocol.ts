// What replicas ask a partition's owner over NATS request-reply, and how the answer travels. A reply
// is a series of frames (u32 header length | JSON header | binary body) ended by an empty message,
// so an answer larger than one NATS payload is simply more frames. Blocks in parts go as their
// location (the asker reads them from the object store itself); head data goes inline.

import type { BlockData, BlockLocation, BlockQuery, IndexStats, LabelMatcher, LabelPair, StreamInfo } from '../store/types.ts';
import type { BlockMeta } from '../tsdb/block.ts';
import type { Labels, MetricLabelMatcher } from '../tsdb/types.ts';

export type PartitionRequest =
  | { op: 'series'; tenant: string; matchers: LabelMatcher[]; startNs: string; endNs: string }
  | { op: 'labelNames'; tenant: string; matchers: LabelMatcher[]; startNs: string; endNs: string }
  | { op: 'labelValues'; tenant: string; name: string; matchers: LabelMatcher[]; startNs: string; endNs: string }
  | { op: 'stats'; tenant: string; matchers: LabelMatcher[]; startNs: string; endNs: string }
  | { op: 'selectBlocks'; tenant: string; matchers: LabelMatcher[]; startNs: string; endNs: string; requiredLiterals: BlockQuery['requiredLiterals'] }
  | MetricRequest;

/** Metrics: samples of matching series (split by time, see metric-queries.ts), and label sets. */
export type MetricRequest =
  | { op: 'metricSelect'; tenant: string; matchers: MetricLabelMatcher[]; startMs: number; endMs: number }
  | { op: 'metricSeries'; tenant: string; matcherSets: MetricLabelMatcher[][]; startMs: number; endMs: number }
  | { op: 'metricExemplars'; tenant: string; matcherSets: MetricLabelMatcher[][]; startMs: number; endMs: number };

/** Exemplars of one series; values as strings so NaN and ±Inf survive JSON. */
export interface WireSeriesExemplars {
  seriesLabels: Labels;
  exemplars: Array<{ labels: Labels; value: string; timestampMs: number }>;
}

/** A series in a samples frame; its body is f64 timestamps, f64 values, then u8 stale flags when `stale`. */
export interface WireSeries {
  labels: Labels;
  count: number;
  stale: boolean;
}

/** A block as it travels: metadata, and either where it is stored or (for head data) its bytes in the frame body. */
export interface WireBlockRef {
  stream: StreamInfo;
  minTimeNs: string;
  maxTimeNs: string;
  entryCount: number;
  rawBytes: number;
  location?: BlockLocation;
  inline?: { entries: number; linesBytes: number; metadataBytes: number };
}

export type ReplyHeader =
  | { kind: 'series'; streams: StreamInfo[] }
  | { kind: 'names'; names: string[] }
  | { kind: 'stats'; stats: IndexStats }
  | { kind: 'blocks'; refs: WireBlockRef[] }
  /**
   * The owner's samples from `coverFromMs` on (null: it holds nothing uncommitted and sends none),
   * and the durable blocks whose samples before `coverFromMs` the asker reads from the object store.
   */
  | { kind: 'samples'; coverFromMs: number | null; blocks: BlockMeta[]; series: WireSeries[] }
  | { kind: 'labelSets'; series: Labels[] }
  | { kind: 'exemplars'; series: WireSeriesExemplars[] }
  | { kind: 'error'; message: string };

export interface ReplyFrame {
  header: ReplyHeader;
  body: Buffer;
}

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function encodeFrame(header: ReplyHeader, body: Buffer[] = []): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32LE(json.length, 0);
  return Buffer.concat([prefix, json, ...body]);
}

export function decodeFrame(data: Uint8Array): ReplyFrame {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < 4) throw new ProtocolError(`reply frame of ${bytes.length} bytes is shorter than its 4-byte header length`);
  const headerBytes = bytes.readUInt32LE(0);
  if (4 + headerBytes > bytes.length) throw new ProtocolError(`reply frame header of ${headerBytes} bytes passes the frame's ${bytes.length} bytes`);
  const header = JSON.parse(bytes.toString('utf8', 4, 4 + headerBytes)) as ReplyHeader;
  return { header, body: bytes.subarray(4 + headerBytes) };
}

/** The bytes of a block's entries: timestamps (i64 LE), line ends (u32 LE), lines, then metadata as JSON when any. */
export function encodeInlineBlock(data: BlockData): { inline: NonNullable<WireBlockRef['inline']>; body: Buffer[] } {
  const entries = data.timestampsNs.length;
  const timestamps = Buffer.from(data.timestampsNs.buffer, data.timestampsNs.byteOffset, entries * 8);
  const lineEnds = Buffer.from(data.lineEnds.buffer, data.lineEnds.byteOffset, entries * 4);
  const metadata = data.structuredMetadata === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(data.structuredMetadata.map((pairs) => pairs ?? null)), 'utf8');
  return { inline: { entries, linesBytes: data.lines.length, metadataBytes: metadata.length }, body: [timestamps, lineEnds, data.lines, metadata] };
}

export function inlineBodyBytes(inline: NonNullable<WireBlockRef['inline']>): number {
  return inline.entries * 12 + inline.linesBytes + inline.metadataBytes;
}

export function decodeInlineBlock(stream: StreamInfo, inline: NonNullable<WireBlockRef['inline']>, body: Buffer): BlockData {
  if (inlineBodyBytes(inline) > body.length) throw new ProtocolError(`inline block of ${inlineBodyBytes(inline)} bytes passes the ${body.length} bytes left in its frame`);
  const timestampsNs = new BigInt64Array(inline.entries);
  Buffer.from(timestampsNs.buffer).set(body.subarray(0, inline.entries * 8));
  const lineEnds = new Uint32Array(inline.entries);
  Buffer.from(lineEnds.buffer).set(body.subarray(inline.entries * 8, inline.entries * 12));
  let offset = inline.entries * 12;
  const lines = Buffer.from(body.subarray(offset, offset + inline.linesBytes));
  offset += inline.linesBytes;
  if (inline.entries > 0 && lineEnds[inline.entries - 1]! !== lines.length) throw new ProtocolError('inline block: the last line end does not match the line bytes');
  const data: BlockData = { stream, timestampsNs, lines, lineEnds };
  if (inline.metadataBytes > 0) {
    const pairs = JSON.parse(body.toString('utf8', offset, offset + inline.metadataBytes)) as Array<LabelPair[] | null>;
    data.structuredMetadata = pairs.map((entry) => entry ?? undefined);
  }
  return data;
}

/** Entries [from, to) of a block, as a block of their own (line ends rebased). */
export function sliceBlockData(data: BlockData, from: number, to: number): BlockData {
  const lineStart = from === 0 ? 0 : data.lineEnds[from - 1]!;
  const lineEnds = new Uint32Array(to - from);
  for (let i = from; i < to; i++) lineEnds[i - from] = data.lineEnds[i]! - lineStart;
  const sliced: BlockData = {
    stream: data.stream,
    timestampsNs: data.timestampsNs.slice(from, to),
    lines: data.lines.subarray(lineStart, to === 0 ? 0 : data.lineEnds[to - 1]!),
    lineEnds,
  };
  if (data.structuredMetadata !== undefined) sliced.structuredMetadata = data.structuredMetadata.slice(from, to);
  return sliced;
}
