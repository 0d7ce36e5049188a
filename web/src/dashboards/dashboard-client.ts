// The dashboards API (docs/dashboards.md) and the queries panels and variables run: PromQL over
// /api/v1/query(_range), LogQL over /loki/api/v1/query_range, label values from either. Errors are
// ApiErrors carrying what the server said.
import { ApiError, getJson, queryInstant, queryRange, type RawStream } from '../api/loki-client.ts';
import { promqlRange, tenantHeaders } from '../api/prometheus-client.ts';
import type { DashboardMeta, DashboardSummary, DashboardView, DatasourceType } from './dashboard-types.ts';
import { seriesFromMatrix, seriesFromVector, type PanelSeries } from './panel-data.ts';

async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: { ...tenantHeaders(), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(`cannot reach the server (${(error as Error).message})`, 0);
  }
  const text = await response.text();
  if (!response.ok) throw new ApiError(text.trim() || `HTTP ${response.status}`, response.status);
  return JSON.parse(text) as T;
}

export async function listDashboards(): Promise<DashboardSummary[]> {
  return (await send<{ dashboards: DashboardSummary[] }>('GET', '/api/dashboards')).dashboards;
}

export async function getDashboard(uid: string): Promise<{ dashboard: Record<string, unknown>; meta: DashboardMeta; view: DashboardView }> {
  return send('GET', `/api/dashboards/uid/${encodeURIComponent(uid)}`);
}

export async function saveDashboard(dashboard: unknown, overwrite: boolean): Promise<{ uid: string; version: number; title: string }> {
  return send('POST', '/api/dashboards/db', { dashboard, overwrite });
}

export async function deleteDashboard(uid: string): Promise<void> {
  await send('DELETE', `/api/dashboards/uid/${encodeURIComponent(uid)}`);
}

/** The export as a Blob URL: a plain link cannot send the tenant header. */
export async function exportDashboardBlob(uid: string): Promise<{ url: string; fileName: string }> {
  const response = await fetch(`/api/dashboards/uid/${encodeURIComponent(uid)}/export`, { headers: tenantHeaders() });
  if (!response.ok) throw new ApiError((await response.text()).trim() || `HTTP ${response.status}`, response.status);
  const fileName = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? `${uid}.json`;
  return { url: URL.createObjectURL(await response.blob()), fileName };
}

interface PromEnvelope<T> {
  status: string;
  data?: T;
  error?: string;
}

