// Builds a runnable pipeline from the AST's stages, and splits off what can run before a line is even
// decoded: literal line filters (searched in raw block bytes) and the literals the store can use to
// skip blocks.

import type { LabelPair, Labels } from '../../push/types.ts';
import type { RequiredLiteral } from '../../store/types.ts';
import type { Stage } from '../syntax/ast.ts';
import { analyzeRegexLiterals } from '../../regex/index.ts';
import { decolorizeStage } from './decolorize.ts';
import { dropLabelsStage } from './drop-labels.ts';
import { jsonParserStage } from './json-parser.ts';
import { keepLabelsStage } from './keep-labels.ts';
import { labelFilterStage } from './label-filter.ts';
import { labelFormatStage } from './label-format.ts';
import { labelPrefilters } from './label-prefilter.ts';
import type { NeededLabels } from './label-hints.ts';
import { LabelsBuilder, type PipelineEntry, type PipelineStage } from './labels-builder.ts';
import { compileLineFilter, isPureLiteralFilter, lineFilterStage, literalNeedles, type LinePredicate } from './line-filter.ts';
import { lineFormatStage } from './line-format.ts';
import { logfmtParserStage } from './logfmt-parser.ts';
import { patternParserStage } from './pattern-parser.ts';
import { regexpParserStage } from './regexp-parser.ts';
import { unpackParserStage } from './unpack-parser.ts';

/**
 * A filter on raw bytes: keep lines containing any needle (or, negated, none of them). A
 * case-insensitive filter (ASCII needles, searched in an ASCII-lowercased copy of the block) is only a
 * prefilter: the exact predicate still runs on the lines it keeps, because RE2's Unicode folding also
 * maps e.g. the Kelvin sign to `k`.
 */
export interface RawLineFilter {
  negated: boolean;
  needles: Buffer[];
  /**
   * The needles as strings, for entries that are already decoded (live tail). A label prefilter may
   * search shorter byte strings than these (see LabelPrefilter.rawNeedles): both hold for every line
   * the pipeline keeps.
   */
  texts: string[];
  caseInsensitive: boolean;
  /**
   * Per needle (case-sensitive filters only): true when it is a logfmt key's last run, which counts
   * only where it ends a key (see isKeyEnd in label-prefilter.ts). Lets one pass for `norm` stand for
   * `norm=` and `norm\u00a0=`, and not be taken for `norm` in `grad_norm 2.1`.
   */
  keyEnd?: boolean[];
  /**
   * Set on prefilters implied by label filters (see label-prefilter.ts): they hold only for lines
   * whose stream has none of these labels and that carry no structured metadata.
   */
  unlessLabels?: string[];
}

export interface CompiledPipeline {
  /** Line filters hoisted to run on raw bytes, before decoding. */
  rawFilters: RawLineFilter[];
  /** Other line predicates hoisted ahead of every label stage (run on the decoded line). */
  linePredicates: LinePredicate[];
  /** Stages that need a label set. Empty when the pipeline is only line filters. */
  stages: PipelineStage[];
  requiredLiterals: RequiredLiteral[];
}

export interface PipelineOutput {
  line: string;
  labels: LabelsBuilder;
}

export function buildStage(stage: Stage, needed: NeededLabels = null): PipelineStage | null {
  switch (stage.kind) {
    case 'lineFilter': {
      const predicate = compileLineFilter(stage);
      return predicate ? lineFilterStage(predicate) : null;
    }
    case 'json':
      return jsonParserStage(stage.params, needed);
    case 'logfmt':
      return logfmtParserStage(stage, needed);
    case 'regexp':
      return regexpParserStage(stage.pattern, needed);
    case 'pattern':
      return patternParserStage(stage.pattern, needed);
    case 'unpack':
      return unpackParserStage();
    case 'labelFilter':
      return labelFilterStage(stage.filter);
    case 'lineFormat':
      return lineFormatStage(stage.template);
    case 'labelFormat':
      return labelFormatStage(stage.ops);
    case 'drop':
      return dropLabelsStage(stage.labels);
    case 'keep':
      return keepLabelsStage(stage.labels);
    case 'decolorize':
      return decolorizeStage();
  }
}

function changesLine(stage: Stage): boolean {
  return stage.kind === 'lineFormat' || stage.kind === 'unpack' || stage.kind === 'decolorize';
}

export interface PipelineOptions {
  /** The label a metric query unwraps: lines without it give no sample. */
  unwrapLabel?: string;
  /** The parsed labels the rest of the query reads (see label-hints.ts); null or absent: all. */
  neededLabels?: NeededLabels;
}

