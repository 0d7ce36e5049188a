// The LogQL module's public surface: the engine, the live-tail filter, and the parser re-exports.
// The server, the ruler and the CLI import only from here.

import type { LogSource } from '../store/types.ts';
import type { LabelPair, Labels, PushEntry } from '../push/types.ts';
import { QueryError } from './api.ts';
import { parseExpr } from './syntax/index.ts';
import { compilePipeline, runWholePipeline } from './log/pipeline.ts';
import { StageBuildError } from './log/line-filter.ts';
import { IpPatternError } from './log/ip.ts';
import { compileMatcher } from './log/label-filter.ts';
import { createLogQLEngine, ENGINE_DEFAULTS, type EngineOptions as InternalEngineOptions, type LogQLEngine } from './engine/engine.ts';

export { parseExpr, parseSelector, formatQuery } from './syntax/index.ts';
export { QueryError, QueryLimitError } from './api.ts';
export type { QueryParams, QueryResult, StreamResult, SeriesResult, SampleResult, LogEntryResult, QueryStatistics } from './api.ts';
export type { LogQLEngine };
export type { ScanBudgetStats } from './engine/scan-budget.ts';
export { ENGINE_DEFAULTS };

/** The engine's options as callers give them; the parser is supplied here. Documented in engine/engine.ts. */
export type EngineOptions = Omit<InternalEngineOptions, 'parse'>;

export function createEngine(source: LogSource, options: EngineOptions = {}): LogQLEngine {
  return createLogQLEngine(source, { ...options, parse: parseExpr });
}

export interface TailMatch {
  labels: Labels;
  line: string;
  structuredMetadata?: Labels;
  parsed?: Labels;
}

export type TailFilter = (labels: Labels, entry: PushEntry) => TailMatch | null;

/** For live tail: the selector's matchers and the whole pipeline applied to one pushed entry. */
export function compileTailFilter(query: string): TailFilter {
  const expr = parseExpr(query);
  if (expr.kind !== 'log') throw new QueryError('tail requires a log query, not a metric query');
  let pipeline;
  let matchers;
  try {
    pipeline = compilePipeline(expr.pipeline);
    matchers = expr.matchers.map((m) => ({ name: m.name, test: compileMatcher(m) }));
  } catch (error) {
    if (error instanceof StageBuildError || error instanceof IpPatternError) throw new QueryError(error.message);
    throw error;
  }
  return (labels, entry) => {
    for (const matcher of matchers) if (!matcher.test(labels[matcher.name] ?? '')) return null;
    const metadata: LabelPair[] | undefined = entry.structuredMetadata?.length ? entry.structuredMetadata : undefined;
    const result = runWholePipeline(pipeline, labels, metadata, entry.timestampNs, entry.line);
    if (!result) return null;
    const match: TailMatch = { labels: result.labels.toLabels(), line: result.line };
    const sm = result.labels.labelsOf('metadata');
    const parsed = result.labels.labelsOf('parsed');
    if (Object.keys(sm).length > 0) match.structuredMetadata = sm;
    if (Object.keys(parsed).length > 0) match.parsed = parsed;
    return match;
  };
}
