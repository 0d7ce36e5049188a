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
  timestampNs: bigint;
  streamLabels: Labels;
  /** The pipeline's result; null when the pipeline has no label stages and no metadata was involved. */
  entry: PipelineEntry | null;
  metadata: LabelPair[] | undefined;
  block: BlockData;
  index: number;
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
  const streamLabels = block.stream.labels;
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
  const selected: SelectedLine = { timestampNs: 0n, streamLabels, entry: null, metadata: undefined, block, index: 0 };
  let entry: PipelineEntry | null = null;
  lines: for (let i = options.backward ? to - 1 : from; options.backward ? i >= from : i < to; i += step) {
    if (mask !== null && mask[i - from] === 0) continue;
    const metadata = metadataColumn?.[i];
    selected.timestampNs = block.timestampsNs[i]!;
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
        if (entry === null) entry = { timestampNs: selected.timestampNs, line, labels: new LabelsBuilder(streamLabels, metadata) };
        else {
          entry.timestampNs = selected.timestampNs;
          entry.line = line;
          entry.labels.reset(streamLabels, metadata);
        }
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
