// Prometheus HTTP API over the TSDB (shared/reference/prometheus-api.md §3), at /api/v1/…,
// /prometheus/api/v1/… and /api/prom/api/v1/… (rules and alerts are the ruler's): series, labels, label
// values (with limit, match[], start/end), metadata, status/buildinfo (without `features`, so Grafana
// does not take us for Mimir), GET and POST form bodies, Prometheus' JSON envelope and error types.
// query, query_range, format_query and query_exemplars go to a PromqlEngine plugged in by the
// server; without one they answer 503 `unavailable`. query and query_range take a slot from the
// server's QueryScheduler, as LogQL queries do, so heavy PromQL cannot starve ingest or other tenants.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseRfc3339Ns } from '../push/json.ts';
import { PromQLParseError } from '../promql/syntax/errors.ts';
import { parseExpr, parseMetricSelector } from '../promql/syntax/parser.ts';
import type { SeriesExemplars } from '../tsdb/exemplar-storage.ts';
import type { Labels, MetricLabelMatcher, MetricsSource } from '../tsdb/types.ts';
import type { MetricMetadata } from '../tsdb/tsdb.ts';
import { formatSampleValue, formatUnixSeconds } from './loki-json.ts';
import { BadRequestError, parseStepMs, RequestParams } from './query-params.ts';
import { TooManyOutstandingRequestsError, type QueryScheduler } from './query-scheduler.ts';
import { resolveTenant } from './tenant.ts';

/** Prometheus' result shapes, as the engine returns them (samples as [seconds, "value"]). */
export type PromqlResult =
  | { resultType: 'vector'; result: Array<{ metric: Labels; value: [number, string] }> }
  | { resultType: 'matrix'; result: Array<{ metric: Labels; values: Array<[number, string]> }> }
  | { resultType: 'scalar'; result: [number, string] }
  | { resultType: 'string'; result: [number, string] };

export interface PromqlQueryOptions {
  /** From the `timeout` parameter or the server's limit. */
  timeoutMs: number;
  /** `lookback_delta` parameter (Prometheus 2.43+), when given. */
  lookbackDeltaMs?: number;
  /** Aborts on the deadline (which started when the request arrived) or when the client goes. */
  signal?: AbortSignal;
}

export interface PromqlAnswer {
  data: PromqlResult;
  /** `data` as JSON text, written without an object per sample; sent instead of `data` when present. */
  dataJson?: () => string;
  warnings?: string[];
  infos?: string[];
}

export interface PromqlExemplars {
  seriesLabels: Labels;
  exemplars: Array<{ labels: Labels; value: string; timestamp: number }>;
}

/**
 * What the PromQL engine implements for these routes. Errors it throws may carry
 * `errorType: 'bad_data' | 'execution' | 'timeout' | 'canceled'` (bad_data → 400, execution → 422,
 * timeout/canceled → 503); anything else is an internal error (500).
 */
export interface PromqlEngine {
  instantQuery(tenant: string, query: string, timeMs: number, options: PromqlQueryOptions): Promise<PromqlAnswer>;
  rangeQuery(tenant: string, query: string, startMs: number, endMs: number, stepMs: number, options: PromqlQueryOptions): Promise<PromqlAnswer>;
  /** Prometheus' canonical formatting of the expression; throws a bad_data error when it does not parse. */
  formatQuery(query: string): string;
  queryExemplars(tenant: string, query: string, startMs: number, endMs: number): Promise<PromqlExemplars[]>;
}

/** The TSDB as these routes read it. */
export interface PrometheusReadStore extends MetricsSource {
  getMetadata(tenant: string): Map<string, MetricMetadata>;
  /** Stored exemplars; when present, query_exemplars answers from it without the engine (cluster mode: asynchronously). */
  exemplars?(tenant: string, matcherSets: MetricLabelMatcher[][], startMs: number, endMs: number): SeriesExemplars[] | Promise<SeriesExemplars[]>;
}

