// The Loki 3 endpoints Grafana's autocomplete and Logs Drilldown call beyond the 2.x read API
// (grafana-client.md §5, §11; loki-api.md §2.12–2.13): detected_labels (from the label index, with
// cardinalities), detected_fields and detected_field/<name>/values (from a sample of matching lines),
// patterns (mined from a sample at query time) and drilldown-limits (this server's limits).

import type { FastifyRequest } from 'fastify';
import type { QueryParams, QueryResult, StreamResult } from '../logql/api.ts';
import type { LabelMatcher, LogStore } from '../store/types.ts';
import type { ServerConfig } from './config.ts';
import { detectedFieldValues, detectFields } from './detected-fields.ts';
import { minePatterns } from './patterns.ts';
import { BadRequestError, parseBounds, parseStep, parseStepMs, requireQuery, type RequestParams } from './query-params.ts';

type Handler = (request: FastifyRequest, params: RequestParams, tenant: () => string) => Promise<string>;

export interface DrilldownRoutesContext {
  route(paths: string[], endpoint: string, handler: Handler): void;
  runQuery(request: FastifyRequest, params: QueryParams): Promise<QueryResult>;
  store: LogStore;
  parseSelector(text: string): LabelMatcher[];
  limits: ServerConfig['limits'];
  discoverLogLevels: boolean;
  version: string;
}

