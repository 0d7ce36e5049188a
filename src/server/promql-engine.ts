// The PromQL engine as the Prometheus HTTP API routes call it: results in Prometheus' JSON shapes
// (samples as [seconds, "value"]), and errors tagged with the API's error types (a parse error is
// bad_data → 400, an evaluation error execution → 422, timeout and cancellation → 503).

import { PromQLEngine, prometheusDataJson, toPrometheusData, type PromQLEngineOptions } from '../promql/engine/engine.ts';
import { PromQLQueryError } from '../promql/engine/errors.ts';
import { PromQLParseError } from '../promql/syntax/errors.ts';
import { parseExpr } from '../promql/syntax/parser.ts';
import { formatExpr } from '../promql/syntax/printer.ts';
import type { MetricsSource } from '../tsdb/types.ts';
import type { PromqlAnswer, PromqlEngine, PromqlExemplars, PromqlQueryOptions, PromqlResult } from './prometheus-routes.ts';

class TaggedError extends Error {
  readonly errorType: 'bad_data' | 'execution' | 'timeout' | 'canceled';
  constructor(errorType: TaggedError['errorType'], message: string) {
    super(message);
    this.name = 'PromqlApiError';
    this.errorType = errorType;
  }
}

function tag(error: unknown): unknown {
  if (error instanceof PromQLParseError) return new TaggedError('bad_data', error.message);
  if (error instanceof PromQLQueryError) {
    if (error.kind === 'timeout') return new TaggedError('timeout', error.message);
    if (error.kind === 'canceled') return new TaggedError('canceled', error.message);
    if (error.kind === 'bad_data') return new TaggedError('bad_data', error.message);
    return new TaggedError('execution', error.message);
  }
  return error;
}

export function createPromqlApiEngine(source: MetricsSource, options: PromQLEngineOptions = {}): PromqlEngine {
  const engine = new PromQLEngine(source, options);
  const answer = (result: Awaited<ReturnType<PromQLEngine['instantQuery']>>): PromqlAnswer => ({
    // Built only if a caller reads it: the HTTP routes send dataJson's text.
    get data() {
      return toPrometheusData(result.value) as PromqlResult;
    },
    dataJson: () => prometheusDataJson(result.value),
    ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
    ...(result.infos.length > 0 ? { infos: result.infos } : {}),
  });
  const queryOptions = (options: PromqlQueryOptions) => ({
    signal: options.signal ?? AbortSignal.timeout(options.timeoutMs),
    ...(options.lookbackDeltaMs !== undefined ? { lookbackDeltaMs: options.lookbackDeltaMs } : {}),
  });
  return {
    async instantQuery(tenant, query, timeMs, options) {
      try {
        return answer(await engine.instantQuery(tenant, query, timeMs, queryOptions(options)));
      } catch (error) {
        throw tag(error);
      }
    },
    async rangeQuery(tenant, query, startMs, endMs, stepMs, options) {
      try {
        return answer(await engine.rangeQuery(tenant, query, startMs, endMs, stepMs, queryOptions(options)));
      } catch (error) {
        throw tag(error);
      }
    },
    formatQuery(query) {
      try {
        return formatExpr(parseExpr(query));
      } catch (error) {
        throw tag(error);
      }
    },
    async queryExemplars(_tenant, query): Promise<PromqlExemplars[]> {
      // The TSDB keeps no exemplars yet; the query is still checked, as Prometheus checks it.
      try {
        parseExpr(query);
      } catch (error) {
        throw tag(error);
      }
      return [];
    },
  };
}
