// The PromQL module's public surface. The Prometheus HTTP API, the ruler and the CLI import only from
// here: parse and print (format_query), check selectors (match[]), and run queries over a MetricsSource.

export { parseExpr, parseMetricSelector } from './syntax/parser.ts';
export { formatExpr } from './syntax/printer.ts';
export { prettifyExpr } from './syntax/prettier.ts';
export { PromQLParseError } from './syntax/errors.ts';
export { typeOf } from './syntax/types.ts';
export type { Expr, ValueType } from './syntax/ast.ts';
export { PromQLQueryError, TOO_MANY_SAMPLES_MESSAGE, type QueryErrorKind } from './engine/errors.ts';
export {
  PromQLEngine,
  toPrometheusData,
  prometheusDataJson,
  DEFAULT_LOOKBACK_DELTA_MS,
  DEFAULT_MAX_SAMPLES,
  DEFAULT_SUBQUERY_STEP_MS,
  DEFAULT_TIMEOUT_MS,
  type InstantSample,
  type PromQLEngineOptions,
  type QueryOptions,
  type QueryResult,
  type QueryValue,
  type RangeSeriesResult,
} from './engine/engine.ts';