export interface PrometheusRoutesOptions {
  tsdb: PrometheusReadStore;
  /** Undefined until the PromQL engine is plugged in. */
  engine: PromqlEngine | undefined;
  authEnabled: boolean;
  queryTimeoutMs: number;
  version: string;
  /** Admission shared with LogQL queries (query-routes.ts); without one, queries run at once. */
  scheduler?: QueryScheduler;
  /** Path prefixes every endpoint is served under (`/api/v1`, `/prometheus/api/v1`, …). */
  prefixes: string[];
}

const MIN_TIME_MS = -9_223_372_036_854; // Prometheus' minimum timestamp in ms (int64 ns bound)
const MAX_TIME_MS = 9_223_372_036_854;
/** setTimeout's longest delay (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Prometheus' cap on points per series of a range query. */
const MAX_POINTS_PER_SERIES = 11_000;

class PrometheusApiError extends Error {
  readonly errorType: string;
  readonly statusCode: number;
  constructor(errorType: string, statusCode: number, message: string) {
    super(message);
    this.errorType = errorType;
    this.statusCode = statusCode;
  }
}

type Run = (context: { request: FastifyRequest; reply: FastifyReply; params: RequestParams; tenant: string }) => Promise<FastifyReply>;

const badData = (message: string): PrometheusApiError => new PrometheusApiError('bad_data', 400, message);

/** Prometheus' time parameter: float Unix seconds or RFC3339. */
export function parsePrometheusTimeMs(text: string | undefined, name: string, fallbackMs: number): number {
  if (text === undefined || text === '') return fallbackMs;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    const ms = Number(text) * 1000;
    if (!Number.isFinite(ms)) throw badData(`invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`);
    return Math.round(Math.min(Math.max(ms, MIN_TIME_MS), MAX_TIME_MS));
  }
  try {
    return Number(parseRfc3339Ns(text, name) / 1_000_000n);
  } catch {
    throw badData(`invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`);
  }
}

function parseMatcherSets(params: RequestParams, required: boolean): MetricLabelMatcher[][] | undefined {
  const selectors = params.getAll('match[]');
  if (selectors.length === 0) {
    if (required) throw badData('no match[] parameter provided');
    return undefined;
  }
  return selectors.map((selector) => {
    try {
      return parseMetricSelector(selector);
    } catch (error) {
      if (error instanceof PromQLParseError) throw badData(`invalid parameter "match[]": ${error.message}`);
      throw error;
    }
  });
}

function parseListLimit(params: RequestParams): number {
  const text = params.get('limit');
  if (text === undefined || text === '') return 0;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 0) throw badData(`invalid parameter "limit": cannot parse "${text}" as a non-negative integer`);
  return limit;
}

function parseRange(params: RequestParams): { startMs: number; endMs: number } {
  const startMs = parsePrometheusTimeMs(params.get('start'), 'start', MIN_TIME_MS);
  const endMs = parsePrometheusTimeMs(params.get('end'), 'end', MAX_TIME_MS);
  if (endMs < startMs) throw badData('invalid parameter "end": end timestamp must not be before start time');
  return { startMs, endMs };
}

/**
 * Prometheus' queryExemplars: the exemplars of the series every vector selector of the query selects
 * (its matchers only: functions, offsets and `@` do not apply), in [start, end]; undefined for a
 * query without selectors. Grafana's start-up probe sends milliseconds: any
 * number is accepted as seconds.
 */
async function queryExemplars(select: NonNullable<PrometheusReadStore['exemplars']>, tenant: string, params: RequestParams): Promise<unknown[] | undefined> {
  const startMs = parsePrometheusTimeMs(params.get('start'), 'start', MIN_TIME_MS);
  const endMs = parsePrometheusTimeMs(params.get('end'), 'end', MAX_TIME_MS);
  if (endMs < startMs) throw badData('end timestamp must not be before start timestamp');
  let expr: unknown;
  try {
    expr = parseExpr(params.get('query') ?? '');
  } catch (error) {
    if (error instanceof PromQLParseError) throw badData(error.message);
    throw error;
  }
  const matcherSets: MetricLabelMatcher[][] = [];
  collectSelectors(expr, matcherSets);
  if (matcherSets.length === 0) return undefined;
  return (await select(tenant, matcherSets, startMs, endMs)).map(({ seriesLabels, exemplars }) => ({
    seriesLabels,
    exemplars: exemplars.map((exemplar) => ({ labels: exemplar.labels, value: formatSampleValue(exemplar.value), timestamp: Number(formatUnixSeconds(exemplar.timestampMs)) })),
  }));
}

