// Range aggregations (`count_over_time`, `rate`, `sum_over_time(… | unwrap x)`, …): gathers the
// samples a log range produces, then slides Loki's window (t − range − offset, t − offset] over every
// step. Lines are never materialised for counts when the pipeline has only raw-byte filters.

import type { Labels } from '../../push/types.ts';
import { QueryError } from '../api.ts';
import type { RangeAggregation, Unwrap } from '../syntax/ast.ts';
import { compileLabelFilter } from '../log/label-filter.ts';
import { neededLabels } from '../log/label-hints.ts';
import { ERROR_DETAILS_LABEL, ERROR_LABEL, ErrorType, LabelsBuilder } from '../log/labels-builder.ts';
import { formatLabels } from '../../push/labels.ts';
import { ConversionError, parseGoDurationNs, parseGoFloat, parseHumanBytes } from '../log/units.ts';
import { hasMetadata, lineBytes, releaseBlockColumns } from './block-scan.ts';
import { scanBlock, selectBlocks, selectPipeline, splitNs, timestampAfter, type SelectedLine } from './log-selection.ts';
import type { CompiledPipeline } from '../log/pipeline.ts';
import type { QueryContext } from './query-context.ts';
import { groupLabels, labelsKey } from './series-labels.ts';
import { newSeries, type StepSeries } from './step-series.ts';
import { additiveWithoutUnwrap, bucketOf, countBlockIntoBuckets, stepEdges, type StepEdges } from './step-buckets.ts';
import type { BlockData } from '../../store/types.ts';
import { rawBytesOf } from './scan-budget.ts';
import { framesTogether } from './frame-order.ts';
import type { QueryStatistics } from '../api.ts';
import type { SampleSeries } from './scan-types.ts';

export type { SampleSeries };

const BLOCK_LOAD_CONCURRENCY = 4;

export function pipelineErrorMessage(errorType: string, labels: Labels): string {
  return (
    `pipeline error: '${errorType}' for series: '${formatLabels(labels)}'.\n` +
    `Use a label filter to intentionally skip this error. (e.g | __error__!="${errorType}").\n` +
    `To skip all potential errors you can match empty errors.(e.g __error__="")\n` +
    `The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )\n`
  );
}

function convertUnwrapped(unwrap: Unwrap, text: string): number {
  switch (unwrap.conversion) {
    case '':
      return parseGoFloat(text);
    case 'duration':
    case 'duration_seconds':
      return parseGoDurationNs(text) / 1e9;
    case 'bytes':
      return parseHumanBytes(text);
  }
}

export interface SampleCollector {
  pipeline: CompiledPipeline;
  /** Whether lines must be decoded even when no stage needs them (bytes_* after a line-changing stage). */
  needLine: boolean;
  visit(selected: SelectedLine): void;
  series: Map<string, SampleSeries>;
  /** Window edges when the aggregation is counted per interval instead of per sample. */
  edges: StepEdges | null;
  /** Counts a block straight into intervals; false when the block needs the per-line path. */
  countBlock(block: BlockData, options: { startNs: bigint; endNs: bigint }, stats: QueryStatistics): boolean;
}

/**
 * Turns the entries of a log range into samples per series. Pure and self-contained, so a worker
 * thread can run it on the blocks it loads and send the series back for merging.
 */