/** Labels Loki always offers in detected_labels, whatever their values look like. */
const STATIC_LABELS = new Set(['cluster', 'namespace', 'instance', 'pod']);
/** Labels that are plumbing, never a facet. */
const HIDDEN_LABELS = new Set(['__stream_shard__', '__aggregated_metric__', '__tenant_id__']);
const DEFAULT_FIELD_LIMIT = 1000;
const DEFAULT_LINE_LIMIT = 1000;
/** Drilldown shows the first 500 patterns. */
const MAX_PATTERNS = 500;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function drilldownRoutes(context: DrilldownRoutesContext): void {
  const { route, store } = context;
  const maxLines = context.limits.max_entries_limit_per_query;

  const positiveIntParam = (params: RequestParams, names: string[], fallback: number): number => {
    for (const name of names) {
      const text = params.get(name);
      if (text === undefined || text === '') continue;
      if (!/^\d+$/.test(text) || Number(text) <= 0) throw new BadRequestError(`invalid ${name} value ${JSON.stringify(text)}: expected a positive integer`);
      return Number(text);
    }
    return fallback;
  };

  /** The newest `lineLimit` entries the log query matches, as the engine returns them. */
  const sampleLines = async (request: FastifyRequest, params: RequestParams, tenant: string, lineLimit: number): Promise<StreamResult[]> => {
    const query = requireQuery(params);
    const bounds = parseBounds(params);
    const result = await context.runQuery(request, {
      tenant,
      query,
      startNs: bounds.startNs,
      endNs: bounds.endNs,
      stepMs: 0,
      intervalMs: 0,
      limit: Math.min(lineLimit, maxLines),
      direction: 'backward',
      instant: false,
    });
    if (result.resultType !== 'streams') throw new BadRequestError('only log queries are supported here: give a stream selector with an optional log pipeline, not a metric query');
    return result.streams;
  };

  route(['/loki/api/v1/detected_labels'], 'detected_labels', async (_request, params, tenant) => {
    const bounds = parseBounds(params);
    const query = params.get('query')?.trim() ?? '';
    const matchers = query === '' || query === '{}' ? undefined : context.parseSelector(query);
    const names = await store.labelNames(tenant(), bounds.startNs, bounds.endNs, matchers);
    const detected: Array<{ label: string; cardinality: number }> = [];
    for (const name of names) {
      if (HIDDEN_LABELS.has(name)) continue;
      const values = await store.labelValues(tenant(), name, bounds.startNs, bounds.endNs, matchers);
      if (STATIC_LABELS.has(name) ? values.length > 0 : !onlyIdentifiers(values)) detected.push({ label: name, cardinality: values.length });
    }
    return JSON.stringify({ detectedLabels: detected });
  });

  route(['/loki/api/v1/detected_fields'], 'detected_fields', async (request, params, tenant) => {
    const fieldLimit = positiveIntParam(params, ['limit', 'field_limit'], DEFAULT_FIELD_LIMIT);
    const lineLimit = positiveIntParam(params, ['line_limit'], DEFAULT_LINE_LIMIT);
    const streams = await sampleLines(request, params, tenant(), lineLimit);
    return JSON.stringify({ fields: detectFields(streams, fieldLimit), limit: fieldLimit });
  });

  route(['/loki/api/v1/detected_field/:name/values'], 'detected_field_values', async (request, params, tenant) => {
    const name = (request.params as { name: string }).name;
    const valueLimit = positiveIntParam(params, ['limit', 'field_limit'], DEFAULT_FIELD_LIMIT);
    const lineLimit = positiveIntParam(params, ['line_limit'], DEFAULT_LINE_LIMIT);
    const streams = await sampleLines(request, params, tenant(), lineLimit);
    return JSON.stringify({ values: detectedFieldValues(streams, name, valueLimit), limit: valueLimit });
  });

  route(['/loki/api/v1/patterns'], 'patterns', async (request, params, tenant) => {
    const bounds = parseBounds(params);
    // Drilldown sends its panel interval; a fine step over a long range only needs wider buckets, so
    // it is widened to 11,000 buckets at most instead of failing like query_range does.
    const stepText = params.get('step');
    const rangeMs = Number((bounds.endNs - bounds.startNs) / 1_000_000n);
    const stepMs = Math.max(stepText === undefined || stepText === '' ? parseStep(params, bounds) : parseStepMs(stepText, 'step'), Math.ceil(rangeMs / 11_000), 1);
    const streams = await sampleLines(request, params, tenant(), maxLines);
    const patterns = minePatterns(streams, stepMs, MAX_PATTERNS).map(({ pattern, samples, level }) => ({ pattern, samples, level }));
    return JSON.stringify({ status: 'success', data: patterns });
  });

  // Logs Drilldown reads these to decide what to offer (grafana-client.md §11); it tolerates a 404.
  route(['/loki/api/v1/drilldown-limits'], 'drilldown_limits', async () => {
    const limits = context.limits;
    return JSON.stringify({
      limits: {
        discover_log_levels: context.discoverLogLevels,
        discover_service_name: limits.discover_service_name,
        log_level_fields: ['level', 'LEVEL', 'Level', 'log.level', 'severity', 'SEVERITY', 'Severity', 'SeverityText', 'lvl', 'LVL', 'Lvl', 'severity_text', 'Severity_Text', 'SEVERITY_TEXT'],
        max_entries_limit_per_query: limits.max_entries_limit_per_query,
        max_line_size_truncate: limits.max_line_size_truncate,
        max_query_bytes_read: '0B',
        max_query_length: formatDuration(limits.max_query_length),
        max_query_lookback: '0s',
        max_query_range: '0s',
        max_query_series: limits.max_query_series,
        metric_aggregation_enabled: false,
        pattern_persistence_enabled: false,
        query_timeout: formatDuration(limits.query_timeout),
        retention_period: '0s',
        volume_enabled: true,
        volume_max_series: 1000,
      },
      pattern_ingester_enabled: true,
      version: context.version,
    });
  });
}

/** Loki drops a label whose values are all numbers or UUIDs (ids make poor facets), except 0/1 flags. */
function onlyIdentifiers(values: string[]): boolean {
  if (values.length === 0) return true;
  if (values.length <= 2 && values.every((value) => value === '0' || value === '1')) return false;
  return values.every((value) => (value.trim() !== '' && Number.isFinite(Number(value))) || UUID.test(value));
}

/** Milliseconds as a Prometheus-style duration (`721h`, `1m`, `0s`), as Loki prints limits. */
export function formatDuration(durationMs: number): string {
  if (durationMs <= 0) return '0s';
  const units: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  let rest = durationMs;
  let text = '';
  for (const [unit, size] of units) {
    if (unit === 'd' && rest % size !== 0) continue;
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}