export function compilePipeline(stages: Stage[], options: PipelineOptions = {}): CompiledPipeline {
  const rawFilters: RawLineFilter[] = [];
  const linePredicates: LinePredicate[] = [];
  const rest: PipelineStage[] = [];
  const requiredLiterals: RequiredLiteral[] = [];
  let lineChanged = false;
  for (const stage of stages) {
    if (changesLine(stage)) lineChanged = true;
    if (stage.kind === 'lineFilter' && !lineChanged) {
      const predicate = compileLineFilter(stage);
      if (!predicate) continue;
      const needles = literalNeedles(stage);
      if (needles && needles.needles.length === 1) {
        requiredLiterals.push({ literal: needles.needles[0]!, caseInsensitive: needles.caseInsensitive });
      }
      if (isPureLiteralFilter(stage)) {
        const texts =
          stage.op === '|~' || stage.op === '!~'
            ? stage.values.flatMap((v) => (v.kind === 'text' ? (analyzeRegexLiterals(v.value).alternatives ?? []) : []))
            : stage.values.map((v) => (v.kind === 'text' ? v.value : ''));
        rawFilters.push({ negated: stage.op === '!=' || stage.op === '!~', needles: texts.map((t) => Buffer.from(t, 'utf8')), texts, caseInsensitive: false });
        continue;
      }
      const prefilter = regexPrefilter(stage);
      if (prefilter) rawFilters.push(prefilter);
      linePredicates.push(predicate);
      continue;
    }
    const built = buildStage(stage, options.neededLabels ?? null);
    if (built) rest.push(built);
  }
  for (const prefilter of labelPrefilters(stages, options.unwrapLabel)) {
    const needles = prefilter.rawNeedles;
    rawFilters.push({
      negated: false,
      needles: needles.map((needle) => needle.bytes),
      ...(needles.some((needle) => needle.keyEnd) ? { keyEnd: needles.map((needle) => needle.keyEnd) } : {}),
      texts: prefilter.needles,
      caseInsensitive: false,
      unlessLabels: prefilter.labels,
    });
  }
  return { rawFilters, linePredicates, stages: rest, requiredLiterals };
}

/**
 * A raw-byte prefilter for a positive regex filter: its literal alternatives (ASCII-folded when the
 * regex is `(?i)`), or a literal every match must contain. Null when there is none.
 */
function regexPrefilter(stage: Stage & { kind: 'lineFilter' }): RawLineFilter | null {
  if (stage.op !== '|~') return null;
  const needles = literalNeedles(stage);
  if (!needles || needles.needles.some((n) => n.length === 0)) return null;
  if (needles.caseInsensitive) {
    if (needles.needles.some((n) => /[^\x00-\x7f]/.test(n))) return null;
    const lowered = needles.needles.map((n) => n.toLowerCase());
    return { negated: false, needles: lowered.map((n) => Buffer.from(n, 'latin1')), texts: lowered, caseInsensitive: true };
  }
  return { negated: false, needles: needles.needles.map((n) => Buffer.from(n, 'utf8')), texts: needles.needles, caseInsensitive: false };
}

/** Runs the non-hoisted stages. Returns null when a stage drops the entry. */
export function runStages(
  pipeline: CompiledPipeline,
  streamLabels: Labels,
  metadata: LabelPair[] | undefined,
  timestampNs: bigint,
  line: string,
): PipelineEntry | null {
  const entry: PipelineEntry = { timestampNs, line, labels: new LabelsBuilder(streamLabels, metadata) };
  for (const stage of pipeline.stages) if (!stage.process(entry)) return null;
  return entry;
}

/** Runs every stage (hoisted ones included) on one decoded line: for tail and single-entry tests. */
export function runWholePipeline(
  pipeline: CompiledPipeline,
  streamLabels: Labels,
  metadata: LabelPair[] | undefined,
  timestampNs: bigint,
  line: string,
): PipelineEntry | null {
  for (const raw of pipeline.rawFilters) {
    // Case-insensitive raw filters are prefilters only; their exact predicate is in linePredicates.
    if (raw.caseInsensitive) continue;
    if (raw.unlessLabels && !labelPrefilterApplies(raw.unlessLabels, streamLabels, metadata !== undefined && metadata.length > 0)) continue;
    const found = raw.texts.some((needle) => line.includes(needle));
    if (found === raw.negated) return null;
  }
  for (const predicate of pipeline.linePredicates) if (!predicate(line)) return null;
  return runStages(pipeline, streamLabels, metadata, timestampNs, line);
}

/** Whether a label-implied prefilter holds for lines of this stream (see RawLineFilter.unlessLabels). */
export function labelPrefilterApplies(labels: string[], streamLabels: Labels, hasMetadata: boolean): boolean {
  if (hasMetadata) return false;
  for (const name of labels) if (Object.hasOwn(streamLabels, name)) return false;
  return true;
}