export function createSampleCollector(node: RangeAggregation, baseNs: bigint, stepsNs?: bigint[]): SampleCollector {
  const range = node.range;
  const unwrap = range.unwrap;
  const grouping = node.grouping;
  // Grouped `by (…)`, only the grouping labels and those the stages read can reach a series.
  const needed = grouping && !grouping.without ? neededLabels(range.log.pipeline, grouping.labels, unwrap) : null;
  const pipeline = selectPipeline(range.log, { ...(unwrap ? { unwrapLabel: unwrap.label } : {}), neededLabels: needed });
  const series = new Map<string, SampleSeries>();
  const postFilters = unwrap?.postFilters.map(compileLabelFilter) ?? [];
  const op = node.op;
  const wantBytes = op === 'bytes_over_time' || op === 'bytes_rate';

  // Stream label objects are shared by every entry of a block, so their series is looked up once.
  const streamSeries = new WeakMap<Labels, SampleSeries>();
  const seriesFor = (labels: Labels, sharedLabels: boolean): SampleSeries => {
    let entry = sharedLabels ? streamSeries.get(labels) : undefined;
    if (!entry) {
      let target = labels;
      if (grouping) target = groupLabels(labels, grouping.labels, grouping.without);
      const key = labelsKey(target);
      entry = series.get(key);
      if (!entry) {
        entry = { labels: target, key, times: [], values: [], sorted: true };
        series.set(key, entry);
      }
      if (sharedLabels) streamSeries.set(labels, entry);
    }
    return entry;
  };
  // `by (…)`: the series key straight from the builder's values, in labelsKey's format, without
  // copying the entry's labels (most entries land in an existing series).
  const byNames = grouping && !grouping.without ? [...new Set(grouping.labels)].sort() : null;
  // `by ()` (a pushed-down `sum(…)`): every entry lands in the one series with no labels.
  let onlyGroup: SampleSeries | null = null;
  const seriesForGroup = (builder: LabelsBuilder): SampleSeries => {
    if (onlyGroup !== null) return onlyGroup;
    let key = '';
    for (const name of byNames!) {
      const value = builder.get(name);
      if (value !== undefined && value !== '') key += `${name}\u0000${value}\u0001`;
    }
    let entry = series.get(key);
    if (!entry) {
      const labels: Labels = {};
      for (const name of byNames!) {
        const value = builder.get(name);
        if (value !== undefined && value !== '') labels[name] = value;
      }
      entry = { labels, key, times: [], values: [], sorted: true };
      series.set(key, entry);
    }
    if (byNames!.length === 0) onlyGroup = entry;
    return entry;
  };
  // `by (…)` naming only stream labels: a parser or structured metadata that finds a key of the same
  // name stores it as `<key>_extracted`, so only stages that delete or rename labels (drop, keep,
  // label_format, unpack) or an unwrap of a grouping label can make an entry's group differ from its
  // stream's. Without those, a stream that has every grouping label has one series for all its
  // entries, looked up once instead of keyed line by line.
  const groupFollowsStream =
    byNames !== null &&
    byNames.length > 0 &&
    !byNames.some((name) => name.startsWith('__') || name === unwrap?.label) &&
    !range.log.pipeline.some((stage) => stage.kind === 'drop' || stage.kind === 'keep' || stage.kind === 'labelFormat' || stage.kind === 'unpack');
  /** Per stream: its one series when the stream fixes the group, else null (keyed per entry). */
  const streamGroups = new WeakMap<Labels, SampleSeries | null>();
  const seriesOfEntry = (streamLabels: Labels, builder: LabelsBuilder): SampleSeries => {
    if (!groupFollowsStream) return seriesForGroup(builder);
    let entry = streamGroups.get(streamLabels);
    if (entry === undefined) {
      entry = byNames.every((name) => Object.hasOwn(streamLabels, name)) ? seriesForGroup(builder) : null;
      streamGroups.set(streamLabels, entry);
    }
    return entry ?? seriesForGroup(builder);
  };
  // Additive aggregations count straight into the intervals between window edges, whole blocks at a
  // time when only raw filters run (countBlock), else line by line: no sample arrays to grow and sort.
  const edges = stepsNs && stepsNs.length > 0 && additiveWithoutUnwrap(node) ? stepEdges(node, stepsNs, baseNs) : null;
  const base = splitNs(baseNs);
  const pushSample = (entry: SampleSeries, t: number, value: number) => {
    if (entry.sorted && entry.times.length > 0 && entry.times[entry.times.length - 1]! > t) entry.sorted = false;
    entry.times.push(t);
    entry.values.push(value);
  };
  /** The interval the previous line fell in: lines come in time order within a block. */
  let lastInterval = 0;
  const countSample = (entry: SampleSeries, t: number, value: number) => {
    const relative = edges!.relative;
    let k = lastInterval;
    if (!(k < relative.length && relative[k]! >= t && (k === 0 || relative[k - 1]! < t))) k = lastInterval = bucketOf(edges!, t);
    // Past the last window's end: in no window.
    if (k >= relative.length) return;
    (entry.bucketCounts ??= new Float64Array(relative.length))[k]! += 1;
    if (wantBytes) (entry.bucketBytes ??= new Float64Array(relative.length))[k]! += value;
  };
  const push = edges === null ? pushSample : countSample;

  const visit = (selected: SelectedLine) => {
    if (!unwrap && !selected.entry && !selected.metadata) {
      push(seriesFor(selected.streamLabels, true), timestampAfter(selected.timestampWords, selected.index, base), wantBytes ? lineBytes(selected.block, selected.index) : 1);
      return;
    }
    const builder = selected.entry?.labels ?? new LabelsBuilder(selected.streamLabels, selected.metadata);
    let value = 1;
    if (wantBytes) value = selected.entry ? Buffer.byteLength(selected.entry.line) : lineBytes(selected.block, selected.index);
    if (unwrap) {
      const text = builder.get(unwrap.label);
      // An entry without the label yields no sample (Loki skips it rather than erroring).
      if (text === undefined) return;
      builder.delete(unwrap.label);
      try {
        value = convertUnwrapped(unwrap, text);
      } catch (error) {
        value = 0;
        builder.setError(ErrorType.sampleExtraction, error instanceof ConversionError ? error.message : String(error));
      }
      for (const filter of postFilters) if (!filter(builder)) return;
    }
    const errorType = builder.get(ERROR_LABEL);
    if (errorType !== undefined) {
      const labels = builder.toLabels();
      delete labels[ERROR_DETAILS_LABEL];
      throw new QueryError(pipelineErrorMessage(errorType, labels));
    }
    let target: SampleSeries;
    if (builder.isStreamOnly()) target = seriesFor(selected.streamLabels, true);
    else if (byNames !== null) target = seriesOfEntry(selected.streamLabels, builder);
    else target = seriesFor(builder.toLabels(), false);
    push(target, timestampAfter(selected.timestampWords, selected.index, base), value);
  };

  const needLine = wantBytes && (pipeline.stages.length > 0 || pipeline.linePredicates.length > 0);
  const wholeBlocks = edges !== null && pipeline.stages.length === 0 && pipeline.linePredicates.length === 0;
  const countBlock = (block: BlockData, options: { startNs: bigint; endNs: bigint }, stats: QueryStatistics): boolean => {
    // Structured metadata becomes labels of the series, so such blocks take the per-line path.
    if (!wholeBlocks || hasMetadata(block)) return false;
    const labels = block.stream.labels;
    let entry = streamSeries.get(labels);
    if (!entry) {
      const target = grouping ? groupLabels(labels, grouping.labels, grouping.without) : labels;
      const key = labelsKey(target);
      entry = series.get(key);
      if (!entry) {
        entry = { labels: target, key, times: [], values: [], sorted: true };
        series.set(key, entry);
      }
      streamSeries.set(labels, entry);
    }
    entry.bucketCounts ??= new Float64Array(edges.relative.length);
    if (wantBytes) entry.bucketBytes ??= new Float64Array(edges.relative.length);
    countBlockIntoBuckets(block, pipeline, options, stats, edges, entry.bucketCounts, wantBytes ? entry.bucketBytes! : null);
    return true;
  };
  return { pipeline, needLine, visit, series, edges, countBlock };
}

