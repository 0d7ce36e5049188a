// The UI's only way to the server: rankscope's Loki-compatible HTTP API. Every call turns a failure into
// an ApiError whose message is what the server said, so the UI can show it instead of failing silently.

export type Labels = Record<string, string>;

export class ApiError extends Error {
  readonly status: number;
  /** 1-based position of a LogQL parse error, when the server reported one. */
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(message: string, status: number, line?: number, column?: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.line = line;
    this.column = column;
  }
}

const PARSE_ERROR_POSITION = /parse error at line (\d+), col (\d+)/;

/** The tenant sent as X-Scope-OrgID; empty means the server's default tenant. */
let tenant = readStoredTenant();

function readStoredTenant(): string {
  try {
    return localStorage.getItem('rankscope.tenant') ?? '';
  } catch {
    return '';
  }
}

export function getTenant(): string {
  return tenant;
}

export function setTenant(value: string): void {
  tenant = value.trim();
  try {
    localStorage.setItem('rankscope.tenant', tenant);
  } catch {
    // Private mode: the tenant still applies for this page.
  }
}

function errorFromBody(status: number, body: string): ApiError {
  let message = body.trim();
  // Loki answers plain text; some endpoints (format_query, ruler) answer a JSON envelope.
  if (message.startsWith('{')) {
    try {
      const parsed = JSON.parse(message) as { error?: unknown; message?: unknown };
      if (typeof parsed.error === 'string' && parsed.error !== '') message = parsed.error;
      else if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // Not JSON after all: show the text as it came.
    }
  }
  if (message === '') message = `HTTP ${status}`;
  const position = PARSE_ERROR_POSITION.exec(message);
  if (position) return new ApiError(message, status, Number(position[1]), Number(position[2]));
  return new ApiError(message, status);
}

export async function getJson<T>(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<T> {
  const url = `${path}?${new URLSearchParams(params).toString()}`;
  const headers: Record<string, string> = { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' };
  if (tenant !== '') headers['X-Scope-OrgID'] = tenant;
  let response: Response;
  try {
    response = await fetch(url, { headers, signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(`cannot reach the server (${(error as Error).message})`, 0);
  }
  const text = await response.text();
  if (!response.ok) throw errorFromBody(response.status, text);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(`the server sent a response that is not JSON for ${path}`, response.status);
  }
}

interface Envelope<T> {
  status: string;
  data?: T;
  error?: string;
  warnings?: string[];
}

function unwrap<T>(envelope: Envelope<T>, fallback: T): T {
  if (envelope.status !== 'success') throw new ApiError(envelope.error ?? `query failed (${envelope.status})`, 200);
  return envelope.data ?? fallback;
}

/** A stream value with Grafana's categorize-labels third element. */
type RawValue = [string, string] | [string, string, { structuredMetadata?: Labels; parsed?: Labels }];
export interface RawStream {
  stream: Labels;
  values: RawValue[];
}
export interface RawSeries {
  metric: Labels;
  values: Array<[number, string]>;
}
export interface RawSample {
  metric: Labels;
  value: [number, string];
}

export type QueryData =
  | { resultType: 'streams'; result: RawStream[]; encodingFlags?: string[]; stats?: unknown }
  | { resultType: 'matrix'; result: RawSeries[]; stats?: unknown }
  | { resultType: 'vector'; result: RawSample[]; stats?: unknown }
  | { resultType: 'scalar'; result: [number, string]; stats?: unknown };

export interface RangeRequest {
  query: string;
  startNs: bigint;
  endNs: bigint;
  limit: number;
  direction: 'forward' | 'backward';
  stepMs?: number;
}

export async function queryRange(request: RangeRequest, signal?: AbortSignal): Promise<QueryData> {
  const params: Record<string, string> = {
    query: request.query,
    start: request.startNs.toString(),
    end: request.endNs.toString(),
    limit: String(request.limit),
    direction: request.direction,
  };
  if (request.stepMs !== undefined) params.step = `${request.stepMs}ms`;
  const envelope = await getJson<Envelope<QueryData>>('/loki/api/v1/query_range', params, signal);
  const data = unwrap(envelope, undefined);
  if (data === undefined || typeof data.resultType !== 'string') throw new ApiError('query_range answered without a result', 200);
  return data;
}

export async function queryInstant(query: string, timeNs: bigint, signal?: AbortSignal): Promise<QueryData> {
  const params = { query, time: timeNs.toString(), direction: 'backward' };
  const data = unwrap(await getJson<Envelope<QueryData>>('/loki/api/v1/query', params, signal), undefined);
  if (data === undefined) throw new ApiError('query answered without a result', 200);
  return data;
}

export interface TimeWindow {
  startNs: bigint;
  endNs: bigint;
}

function windowParams(window: TimeWindow): Record<string, string> {
  return { start: window.startNs.toString(), end: window.endNs.toString() };
}

export async function labelNames(window: TimeWindow, signal?: AbortSignal): Promise<string[]> {
  return unwrap(await getJson<Envelope<string[]>>('/loki/api/v1/labels', windowParams(window), signal), []);
}

export async function labelValues(name: string, window: TimeWindow, signal?: AbortSignal): Promise<string[]> {
  const path = `/loki/api/v1/label/${encodeURIComponent(name)}/values`;
  return unwrap(await getJson<Envelope<string[]>>(path, windowParams(window), signal), []);
}

export async function series(selector: string, window: TimeWindow, signal?: AbortSignal): Promise<Labels[]> {
  const params = { ...windowParams(window), 'match[]': selector };
  return unwrap(await getJson<Envelope<Labels[]>>('/loki/api/v1/series', params, signal), []);
}

/** Server-side validation and pretty-printing; a bad query throws an ApiError carrying its position. */
export async function formatQuery(query: string, signal?: AbortSignal): Promise<string> {
  return unwrap(await getJson<Envelope<string>>('/loki/api/v1/format_query', { query }, signal), query);
}
