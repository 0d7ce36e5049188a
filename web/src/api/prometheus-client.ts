// Prometheus' HTTP API (/api/v1/query, /api/v1/query_range) as the metrics Explore reads it. Errors
// come back as Prometheus sends them (`1:16: parse error: …`), with the position parsed out.
import { ApiError, getTenant, type RawSeries } from './loki-client.ts';

export type PromqlData =
  | { resultType: 'matrix'; result: RawSeries[] }
  | { resultType: 'vector'; result: Array<{ metric: Record<string, string>; value: [number, string] }> }
  | { resultType: 'scalar' | 'string'; result: [number, string] };

interface PrometheusEnvelope {
  status: 'success' | 'error';
  data?: PromqlData;
  errorType?: string;
  error?: string;
  warnings?: string[];
}

export function tenantHeaders(): Record<string, string> {
  const tenant = getTenant();
  return tenant === '' ? {} : { 'X-Scope-OrgID': tenant };
}

export async function promqlRange(query: string, startS: number, endS: number, stepS: number, signal?: AbortSignal): Promise<{ data: PromqlData; warnings: string[] }> {
  const body = new URLSearchParams({ query, start: String(startS), end: String(endS), step: String(stepS) });
  let response: Response;
  try {
    response = await fetch('/api/v1/query_range', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...tenantHeaders() }, body, signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(`cannot reach the server (${(error as Error).message})`, 0);
  }
  const text = await response.text();
  let envelope: PrometheusEnvelope;
  try {
    envelope = JSON.parse(text) as PrometheusEnvelope;
  } catch {
    throw new ApiError(text.trim() || `HTTP ${response.status}`, response.status);
  }
  if (envelope.status !== 'success' || envelope.data === undefined) {
    const message = envelope.error ?? `query failed (HTTP ${response.status})`;
    const position = /^(\d+):(\d+): /.exec(message);
    throw position ? new ApiError(message, response.status, Number(position[1]), Number(position[2])) : new ApiError(message, response.status);
  }
  return { data: envelope.data, warnings: envelope.warnings ?? [] };
}