/** Adds a worker's (or another scan's) series into `into`. */
export function mergeSampleSeries(into: Map<string, SampleSeries>, from: Iterable<SampleSeries>): void {
  for (const part of from) {
    const existing = into.get(part.key);
    if (!existing) {
      into.set(part.key, part);
      continue;
    }
    if (existing.times.length > 0 && part.times.length > 0 && part.times[0]! < existing.times[existing.times.length - 1]!) existing.sorted = false;
    if (!part.sorted) existing.sorted = false;
    if (part.bucketCounts) {
      if (!existing.bucketCounts) existing.bucketCounts = part.bucketCounts;
      else for (let k = 0; k < part.bucketCounts.length; k++) existing.bucketCounts[k]! += part.bucketCounts[k]!;
    }
    if (part.bucketBytes) {
      if (!existing.bucketBytes) existing.bucketBytes = part.bucketBytes;
      else for (let k = 0; k < part.bucketBytes.length; k++) existing.bucketBytes[k]! += part.bucketBytes[k]!;
    }
    for (let i = 0; i < part.times.length; i++) {
      existing.times.push(part.times[i]!);
      existing.values.push(part.values[i]!);
    }
  }
}

export function windowBounds(node: RangeAggregation, stepsNs: bigint[]): { baseNs: bigint; startNs: bigint; endNs: bigint } {
  const baseNs = stepsNs[0]! - node.range.offsetNs - node.range.rangeNs;
  return { baseNs, startNs: baseNs + 1n, endNs: stepsNs[stepsNs.length - 1]! - node.range.offsetNs + 1n };
}

