// Loki's read API: query, query_range, labels, label values, series, index/stats, index/volume(_range),
// format_query and buildinfo, with Loki's parameters, JSON shapes and plain-text errors. Handlers are
// thin: parameters in, engine/store call, encoder out.

import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { QueryError, QueryLimitError, type QueryParams, type QueryResult } from '../logql/api.ts';
import type { ScanBudgetStats } from '../logql/index.ts';
import type { Labels } from '../push/types.ts';
import type { ServerConfig } from './config.ts';
import { drilldownRoutes } from './drilldown-routes.ts';
import { computeVolume } from './index-volume.ts';
import type { LabelMatcher, LogStore } from '../store/types.ts';
import { CATEGORIZE_LABELS, encodeLabels, encodeQueryResponse, formatSampleValue, formatUnixSeconds } from './loki-json.ts';
import type { Histogram } from './metrics.ts';
import {
  BadRequestError,
  nowNs,
  parseBounds,
  parseDirection,
  parseInterval,
  parseLimit,
  parseStep,
  parseTimestampNs,
  requireQuery,
  RequestParams,
  type TimeBounds,
} from './query-params.ts';
import { QueryScheduler, TooManyOutstandingRequestsError } from './query-scheduler.ts';
import { resolveTenant } from './tenant.ts';

export interface QueryEngine {
  query(params: QueryParams): Promise<QueryResult>;
  /** The scan byte budget's figures (store.memory.scan_bytes), when the engine has one. */
  scanBudget?(): ScanBudgetStats | undefined;
}

export interface QueryRoutesOptions {
  store: LogStore;
  engine: QueryEngine;
  parseSelector(text: string): LabelMatcher[];
  formatQuery(text: string): string;
  authEnabled: boolean;
  queryTimeoutMs: number;
  maxQueryLengthMs: number;
  queryDuration: Histogram;
  version: string;
  /** For drilldown-limits and the sample sizes of detected fields and patterns. */
  limits: ServerConfig['limits'];
  /** Reads may name several tenants `a|b` (the store must then be a MultiTenantStore). */
  multiTenantQueries: boolean;
  /** Admission of log and metric queries (global and per-tenant concurrency, queue). */
  scheduler: QueryScheduler;
}

const NS_PER_MS = 1_000_000n;
const JSON_TYPE = 'application/json; charset=UTF-8';
/**
 * Answers larger than this are gzipped when the client accepts it (Grafana forwards the browser's
 * Accept-Encoding). Log lines compress ~8×, and level 1 costs ~1 ms per 100 KB, far less than sending.
 */
const GZIP_MIN_BYTES = 32 * 1024;
const gzipAsync = promisify(gzip);

type Handler = (request: FastifyRequest, params: RequestParams, tenant: () => string) => Promise<string>;