/** Every vector selector's matchers, walking the plain-data AST (Prometheus' ExtractSelectors). */
function collectSelectors(node: unknown, into: MetricLabelMatcher[][]): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const child of node) collectSelectors(child, into);
    return;
  }
  const record = node as Record<string, unknown>;
  if (record.type === 'VectorSelector') {
    into.push(record.matchers as MetricLabelMatcher[]);
    return;
  }
  for (const key in record) if (key !== 'pos') collectSelectors(record[key], into);
}

function parseTimeoutMs(params: RequestParams, fallbackMs: number): number {
  const text = params.get('timeout');
  if (text === undefined || text === '') return fallbackMs;
  try {
    return Math.min(parseStepMs(text, 'timeout'), fallbackMs);
  } catch {
    throw badData(`invalid parameter "timeout": cannot parse "${text}" to a valid duration`);
  }
}

function requireQuery(params: RequestParams): string {
  const query = params.get('query');
  if (query === undefined || query === '') throw badData('invalid parameter "query": unknown position: parse error: no expression found in input');
  return query;
}

function limited<T>(items: T[], limit: number): { items: T[]; warnings?: string[] } {
  if (limit <= 0 || items.length <= limit) return { items };
  return { items: items.slice(0, limit), warnings: ['results truncated due to limit'] };
}

function paramsOf(request: FastifyRequest): RequestParams {
  return RequestParams.from(request.url, typeof request.body === 'string' ? request.body : undefined);
}

/** A query's answer: its data's JSON text when the engine writes one, else the data object. */
function answered(reply: FastifyReply, answer: PromqlAnswer): FastifyReply {
  if (answer.dataJson === undefined) return success(reply, answer.data, answer.warnings, answer.infos);
  // The same text as success()'s object, key order included.
  let body = `{"status":"success","data":${answer.dataJson()}`;
  if (answer.warnings !== undefined && answer.warnings.length > 0) body += `,"warnings":${JSON.stringify(answer.warnings)}`;
  if (answer.infos !== undefined && answer.infos.length > 0) body += `,"infos":${JSON.stringify(answer.infos)}`;
  return reply.type('application/json').send(`${body}}`);
}

function success(reply: FastifyReply, data: unknown, warnings?: string[], infos?: string[]): FastifyReply {
  const body: Record<string, unknown> = { status: 'success', data };
  if (warnings !== undefined && warnings.length > 0) body.warnings = warnings;
  if (infos !== undefined && infos.length > 0) body.infos = infos;
  return reply.type('application/json').send(body);
}

/** Maps an engine error's `errorType` to Prometheus' status codes. */
function engineError(error: unknown): PrometheusApiError | undefined {
  const errorType = (error as { errorType?: unknown } | undefined)?.errorType;
  const message = (error as Error).message;
  switch (errorType) {
    case 'bad_data':
      return new PrometheusApiError('bad_data', 400, message);
    case 'execution':
      return new PrometheusApiError('execution', 422, message);
    case 'timeout':
      return new PrometheusApiError('timeout', 503, message);
    case 'canceled':
      return new PrometheusApiError('canceled', 503, message);
    default:
      return undefined;
  }
}