export async function evaluateRangeAggregation(context: QueryContext, node: RangeAggregation, stepsNs: bigint[]): Promise<StepSeries[]> {
  const rangeNs = node.range.rangeNs;
  const offsetNs = node.range.offsetNs;
  const { baseNs, startNs, endNs } = windowBounds(node, stepsNs);
  const options = { startNs, endNs };
  const collector = createSampleCollector(node, baseNs, stepsNs);
  const refs = framesTogether(await selectBlocks(context, node.range.log, collector.pipeline, options));
  const series = collector.series;
  const offloaded = context.offload ? await context.offload.samples(context, node, baseNs, stepsNs, options, refs) : { remaining: refs, done: Promise.resolve([]) };
  for (let i = 0; i < offloaded.remaining.length; i += BLOCK_LOAD_CONCURRENCY) {
    context.checkDeadline();
    const batch = offloaded.remaining.slice(i, i + BLOCK_LOAD_CONCURRENCY);
    const release = await context.holdScanBytes(rawBytesOf(batch));
    try {
      const blocks = await Promise.all(batch.map((ref) => ref.load()));
      context.stats.blocksRead += blocks.length;
      context.noteUnreadable(blocks);
      for (let k = 0; k < blocks.length; k++) {
        const block = blocks[k]!;
        if (!collector.countBlock(block, options, context.stats)) scanBlock(block, collector.pipeline, options, context, collector.visit, collector.needLine);
        // A ref with a location was read from its part for this scan alone (a head's ref shares the head's data).
        if (batch[k]!.location !== undefined) releaseBlockColumns(block);
        await context.pause();
      }
    } finally {
      release();
    }
  }
  mergeSampleSeries(series, await offloaded.done);

  const stepCount = stepsNs.length;
  const result: StepSeries[] = [];
  const rangeSeconds = Number(rangeNs) / 1e9;
  if (collector.edges !== null) return bucketedWindows(node, collector.edges, series, stepsNs, baseNs);
  for (const samples of series.values()) {
    if (!samples.sorted) sortSamples(samples);
    const out = newSeries(samples.labels, samples.key, stepCount);
    let lo = 0;
    let hi = 0;
    const times = samples.times;
    for (let s = 0; s < stepCount; s++) {
      const windowEnd = Number(stepsNs[s]! - offsetNs - baseNs);
      const windowStart = windowEnd - Number(rangeNs);
      while (hi < times.length && times[hi]! <= windowEnd) hi++;
      while (lo < hi && times[lo]! <= windowStart) lo++;
      if (hi <= lo) continue;
      const value = aggregateWindow(node, samples, lo, hi, rangeSeconds, windowStart, windowEnd);
      if (value === null) continue;
      out.values[s] = value;
      out.present[s] = 1;
    }
    if (out.present.some((p) => p === 1)) result.push(out);
  }
  if (node.op === 'absent_over_time') return absentSeries(node, result, stepCount);
  return result;
}