async function promGet<T>(path: string, params: URLSearchParams, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${path}?${params.toString()}`, { headers: tenantHeaders(), signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(`cannot reach the server (${(error as Error).message})`, 0);
  }
  const text = await response.text();
  let envelope: PromEnvelope<T>;
  try {
    envelope = JSON.parse(text) as PromEnvelope<T>;
  } catch {
    throw new ApiError(text.trim() || `HTTP ${response.status}`, response.status);
  }
  if (envelope.status !== 'success' || envelope.data === undefined) throw new ApiError(envelope.error ?? `HTTP ${response.status}`, response.status);
  return envelope.data;
}

export interface QueryWindow {
  startS: number;
  endS: number;
  stepS: number;
}

/** One target's series: a range query, or an instant query at the end of the window. */
export async function querySeries(datasource: DatasourceType, expr: string, instant: boolean, window: QueryWindow, refId: string, legendFormat: string, signal: AbortSignal): Promise<PanelSeries[]> {
  if (datasource === 'prometheus') {
    if (instant) {
      const data = await promGet<{ resultType: string; result: unknown }>('/api/v1/query', new URLSearchParams({ query: expr, time: String(window.endS) }), signal);
      if (data.resultType === 'vector') return seriesFromVector(data.result as Parameters<typeof seriesFromVector>[0], refId, legendFormat);
      if (data.resultType === 'scalar') return seriesFromVector([{ metric: {}, value: data.result as [number, string] }], refId, legendFormat);
      if (data.resultType === 'matrix') return seriesFromMatrix(data.result as Parameters<typeof seriesFromMatrix>[0], refId, legendFormat);
      throw new ApiError(`unexpected ${data.resultType} result`, 200);
    }
    const { data } = await promqlRange(expr, window.startS, window.endS, window.stepS, signal);
    if (data.resultType === 'matrix') return seriesFromMatrix(data.result, refId, legendFormat);
    if (data.resultType === 'scalar') return seriesFromVector([{ metric: {}, value: data.result as [number, string] }], refId, legendFormat);
    throw new ApiError(`unexpected ${data.resultType} result for a range query`, 200);
  }
  const endNs = BigInt(Math.round(window.endS * 1000)) * 1_000_000n;
  const data = instant
    ? await queryInstant(expr, endNs, signal)
    : await queryRange({ query: expr, startNs: BigInt(Math.round(window.startS * 1000)) * 1_000_000n, endNs, limit: 1000, direction: 'backward', stepMs: window.stepS * 1000 }, signal);
  if (data.resultType === 'matrix') return seriesFromMatrix(data.result, refId, legendFormat);
  if (data.resultType === 'vector') return seriesFromVector(data.result, refId, legendFormat);
  if (data.resultType === 'scalar') return seriesFromVector([{ metric: {}, value: [Number(data.result[0]), data.result[1]] }], refId, legendFormat);
  throw new ApiError('this LogQL query returns log lines: use it in a logs panel, or wrap it in a metric query such as count_over_time', 400);
}

/** Log lines of a LogQL log query, newest first. */
export async function queryLogs(expr: string, window: QueryWindow, limit: number, signal: AbortSignal): Promise<RawStream[]> {
  const data = await queryRange({ query: expr, startNs: BigInt(Math.round(window.startS * 1000)) * 1_000_000n, endNs: BigInt(Math.round(window.endS * 1000)) * 1_000_000n, limit, direction: 'backward' }, signal);
  if (data.resultType !== 'streams') throw new ApiError('a logs panel needs a log query ({selector} with filters), not a metric query', 400);
  return data.result;
}

/** Values of a label, optionally only on series matching `selector`, within the window. */
export async function labelValuesFor(datasource: DatasourceType, label: string, selector: string | undefined, window: QueryWindow, signal?: AbortSignal): Promise<string[]> {
  if (datasource === 'prometheus') {
    const params = new URLSearchParams({ start: String(window.startS), end: String(window.endS) });
    if (selector !== undefined && selector !== '') params.append('match[]', selector);
    return promGet<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values`, params, signal);
  }
  const params: Record<string, string> = { start: `${Math.round(window.startS)}000000000`, end: `${Math.round(window.endS)}000000000` };
  if (selector !== undefined && selector !== '') params.query = selector;
  const envelope = await getJson<{ data?: string[] }>(`/loki/api/v1/label/${encodeURIComponent(label)}/values`, params, signal);
  return envelope.data ?? [];
}

export async function labelNamesFor(datasource: DatasourceType, selector: string | undefined, window: QueryWindow, signal?: AbortSignal): Promise<string[]> {
  if (datasource === 'prometheus') {
    const params = new URLSearchParams({ start: String(window.startS), end: String(window.endS) });
    if (selector !== undefined && selector !== '') params.append('match[]', selector);
    return promGet<string[]>('/api/v1/labels', params, signal);
  }
  const params: Record<string, string> = { start: `${Math.round(window.startS)}000000000`, end: `${Math.round(window.endS)}000000000` };
  if (selector !== undefined && selector !== '') params.query = selector;
  return (await getJson<{ data?: string[] }>('/loki/api/v1/labels', params, signal)).data ?? [];
}

/** Grafana's query_result() text per series: `name{labels} value timestamp`. */
export async function queryResultLines(expr: string, window: QueryWindow, signal?: AbortSignal): Promise<string[]> {
  const data = await promGet<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>('/api/v1/query', new URLSearchParams({ query: expr, time: String(window.endS) }), signal);
  if (data.resultType !== 'vector') return [];
  return data.result.map(({ metric, value }) => {
    const { __name__: name = '', ...rest } = metric;
    const labels = Object.entries(rest)
      .map(([key, text]) => `${key}="${text}"`)
      .join(', ');
    return `${name}{${labels}} ${value[1]} ${Math.round(value[0] * 1000)}`;
  });
}