export async function prometheusRoutes(app: FastifyInstance, options: PrometheusRoutesOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  // Form bodies (application/x-www-form-urlencoded) as text; RequestParams merges them with the URL.
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4 * 1024 * 1024 }, (_request, body, done) => done(null, body));
  const { tsdb } = options;

  const handler =
    (run: Run) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      try {
        const tenant = resolveTenant(request, options.authEnabled);
        return await run({ request, reply, params: paramsOf(request), tenant });
      } catch (error) {
        const mapped = error instanceof PrometheusApiError ? error : error instanceof BadRequestError ? new PrometheusApiError('bad_data', error.statusCode, error.message) : engineError(error);
        if (mapped === undefined) throw error;
        return reply.code(mapped.statusCode).type('application/json').send({ status: 'error', errorType: mapped.errorType, error: mapped.message });
      }
    };

  const engineOrUnavailable = (): PromqlEngine => {
    if (options.engine === undefined) throw new PrometheusApiError('unavailable', 503, 'PromQL engine not available');
    return options.engine;
  };

  const endpoints: Array<{ path: string; methods: Array<'GET' | 'POST'>; run: Run }> = [];
  const endpoint = (path: string, methods: Array<'GET' | 'POST'>, run: Run): void => {
    endpoints.push({ path, methods, run });
  };

  endpoint('/series', ['GET', 'POST'], async ({ reply, params, tenant }) => {
    const matcherSets = parseMatcherSets(params, true)!;
    const { startMs, endMs } = parseRange(params);
    const { items, warnings } = limited(await tsdb.series(tenant, matcherSets, startMs, endMs), parseListLimit(params));
    return success(reply, items, warnings);
  });
  endpoint('/labels', ['GET', 'POST'], async ({ reply, params, tenant }) => {
    const { startMs, endMs } = parseRange(params);
    const names = await tsdb.labelNames(tenant, startMs, endMs, parseMatcherSets(params, false));
    const { items, warnings } = limited(names, parseListLimit(params));
    return success(reply, items, warnings);
  });
  endpoint('/label/:name/values', ['GET'], async ({ request, reply, params, tenant }) => {
    const name = (request.params as { name: string }).name;
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw badData(`invalid label name: ${JSON.stringify(name)}`);
    const { startMs, endMs } = parseRange(params);
    const values = await tsdb.labelValues(tenant, name, startMs, endMs, parseMatcherSets(params, false));
    const { items, warnings } = limited(values, parseListLimit(params));
    return success(reply, items, warnings);
  });
  endpoint('/metadata', ['GET'], async ({ reply, params, tenant }) => {
    const limit = parseListLimit(params);
    const metric = params.get('metric');
    const data: Record<string, MetricMetadata[]> = {};
    let count = 0;
    for (const [family, metadata] of [...tsdb.getMetadata(tenant)].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (metric !== undefined && metric !== '' && family !== metric) continue;
      if (limit > 0 && count >= limit) break;
      data[family] = [metadata];
      count++;
    }
    return success(reply, data);
  });
  endpoint('/status/buildinfo', ['GET'], async ({ reply }) =>
    success(reply, { version: options.version, revision: '', branch: '', buildUser: '', buildDate: '', goVersion: '' }),
  );
  endpoint('/query', ['GET', 'POST'], async ({ request, reply, params, tenant }) => {
    const engine = engineOrUnavailable();
    const query = requireQuery(params);
    const timeMs = parsePrometheusTimeMs(params.get('time'), 'time', Date.now());
    const answer = await scheduled(request, tenant, params, (queryOptions) => engine.instantQuery(tenant, query, timeMs, queryOptions));
    return answered(reply, answer);
  });
  endpoint('/query_range', ['GET', 'POST'], async ({ request, reply, params, tenant }) => {
    const engine = engineOrUnavailable();
    const query = requireQuery(params);
    const startMs = parsePrometheusTimeMs(params.get('start'), 'start', Number.NaN);
    const endMs = parsePrometheusTimeMs(params.get('end'), 'end', Number.NaN);
    if (Number.isNaN(startMs)) throw badData('invalid parameter "start": cannot parse "" to a valid timestamp');
    if (Number.isNaN(endMs)) throw badData('invalid parameter "end": cannot parse "" to a valid timestamp');
    if (endMs < startMs) throw badData('invalid parameter "end": end timestamp must not be before start time');
    const stepText = params.get('step');
    if (stepText === undefined || stepText === '') throw badData('invalid parameter "step": cannot parse "" to a valid duration');
    let stepMs: number;
    try {
      stepMs = parseStepMs(stepText, 'step');
    } catch {
      throw badData(`invalid parameter "step": cannot parse "${stepText}" to a valid duration`);
    }
    if (stepMs <= 0) throw badData('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
    if ((endMs - startMs) / stepMs > MAX_POINTS_PER_SERIES) throw badData('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    const answer = await scheduled(request, tenant, params, (queryOptions) => engine.rangeQuery(tenant, query, startMs, endMs, stepMs, queryOptions));
    return answered(reply, answer);
  });
  endpoint('/format_query', ['GET', 'POST'], async ({ reply, params }) => {
    const engine = engineOrUnavailable();
    return success(reply, engine.formatQuery(requireQuery(params)));
  });
  endpoint('/query_exemplars', ['GET', 'POST'], async ({ reply, params, tenant }) => {
    const select = options.tsdb.exemplars?.bind(options.tsdb);
    if (select !== undefined) {
      const data = await queryExemplars(select, tenant, params);
      // A query without selectors: Prometheus answers 204 with no body.
      return data === undefined ? reply.code(204).send() : success(reply, data);
    }
    const engine = engineOrUnavailable();
    const query = requireQuery(params);
    // Grafana's start-up probe sends milliseconds: any number is accepted as seconds.
    const { startMs, endMs } = parseRange(params);
    return success(reply, await engine.queryExemplars(tenant, query, startMs, endMs));
  });

  /**
   * Runs an evaluation in a scheduler slot. The deadline starts when the request arrives, so time spent
   * queued counts against it (as in Loki); a client that goes away leaves the queue and stops the query.
   */
  async function scheduled<T>(request: FastifyRequest, tenant: string, params: RequestParams, evaluate: (queryOptions: PromqlQueryOptions) => Promise<T>): Promise<T> {
    const base = queryOptions(params);
    // One controller, aborted by a timer or by the client going, rather than AbortSignal.timeout and
    // AbortSignal.any: their 2-minute timers and weak references outlived every query (a few thousand
    // live at once under a dashboard's load) and cost more CPU than a small instant query's parsing.
    const controller = new AbortController();
    let ended: 'timeout' | 'canceled' | undefined;
    const timer = setTimeout(() => {
      ended = 'timeout';
      controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, Math.min(base.timeoutMs, MAX_TIMER_MS));
    const onClose = (): void => {
      ended ??= 'canceled';
      controller.abort(new Error('the request was cancelled by the client'));
    };
    // The request stream closes once a POST form body is read; a disconnect is the socket closing.
    const socket = request.raw.socket;
    socket.once('close', onClose);
    try {
      const run = (): Promise<T> => evaluate({ ...base, signal: controller.signal });
      return options.scheduler === undefined ? await run() : await options.scheduler.run(tenant, controller.signal, run);
    } catch (error) {
      if (error instanceof TooManyOutstandingRequestsError) throw new PrometheusApiError('unavailable', 429, error.message);
      if (engineError(error) === undefined) {
        // Aborted while waiting for a slot: the engine never saw it.
        if (ended === 'timeout') throw new PrometheusApiError('timeout', 503, 'query timed out in query queue');
        if (ended === 'canceled') throw new PrometheusApiError('canceled', 503, 'query was canceled in query queue');
      }
      throw error;
    } finally {
      clearTimeout(timer);
      socket.off('close', onClose);
    }
  }

  function queryOptions(params: RequestParams): PromqlQueryOptions {
    const result: PromqlQueryOptions = { timeoutMs: parseTimeoutMs(params, options.queryTimeoutMs) };
    const lookback = params.get('lookback_delta');
    if (lookback !== undefined && lookback !== '') {
      try {
        result.lookbackDeltaMs = parseStepMs(lookback, 'lookback_delta');
      } catch {
        throw badData(`invalid parameter "lookback_delta": cannot parse "${lookback}" to a valid duration`);
      }
    }
    return result;
  }

  for (const prefix of options.prefixes) {
    for (const { path, methods, run } of endpoints) {
      app.route({ method: methods, url: `${prefix}${path}`, handler: handler(run) });
    }
  }
}