/** Window values of an additive aggregation from its per-interval counts (samples folded in first). */
function bucketedWindows(node: RangeAggregation, edges: StepEdges, series: Map<string, SampleSeries>, stepsNs: bigint[], baseNs: bigint): StepSeries[] {
  const edgeCount = edges.relative.length;
  const wantBytes = node.op === 'bytes_over_time' || node.op === 'bytes_rate';
  const rangeSeconds = Number(node.range.rangeNs) / 1e9;
  const endIndex = new Int32Array(stepsNs.length);
  const startIndex = new Int32Array(stepsNs.length);
  for (let s = 0; s < stepsNs.length; s++) {
    const end = Number(stepsNs[s]! - node.range.offsetNs - baseNs);
    endIndex[s] = bucketOf(edges, end);
    startIndex[s] = bucketOf(edges, end - Number(node.range.rangeNs));
  }
  const result: StepSeries[] = [];
  for (const samples of series.values()) {
    const counts = samples.bucketCounts ?? new Float64Array(edgeCount);
    const bytes = wantBytes ? (samples.bucketBytes ?? new Float64Array(edgeCount)) : null;
    for (let i = 0; i < samples.times.length; i++) {
      const k = bucketOf(edges, samples.times[i]!);
      if (k >= edgeCount) continue;
      counts[k]! += 1;
      if (bytes !== null) bytes[k]! += samples.values[i]!;
    }
    // Prefix sums: interval k's running total includes everything up to edge k.
    for (let k = 1; k < edgeCount; k++) {
      counts[k]! += counts[k - 1]!;
      if (bytes !== null) bytes[k]! += bytes[k - 1]!;
    }
    const out = newSeries(samples.labels, samples.key, stepsNs.length);
    let any = false;
    for (let s = 0; s < stepsNs.length; s++) {
      const count = counts[endIndex[s]!]! - counts[startIndex[s]!]!;
      if (count <= 0) continue;
      const sum = bytes === null ? count : bytes[endIndex[s]!]! - bytes[startIndex[s]!]!;
      out.values[s] = node.op === 'rate' || node.op === 'bytes_rate' ? sum / rangeSeconds : sum;
      out.present[s] = 1;
      any = true;
    }
    if (any) result.push(out);
  }
  return result;
}

function sortSamples(samples: SampleSeries): void {
  const order = samples.times.map((_, i) => i).sort((a, b) => samples.times[a]! - samples.times[b]!);
  samples.times = order.map((i) => samples.times[i]!);
  samples.values = order.map((i) => samples.values[i]!);
  samples.sorted = true;
}