export async function queryRoutes(app: FastifyInstance, options: QueryRoutesOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  const route = (paths: string[], endpoint: string, handler: Handler) => {
    const run = async (request: FastifyRequest, reply: FastifyReply) => {
      const startedMs = performance.now();
      let status = 200;
      try {
        const isForm = String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
        const params = RequestParams.from(request.url, isForm && typeof request.body === 'string' ? request.body : undefined);
        const body = await handler(request, params, () => resolveTenant(request, options.authEnabled, undefined, options.multiTenantQueries));
        reply.code(200).header('content-type', JSON_TYPE).header('vary', 'Accept-Encoding');
        if (body.length >= GZIP_MIN_BYTES && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
          return reply.header('content-encoding', 'gzip').send(await gzipAsync(body, { level: 1 }));
        }
        return reply.send(body);
      } catch (error) {
        const answer = errorAnswer(error, request.log);
        status = answer.statusCode;
        return reply.code(answer.statusCode).header('content-type', 'text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(answer.message);
      } finally {
        options.queryDuration.observe((performance.now() - startedMs) / 1000, { endpoint, status: String(status) });
      }
    };
    for (const path of paths) {
      app.get(path, run);
      app.post(path, run);
    }
  };

  const runQuery = async (request: FastifyRequest, params: QueryParams): Promise<QueryResult> => {
    const timeout = AbortSignal.timeout(options.queryTimeoutMs);
    const clientGone = new AbortController();
    const onClose = () => clientGone.abort(new ClientClosedError());
    // The request stream emits 'close' as soon as its body has been read (every POST form), so a
    // disconnect is the socket closing, not the request.
    const socket = request.raw.socket;
    if (socket.destroyed) throw new ClientClosedError();
    socket.once('close', onClose);
    try {
      const signal = AbortSignal.any([timeout, clientGone.signal]);
      const result = await options.scheduler.run(params.tenant, signal, () => options.engine.query({ ...params, signal }));
      if (timeout.aborted) throw new QueryTimeoutError();
      return result;
    } catch (error) {
      // The engine keeps its own deadline and may pass it before the timer above has fired.
      if (timeout.aborted || (error instanceof QueryLimitError && error.message === QueryTimeoutError.MESSAGE)) throw new QueryTimeoutError();
      if (clientGone.signal.aborted) throw new ClientClosedError();
      throw error;
    } finally {
      socket.off('close', onClose);
    }
  };

  const encodeOptionsOf = (request: FastifyRequest, params: QueryParams) => ({
    categorizeLabels: String(request.headers['x-loki-response-encoding-flags'] ?? '')
      .split(',')
      .some((flag) => flag.trim() === CATEGORIZE_LABELS),
    direction: params.direction,
  });

  route(['/loki/api/v1/query'], 'query', async (request, params, tenant) => {
    const query = requireQuery(params);
    const timeNs = parseTimestampNs(params.get('time'), 'time', nowNs());
    const queryParams: QueryParams = {
      tenant: tenant(),
      query,
      startNs: timeNs,
      endNs: timeNs,
      stepMs: 0,
      intervalMs: 0,
      limit: parseLimit(params),
      direction: parseDirection(params),
      instant: true,
    };
    const result = await runQuery(request, queryParams);
    return encodeQueryResponse(result, encodeOptionsOf(request, queryParams));
  });

  route(['/loki/api/v1/query_range', '/api/prom/query'], 'query_range', async (request, params, tenant) => {
    const query = requireQuery(params);
    const bounds = parseBounds(params);
    checkQueryLength(bounds, options.maxQueryLengthMs);
    const queryParams: QueryParams = {
      tenant: tenant(),
      query,
      startNs: bounds.startNs,
      endNs: bounds.endNs,
      stepMs: parseStep(params, bounds),
      intervalMs: parseInterval(params),
      limit: parseLimit(params),
      direction: parseDirection(params),
      instant: false,
    };
    const result = await runQuery(request, queryParams);
    return encodeQueryResponse(result, encodeOptionsOf(request, queryParams));
  });

  const selectorOf = (params: RequestParams): LabelMatcher[] | undefined => {
    const query = params.get('query');
    return query === undefined || query.trim() === '' ? undefined : parseSelectorParam(options, query);
  };

  route(['/loki/api/v1/labels', '/loki/api/v1/label', '/api/prom/label'], 'labels', async (_request, params, tenant) => {
    const bounds = metadataBounds(parseBounds(params));
    const names = await options.store.labelNames(tenant(), bounds.startNs, bounds.endNs, selectorOf(params));
    return names.length === 0 ? '{"status":"success"}' : `{"status":"success","data":${JSON.stringify(names)}}`;
  });

  route(['/loki/api/v1/label/:name/values', '/api/prom/label/:name/values'], 'label_values', async (request, params, tenant) => {
    const bounds = metadataBounds(parseBounds(params));
    const name = (request.params as { name: string }).name;
    const values = await options.store.labelValues(tenant(), name, bounds.startNs, bounds.endNs, selectorOf(params));
    return values.length === 0 ? '{"status":"success"}' : `{"status":"success","data":${JSON.stringify(values)}}`;
  });

  route(['/loki/api/v1/series', '/api/prom/series'], 'series', async (_request, params, tenant) => {
    const bounds = metadataBounds(parseBounds(params));
    const selectors = [...params.getAll('match[]'), ...params.getAll('match')].filter((text) => text.trim() !== '');
    const matcherSets = selectors.length === 0 ? [[]] : selectors.map((text) => (text.trim() === '{}' ? [] : parseSelectorParam(options, text)));
    const seen = new Map<string, Labels>();
    for (const matchers of matcherSets) {
      for (const stream of await options.store.series(tenant(), matchers, bounds.startNs, bounds.endNs)) seen.set(stream.id, stream.labels);
    }
    return `{"status":"success","data":[${[...seen.values()].map(encodeLabels).join(',')}]}`;
  });

  route(['/loki/api/v1/index/stats'], 'index_stats', async (_request, params, tenant) => {
    const bounds = parseBounds(params);
    const matchers = parseSelectorParam(options, requireQuery(params));
    const stats = await options.store.stats(tenant(), matchers, bounds.startNs, bounds.endNs);
    return JSON.stringify({ streams: stats.streams, chunks: stats.chunks, bytes: stats.bytes, entries: stats.entries });
  });

  const volume = (ranged: boolean): Handler => async (_request, params, tenant) => {
    const bounds = parseBounds(params);
    const matchers = parseSelectorParam(options, requireQuery(params));
    const limitText = params.get('limit');
    const limit = limitText === undefined || limitText === '' || limitText === '0' ? 100 : parseLimit(params);
    const aggregateBy = params.get('aggregateBy') ?? 'series';
    if (aggregateBy !== 'series' && aggregateBy !== 'labels') throw new BadRequestError('invalid aggregation option');
    const targetLabels = (params.get('targetLabels') ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
    const stepMs = ranged ? parseStep(params, bounds) : 0;
    const series = await computeVolume(options.store, tenant(), matchers, bounds, { aggregateBy, targetLabels, stepMs });
    series.sort((a, b) => b.totalBytes - a.totalBytes);
    const top = series.slice(0, limit);
    const endMs = Number(bounds.endNs / NS_PER_MS);
    if (!ranged) {
      const result = top.map((item) => `{"metric":${encodeLabels(item.labels)},"value":[${formatUnixSeconds(endMs)},"${formatSampleValue(item.totalBytes)}"]}`);
      return `{"status":"success","data":{"resultType":"vector","result":[${result.join(',')}]}}`;
    }
    const result = top.map((item) => {
      const values = [...item.bucketBytes.entries()].sort((a, b) => a[0] - b[0]).map(([timeMs, bytes]) => `[${formatUnixSeconds(timeMs)},"${formatSampleValue(bytes)}"]`);
      return `{"metric":${encodeLabels(item.labels)},"values":[${values.join(',')}]}`;
    });
    return `{"status":"success","data":{"resultType":"matrix","result":[${result.join(',')}]}}`;
  };
  route(['/loki/api/v1/index/volume'], 'index_volume', volume(false));
  route(['/loki/api/v1/index/volume_range'], 'index_volume_range', volume(true));

  drilldownRoutes({
    route,
    runQuery,
    store: options.store,
    parseSelector: options.parseSelector,
    limits: options.limits,
    discoverLogLevels: options.limits.discover_log_levels && options.limits.allow_structured_metadata,
    version: options.version,
  });

  // format_query answers its own JSON shape on error too (loki-api.md §2.14).
  const formatQueryHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const isForm = String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const params = RequestParams.from(request.url, isForm && typeof request.body === 'string' ? request.body : undefined);
    try {
      const formatted = options.formatQuery(params.get('query') ?? '');
      return reply.header('content-type', JSON_TYPE).send(JSON.stringify({ status: 'success', data: formatted }));
    } catch (error) {
      const answer = errorAnswer(error, request.log);
      if (answer.statusCode >= 500) return reply.code(500).type('text/plain; charset=utf-8').send(answer.message);
      return reply.code(400).header('content-type', JSON_TYPE).send(JSON.stringify({ status: 'invalid-query', error: answer.message }));
    }
  };
  app.get('/loki/api/v1/format_query', formatQueryHandler);
  app.post('/loki/api/v1/format_query', formatQueryHandler);

  app.get('/loki/api/v1/status/buildinfo', async (_request, reply) =>
    reply.header('content-type', JSON_TYPE).send(
      JSON.stringify({ version: options.version, revision: '', branch: '', buildUser: '', buildDate: '', goVersion: `node ${process.version}` }),
    ),
  );
}

function parseSelectorParam(options: QueryRoutesOptions, text: string): LabelMatcher[] {
  return options.parseSelector(text);
}

/**
 * Label and series lookups over at least one millisecond. Loki answers them from chunk time ranges, so
 * a point range (`start == end`, which Grafana's "show context" sends at the row's millisecond) still
 * finds the streams around it; our index is exact, and the row's own nanoseconds lie after `start`.
 */
function metadataBounds(bounds: TimeBounds): TimeBounds {
  const minimumNs = NS_PER_MS;
  return bounds.endNs - bounds.startNs >= minimumNs ? bounds : { ...bounds, endNs: bounds.startNs + minimumNs };
}

function checkQueryLength(bounds: TimeBounds, maxQueryLengthMs: number): void {
  if (maxQueryLengthMs <= 0) return;
  const lengthMs = Number((bounds.endNs - bounds.startNs) / NS_PER_MS);
  if (lengthMs > maxQueryLengthMs) {
    throw new BadRequestError(`the query time range exceeds the limit (query length: ${formatHours(lengthMs)}, limit: ${formatHours(maxQueryLengthMs)})`);
  }
}

function formatHours(durationMs: number): string {
  const hours = Math.floor(durationMs / 3_600_000);
  const minutes = Math.floor((durationMs % 3_600_000) / 60_000);
  const seconds = (durationMs % 60_000) / 1000;
  return `${hours}h${minutes}m${seconds}s`;
}

export class QueryTimeoutError extends Error {
  static readonly MESSAGE =
    'request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed';
  constructor() {
    super(QueryTimeoutError.MESSAGE);
    this.name = 'QueryTimeoutError';
  }
}

export class ClientClosedError extends Error {
  constructor() {
    super('the request was cancelled by the client');
    this.name = 'ClientClosedError';
  }
}

/** Status and plain-text body for an error; internal errors are logged and never leak details. */
export function errorAnswer(error: unknown, log: FastifyBaseLogger): { statusCode: number; message: string } {
  if (error instanceof BadRequestError) return { statusCode: error.statusCode, message: error.message };
  if (error instanceof QueryError) return { statusCode: 400, message: formatQueryError(error) };
  if (error instanceof QueryLimitError) return { statusCode: 400, message: error.message };
  if (error instanceof QueryTimeoutError) return { statusCode: 504, message: error.message };
  if (error instanceof ClientClosedError) return { statusCode: 499, message: error.message };
  if (error instanceof TooManyOutstandingRequestsError) return { statusCode: 429, message: error.message };
  // Errors from other modules' own classes that still mean "the user asked wrong" carry a position.
  // (MatcherError: the store's label matcher refusing a regex the parser let through.)
  if (error instanceof Error && (error.name === 'QueryError' || error.name === 'LogQLParseError' || error.name === 'MatcherError')) {
    return { statusCode: 400, message: formatQueryError(error as QueryError) };
  }
  log.error({ err: error }, 'internal error while answering a query');
  return { statusCode: 500, message: 'internal server error' };
}

function formatQueryError(error: QueryError): string {
  if (error.message.startsWith('parse error')) return error.message;
  if (error.line !== undefined && error.column !== undefined) return `parse error at line ${error.line}, col ${error.column}: ${error.message}`;
  return error.message;
}
