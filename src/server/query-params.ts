// Query parameters as Loki reads them (pkg/loghttp/params.go; shared/reference/loki-api.md §0.2):
// timestamps as ns, seconds or RFC3339; `since`; `limit`; `direction`; `step`; `interval`. Every
// problem is a BadRequestError carrying Loki's plain-text message.

import type { Direction } from '../logql/api.ts';
import { parseDurationMs } from '../duration/duration.ts';
import { parseRfc3339Ns } from '../push/json.ts';

export class BadRequestError extends Error {
  readonly statusCode: number;
  constructor(message: string, statusCode = 400) {
    super(message);
    this.name = 'BadRequestError';
    this.statusCode = statusCode;
  }
}

/** Parameters from the URL query and, for POST, a form body; repeated keys keep every value. */
export class RequestParams {
  private readonly search: URLSearchParams;

  constructor(search: URLSearchParams) {
    this.search = search;
  }

  static from(url: string, formBody?: string): RequestParams {
    const queryStart = url.indexOf('?');
    const search = new URLSearchParams(queryStart < 0 ? '' : url.slice(queryStart + 1));
    if (formBody !== undefined && formBody !== '') {
      for (const [key, value] of new URLSearchParams(formBody)) search.append(key, value);
    }
    return new RequestParams(search);
  }

  get(name: string): string | undefined {
    const value = this.search.get(name);
    return value === null ? undefined : value;
  }

  getAll(name: string): string[] {
    return this.search.getAll(name);
  }
}

const NS_PER_MS = 1_000_000n;
const NS_PER_SECOND = 1_000_000_000n;
const DEFAULT_SINCE_MS = 3_600_000;
const MAX_POINTS_PER_SERIES = 11_000;

export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

/** Loki's parseTimestamp: float → seconds; ≤10 digits → seconds; more → ns; else RFC3339. */
export function parseTimestampNs(text: string | undefined, name: string, fallbackNs: bigint): bigint {
  if (text === undefined || text === '') return fallbackNs;
  if (/^-?\d+$/.test(text)) {
    const digits = text.replace('-', '').length;
    const value = BigInt(text);
    return digits <= 10 ? value * NS_PER_SECOND : value;
  }
  if (/^-?\d*\.\d*$/.test(text) && text !== '.' && text !== '-.') {
    const negative = text.startsWith('-');
    const [whole = '', fraction = ''] = text.replace('-', '').split('.');
    const ns = BigInt(whole === '' ? '0' : whole) * NS_PER_SECOND + BigInt(fraction.slice(0, 9).padEnd(9, '0'));
    return negative ? -ns : ns;
  }
  try {
    return parseRfc3339Ns(text, name);
  } catch {
    throw new BadRequestError(`could not parse '${name}' parameter: cannot parse "${text}" to a valid timestamp`);
  }
}

/** A duration parameter (`since`) to milliseconds through the one duration parser, or undefined. */
function parseDurationParamMs(text: string): number | undefined {
  try {
    return parseDurationMs(text);
  } catch {
    return undefined;
  }
}

/** `step`/`interval`: float seconds (a sign and exponent allowed, as Loki) or a duration, to milliseconds. */
export function parseStepMs(text: string, name: string): number {
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    const ms = Math.round(Number(text) * 1000);
    // `1e400` parses to Infinity, which no later BigInt() can take.
    if (!Number.isSafeInteger(ms)) throw new BadRequestError(`invalid ${name} value: "${text}" is out of range`);
    return ms;
  }
  const durationMs = parseDurationParamMs(text);
  if (durationMs === undefined) throw new BadRequestError(`invalid ${name} value: cannot parse "${text}" to a valid duration`);
  return durationMs;
}

export interface TimeBounds {
  startNs: bigint;
  endNs: bigint;
}

/** Loki's bounds(): end defaults to now, start to min(end, now) − since (default 1h). */
export function parseBounds(params: RequestParams): TimeBounds {
  const now = nowNs();
  const endNs = parseTimestampNs(params.get('end'), 'end', now);
  let sinceMs = DEFAULT_SINCE_MS;
  const since = params.get('since');
  if (since !== undefined && since !== '') {
    const parsed = parseDurationParamMs(since);
    if (parsed === undefined) throw new BadRequestError(`could not parse 'since' parameter: not a valid duration string: "${since}"`);
    sinceMs = parsed;
  }
  const base = endNs < now ? endNs : now;
  const startNs = parseTimestampNs(params.get('start'), 'start', base - BigInt(sinceMs) * NS_PER_MS);
  if (endNs < startNs) throw new BadRequestError('end timestamp must not be before or equal to start time');
  return { startNs, endNs };
}

export function parseLimit(params: RequestParams, fallback = 100): number {
  const text = params.get('limit');
  if (text === undefined || text === '') return fallback;
  if (!/^[+-]?\d+$/.test(text)) throw new BadRequestError(`strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
  const limit = Number(text);
  if (limit > 4294967295 || limit < -2147483648) throw new BadRequestError(`limit value ${text} is out of range [0, 4294967295]`);
  if (limit <= 0) throw new BadRequestError('limit must be a positive value');
  return limit;
}

export function parseDirection(params: RequestParams): Direction {
  const text = params.get('direction');
  if (text === undefined || text === '') return 'backward';
  const lower = text.toLowerCase();
  if (lower === 'forward' || lower === 'backward') return lower;
  throw new BadRequestError(`invalid direction '${text}'`);
}

/** Loki's default step: max(floor((end − start) / 250 s), 1) seconds. */
export function defaultStepMs(bounds: TimeBounds): number {
  const rangeSeconds = Number((bounds.endNs - bounds.startNs) / NS_PER_SECOND);
  return Math.max(Math.floor(rangeSeconds / 250), 1) * 1000;
}

export function parseStep(params: RequestParams, bounds: TimeBounds): number {
  const text = params.get('step');
  const stepMs = text === undefined || text === '' ? defaultStepMs(bounds) : parseStepMs(text, 'step');
  if (stepMs <= 0) throw new BadRequestError('zero or negative query resolution step widths are not accepted. Try a positive integer');
  const rangeMs = Number((bounds.endNs - bounds.startNs) / NS_PER_MS);
  if (rangeMs / stepMs > MAX_POINTS_PER_SERIES) {
    throw new BadRequestError('exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter');
  }
  return stepMs;
}

export function parseInterval(params: RequestParams): number {
  const text = params.get('interval');
  if (text === undefined || text === '') return 0;
  const intervalMs = parseStepMs(text, 'interval');
  if (intervalMs < 0) throw new BadRequestError('interval must be >= 0');
  return intervalMs;
}

export function requireQuery(params: RequestParams): string {
  const query = params.get('query');
  if (query === undefined || query.trim() === '') throw new BadRequestError('query parameter is required');
  return query;
}