function aggregateWindow(
  node: RangeAggregation,
  samples: SampleSeries,
  lo: number,
  hi: number,
  rangeSeconds: number,
  windowStart: number,
  windowEnd: number,
): number | null {
  const values = samples.values;
  const count = hi - lo;
  let sum = 0;
  switch (node.op) {
    case 'count_over_time':
      return count;
    case 'absent_over_time':
      return 1;
    case 'rate':
      if (!node.range.unwrap) return count / rangeSeconds;
      for (let i = lo; i < hi; i++) sum += values[i]!;
      return sum / rangeSeconds;
    case 'bytes_over_time':
    case 'sum_over_time':
      for (let i = lo; i < hi; i++) sum += values[i]!;
      return sum;
    case 'bytes_rate':
      for (let i = lo; i < hi; i++) sum += values[i]!;
      return sum / rangeSeconds;
    case 'avg_over_time': {
      // Incremental mean, as Prometheus, to limit float error on long windows.
      let mean = 0;
      for (let i = lo; i < hi; i++) mean += (values[i]! - mean) / (i - lo + 1);
      return mean;
    }
    case 'min_over_time': {
      let min = values[lo]!;
      for (let i = lo + 1; i < hi; i++) if (values[i]! < min || Number.isNaN(min)) min = values[i]!;
      return min;
    }
    case 'max_over_time': {
      let max = values[lo]!;
      for (let i = lo + 1; i < hi; i++) if (values[i]! > max || Number.isNaN(max)) max = values[i]!;
      return max;
    }
    case 'stdvar_over_time':
    case 'stddev_over_time': {
      let mean = 0;
      let m2 = 0;
      for (let i = lo; i < hi; i++) {
        const n = i - lo + 1;
        const delta = values[i]! - mean;
        mean += delta / n;
        m2 += delta * (values[i]! - mean);
      }
      const variance = m2 / count;
      return node.op === 'stdvar_over_time' ? variance : Math.sqrt(variance);
    }
    case 'quantile_over_time':
      return quantile(node.param ?? 0, values.slice(lo, hi));
    case 'first_over_time':
      return values[lo]!;
    case 'last_over_time':
      return values[hi - 1]!;
    case 'rate_counter':
      return extrapolatedCounterRate(samples.times, values, lo, hi, windowStart, windowEnd, rangeSeconds);
  }
}

/** Prometheus's quantile: linear interpolation between closest ranks. */
export function quantile(q: number, input: number[]): number {
  if (input.length === 0) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...input].sort((a, b) => a - b);
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

/** Prometheus `extrapolatedRate` for counters (resets handled), over the window bounds. */
function extrapolatedCounterRate(
  times: number[],
  values: number[],
  lo: number,
  hi: number,
  windowStart: number,
  windowEnd: number,
  rangeSeconds: number,
): number | null {
  if (hi - lo < 2) return null;
  let result = values[hi - 1]! - values[lo]!;
  for (let i = lo + 1; i < hi; i++) if (values[i]! < values[i - 1]!) result += values[i - 1]!;
  const firstT = times[lo]!;
  const lastT = times[hi - 1]!;
  let durationToStart = (firstT - windowStart) / 1e9;
  const durationToEnd = (windowEnd - lastT) / 1e9;
  const sampled = (lastT - firstT) / 1e9;
  const averageBetween = sampled / (hi - lo - 1);
  if (result > 0 && values[lo]! >= 0) {
    const durationToZero = sampled * (values[lo]! / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const threshold = averageBetween * 1.1;
  let extrapolateTo = sampled;
  extrapolateTo += durationToStart < threshold ? durationToStart : averageBetween / 2;
  extrapolateTo += durationToEnd < threshold ? durationToEnd : averageBetween / 2;
  if (sampled === 0) return null;
  return (result * (extrapolateTo / sampled)) / rangeSeconds;
}

/** absent_over_time: 1 at steps where no series had a sample; labels from the selector's equalities. */
function absentSeries(node: RangeAggregation, present: StepSeries[], steps: number): StepSeries[] {
  const labels: Labels = {};
  const seen = new Set<string>();
  for (const matcher of node.range.log.matchers) {
    if (matcher.type !== '=' || seen.has(matcher.name)) {
      if (matcher.type === '=' && seen.has(matcher.name)) delete labels[matcher.name];
      continue;
    }
    seen.add(matcher.name);
    labels[matcher.name] = matcher.value;
  }
  const out = newSeries(labels, labelsKey(labels), steps);
  for (let s = 0; s < steps; s++) {
    if (present.some((series) => series.present[s] === 1)) continue;
    out.values[s] = 1;
    out.present[s] = 1;
  }
  return out.present.some((p) => p === 1) ? [out] : [];
}
