// Runs a log expression over the store: blocks from the store (pruned by time and required literals),
// then the raw-byte filters, then the decoded-line predicates, then the label stages.

import type { LabelPair, Labels } from '../../push/types.ts';
import type { BlockData, BlockRef } from '../../store/types.ts';
import type { LogExpr } from '../syntax/ast.ts';
import { compilePipeline, type CompiledPipeline, type PipelineOptions } from '../log/pipeline.ts';
import { LabelsBuilder, type PipelineEntry } from '../log/labels-builder.ts';
import { decodeLine, lineBytes, lowerBound, rawFilterMask } from './block-scan.ts';
import type { QueryContext } from './query-context.ts';
import type { QueryStatistics } from '../api.ts';

export interface SelectOptions {
  /** Inclusive. */
  startNs: bigint;
  /** Exclusive. */
  endNs: bigint;
  /** Iterate each block newest first. */
  backward?: boolean;
  /** Stop a block after this many accepted entries (a log query's limit). */
  perBlockLimit?: number;
}

/** What the visitor gets for an entry that passed the whole pipeline. */
export interface SelectedLine {
  /** Read from the block when asked for: a BigInt per line costs an allocation a count never needs. */
  readonly timestampNs: bigint;
  streamLabels: Labels;
  /** The pipeline's result; null when the pipeline has no label stages and no metadata was involved. */
  entry: PipelineEntry | null;
  metadata: LabelPair[] | undefined;
  block: BlockData;
  index: number;
  /** The block's timestamps as [low, high] 32-bit words, for timestampAfter. */
  timestampWords: Uint32Array;
}

/** The scan's one SelectedLine (and PipelineEntry) per block: the timestamp is read only when asked for. */
class BlockLine implements SelectedLine, PipelineEntry {
  entry: PipelineEntry | null = null;
  metadata: LabelPair[] | undefined = undefined;
  index = 0;
  line = '';
  readonly timestampWords: Uint32Array;
  readonly streamLabels: Labels;
  readonly block: BlockData;
  private labelsBuilder: LabelsBuilder | null = null;

  constructor(block: BlockData) {
    this.block = block;
    this.streamLabels = block.stream.labels;
    const timestamps = block.timestampsNs;
    this.timestampWords = new Uint32Array(timestamps.buffer, timestamps.byteOffset, timestamps.length * 2);
  }

  get timestampNs(): bigint {
    return this.block.timestampsNs[this.index]!;
  }

  /** The entry's labels, started over from the stream's and the line's metadata. */
  get labels(): LabelsBuilder {
    return this.labelsBuilder!;
  }

  resetLabels(metadata: LabelPair[] | undefined): void {
    if (this.labelsBuilder === null) this.labelsBuilder = new LabelsBuilder(this.streamLabels, metadata);
    else this.labelsBuilder.reset(this.streamLabels, metadata);
  }
}

/** A time as the two 32-bit words of its 64-bit value: the high one signed, the low one not. */
export interface SplitNs {
  high: number;
  low: number;
}

export function splitNs(ns: bigint): SplitNs {
  return { high: Number(BigInt.asIntN(64, ns) >> 32n), low: Number(BigInt.asUintN(32, ns)) };
}

/**
 * Entry `index`'s timestamp minus `base`, as `Number(timestamp - base)` gives it (the high words'
 * difference times 2^32 is exact, so the sum rounds once, as the conversion does), without the two
 * BigInts that expression allocates per line.
 */
export function timestampAfter(words: Uint32Array, index: number, base: SplitNs): number {
  return ((words[index * 2 + 1]! | 0) - base.high) * 4294967296 + (words[index * 2]! - base.low);
}

export function selectPipeline(expr: LogExpr, options?: PipelineOptions): CompiledPipeline {
  return compilePipeline(expr.pipeline, options);
}

export async function selectBlocks(context: QueryContext, expr: LogExpr, pipeline: CompiledPipeline, options: SelectOptions): Promise<BlockRef[]> {
  const blocks = await context.source.selectBlocks({
    tenant: context.tenant,
    matchers: expr.matchers,
    startNs: options.startNs,
    endNs: options.endNs,
    requiredLiterals: pipeline.requiredLiterals,
  });
  return blocks;
}

/**
 * Visits every entry of the block in [startNs, endNs) that passes the pipeline. `needLine` false lets
 * a metric query that has only raw filters skip decoding entirely. The `selected` object, its entry
 * and the entry's label builder are reused from line to line: a visitor copies what it keeps.
 */
export function scanBlock(
  block: BlockData,
  pipeline: CompiledPipeline,
  options: SelectOptions,
  context: { stats: QueryStatistics },
  visit: (selected: SelectedLine, line: string | null) => void,
  needLine: boolean,
): void {
  const from = lowerBound(block.timestampsNs, options.startNs);
  const to = lowerBound(block.timestampsNs, options.endNs);
  if (from >= to) return;
  context.stats.linesProcessed += to - from;
  context.stats.bytesProcessed += block.lineEnds[to - 1]! - (from === 0 ? 0 : block.lineEnds[from - 1]!);
  const mask = rawFilterMask(block, from, to, pipeline.rawFilters);
  const hasStages = pipeline.stages.length > 0 || pipeline.linePredicates.length > 0;
  const metadataColumn = block.structuredMetadata;
  const predicates = pipeline.linePredicates;
  const stages = pipeline.stages;
  // Stages from the first one on that can run on the line's bytes: the line is decoded only when a
  // later stage or the visitor reads it (a metric query after `| logfmt | x != ""` never does).
  let rawStages = 0;
  while (rawStages < stages.length && stages[rawStages]!.processRaw !== undefined && predicates.length === 0) rawStages++;
  const bytes = block.lines;
  const lineEnds = block.lineEnds;
  let accepted = 0;
  const limit = options.perBlockLimit ?? Infinity;
  const step = options.backward ? -1 : 1;
  // One object is both the visitor's SelectedLine and the stages' PipelineEntry.
  const selected = new BlockLine(block);
  const entry: BlockLine = selected;
  lines: for (let i = options.backward ? to - 1 : from; options.backward ? i >= from : i < to; i += step) {
    if (mask !== null && mask[i - from] === 0) continue;
    const metadata = metadataColumn?.[i];
    selected.metadata = metadata;
    selected.index = i;
    selected.entry = null;
    if (!hasStages && !metadata) {
      visit(selected, needLine ? decodeLine(block, i) : null);
    } else {
      const line = rawStages > 0 ? '' : decodeLine(block, i);
      for (let p = 0; p < predicates.length; p++) if (!predicates[p]!(line)) continue lines;
      if (stages.length === 0 && !metadata) {
        visit(selected, line);
      } else {
        entry.line = line;
        entry.resetLabels(metadata);
        if (rawStages > 0) {
          const start = i === 0 ? 0 : lineEnds[i - 1]!;
          const end = lineEnds[i]!;
          for (let k = 0; k < rawStages; k++) if (!stages[k]!.processRaw!(entry, bytes, start, end)) continue lines;
          if (rawStages < stages.length || needLine) entry.line = decodeLine(block, i);
        }
        for (let k = rawStages; k < stages.length; k++) if (!stages[k]!.process(entry)) continue lines;
        selected.entry = entry;
        visit(selected, rawStages === stages.length && !needLine ? null : entry.line);
      }
    }
    accepted++;
    if (accepted >= limit) break;
  }
}

export { lineBytes };
