// An in-memory LogSource for engine tests: each stream becomes blocks of at most `blockSize` entries,
// encoded exactly as the store's BlockData contract describes (lines back to back, lineEnds offsets).

import type { LabelPair, Labels } from '../../../src/push/types.ts';
import type { BlockData, BlockQuery, BlockRef, LabelMatcher, LogSource, StreamInfo } from '../../../src/store/types.ts';
import { compileRegex } from '../../../src/regex/index.ts';
import { formatLabels } from '../../../src/push/labels.ts';

export interface MemoryEntry {
  timestampNs: bigint;
  line: string;
  structuredMetadata?: LabelPair[];
}

export interface MemoryStream {
  labels: Labels;
  entries: MemoryEntry[];
}

function matches(labels: Labels, matcher: LabelMatcher): boolean {
  const value = labels[matcher.name] ?? '';
  switch (matcher.type) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return compileRegex(matcher.value, 'matcher').regexp.test(value);
    case '!~':
      return !compileRegex(matcher.value, 'matcher').regexp.test(value);
  }
}

export function encodeBlock(stream: StreamInfo, entries: MemoryEntry[]): BlockData {
  const sorted = [...entries].sort((a, b) => (a.timestampNs < b.timestampNs ? -1 : a.timestampNs > b.timestampNs ? 1 : 0));
  const buffers = sorted.map((e) => Buffer.from(e.line, 'utf8'));
  const lineEnds = new Uint32Array(sorted.length);
  let offset = 0;
  buffers.forEach((b, i) => {
    offset += b.length;
    lineEnds[i] = offset;
  });
  const hasMetadata = sorted.some((e) => e.structuredMetadata && e.structuredMetadata.length > 0);
  return {
    stream,
    timestampsNs: BigInt64Array.from(sorted.map((e) => e.timestampNs)),
    lines: Buffer.concat(buffers),
    lineEnds,
    structuredMetadata: hasMetadata ? sorted.map((e) => e.structuredMetadata) : undefined,
  };
}

export class MemorySource implements LogSource {
  readonly blocks: Array<{ tenant: string; data: BlockData }> = [];
  /** Every BlockQuery received, so tests can check pruning hints. */
  readonly queries: BlockQuery[] = [];

  constructor(streams: MemoryStream[], options: { tenant?: string; blockSize?: number } = {}) {
    const tenant = options.tenant ?? 'fake';
    const blockSize = options.blockSize ?? 1000;
    for (const stream of streams) {
      const info: StreamInfo = { id: formatLabels(stream.labels), labels: stream.labels };
      const sorted = [...stream.entries].sort((a, b) => (a.timestampNs < b.timestampNs ? -1 : a.timestampNs > b.timestampNs ? 1 : 0));
      for (let i = 0; i < sorted.length; i += blockSize) {
        this.blocks.push({ tenant, data: encodeBlock(info, sorted.slice(i, i + blockSize)) });
      }
    }
  }

  async series(tenant: string, matchers: LabelMatcher[], startNs: bigint, endNs: bigint): Promise<StreamInfo[]> {
    const refs = await this.selectBlocks({ tenant, matchers, startNs, endNs });
    const seen = new Map<string, StreamInfo>();
    for (const ref of refs) seen.set(ref.stream.id, ref.stream);
    return [...seen.values()];
  }

  async selectBlocks(query: BlockQuery): Promise<BlockRef[]> {
    this.queries.push(query);
    const refs: BlockRef[] = [];
    for (const { tenant, data } of this.blocks) {
      if (tenant !== query.tenant) continue;
      if (!query.matchers.every((m) => matches(data.stream.labels, m))) continue;
      const count = data.timestampsNs.length;
      if (count === 0) continue;
      const minTimeNs = data.timestampsNs[0]!;
      const maxTimeNs = data.timestampsNs[count - 1]!;
      if (maxTimeNs < query.startNs || minTimeNs >= query.endNs) continue;
      refs.push({
        stream: data.stream,
        minTimeNs,
        maxTimeNs,
        entryCount: count,
        rawBytes: data.lines.length,
        load: async () => data,
      });
    }
    return refs;
  }
}
