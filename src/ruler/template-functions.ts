// The functions alert templates can call: Go text/template's builtins and the ones Prometheus adds
// for alerts (humanize*, toUpper, reReplaceAll, …), with Prometheus's formatting rules. Also the
// alert-template entry point, which seeds $labels, $value, $externalLabels and $externalURL the way
// Prometheus does.

import { compileRegex, replaceAll, type CompiledRegex } from '../regex/index.ts';
import { formatFloatG, formatGoTime, formatGoValue, sprintf } from './go-format.ts';
import { compileTemplate, executeTemplate, isTruthy, TemplateError, type CompiledTemplate, type TemplateFunction } from './template.ts';
import { parsePrometheusDuration } from '../duration/duration.ts';

function toFloat(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (/^[-+]?(inf|infinity)$/i.test(trimmed)) return trimmed.startsWith('-') ? -Infinity : Infinity;
    if (/^nan$/i.test(trimmed)) return NaN;
    const parsed = Number(trimmed);
    if (trimmed === '' || Number.isNaN(parsed)) throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(value)}: invalid syntax`);
    return parsed;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  throw new Error(`can't convert ${formatGoValue(value)} to a number`);
}

function toText(value: unknown): string {
  return typeof value === 'string' ? value : formatGoValue(value);
}

export function humanize(input: unknown): string {
  let value = toFloat(input);
  if (value === 0 || !Number.isFinite(value)) return formatFloatG(value, 4);
  let prefix = '';
  if (Math.abs(value) >= 1) {
    for (const unit of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(value) < 1000) break;
      prefix = unit;
      value /= 1000;
    }
    return `${formatFloatG(value, 4)}${prefix}`;
  }
  for (const unit of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(value) >= 1) break;
    prefix = unit;
    value *= 1000;
  }
  return `${formatFloatG(value, 4)}${prefix}`;
}

export function humanize1024(input: unknown): string {
  let value = toFloat(input);
  if (Math.abs(value) <= 1 || !Number.isFinite(value)) return formatFloatG(value, 4);
  let prefix = '';
  for (const unit of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(value) < 1024) break;
    prefix = unit;
    value /= 1024;
  }
  return `${formatFloatG(value, 4)}${prefix}`;
}

export function humanizeDuration(input: unknown): string {
  let value = toFloat(input);
  if (!Number.isFinite(value)) return formatFloatG(value, 4);
  if (value === 0) return '0s';
  if (Math.abs(value) >= 1) {
    const sign = value < 0 ? '-' : '';
    value = Math.abs(value);
    const whole = Math.trunc(value);
    const seconds = whole % 60;
    const minutes = Math.trunc(whole / 60) % 60;
    const hours = Math.trunc(whole / 3600) % 24;
    const days = Math.trunc(whole / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${formatFloatG(value, 4)}s`;
  }
  let prefix = '';
  for (const unit of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(value) >= 1) break;
    prefix = unit;
    value *= 1000;
  }
  return `${formatFloatG(value, 4)}${prefix}s`;
}

export function humanizePercentage(input: unknown): string {
  return `${formatFloatG(toFloat(input) * 100, 4)}%`;
}

function toTime(input: unknown): Date {
  const seconds = toFloat(input);
  if (!Number.isFinite(seconds)) throw new Error(`${formatGoValue(seconds)} cannot be represented as a time`);
  return new Date(Math.round(seconds * 1000));
}

export function humanizeTimestamp(input: unknown): string {
  const seconds = toFloat(input);
  if (!Number.isFinite(seconds)) return formatFloatG(seconds, 4);
  return formatGoTime(toTime(seconds));
}

/** A template's regex: RE2 through the one implementation; a bad pattern fails the expansion. */
function compileTemplateRegex(pattern: unknown): CompiledRegex {
  return compileRegex(toText(pattern));
}

/** Prometheus' reReplaceAll: Go's ReplaceAllString. */
function reReplaceAll(pattern: unknown, replacement: unknown, text: unknown): string {
  return replaceAll(compileTemplateRegex(pattern), toText(text), toText(replacement), false);
}

function title(input: unknown): string {
  return toText(input).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_whole, before: string, letter: string) => before + letter.toUpperCase());
}

function compare(a: unknown, b: unknown): number {
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new Error(`incompatible types for comparison: ${formatGoValue(a)} and ${formatGoValue(b)}`);
}

function equal(a: unknown, b: unknown): boolean {
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) return compare(a, b) === 0;
  if (typeof a !== typeof b) throw new Error(`incompatible types for comparison: ${formatGoValue(a)} and ${formatGoValue(b)}`);
  return a === b;
}

function stripPort(input: unknown): string {
  const host = toText(input);
  const bracketed = /^\[([^\]]+)\](?::\d*)?$/.exec(host);
  if (bracketed !== null) return bracketed[1]!;
  const colon = host.lastIndexOf(':');
  if (colon < 0 || host.indexOf(':') !== colon) return host;
  return host.slice(0, colon);
}

function stripDomain(input: unknown): string {
  const host = toText(input);
  const bracketed = /^\[[^\]]+\](:\d*)?$/.test(host);
  if (bracketed) return host;
  const colon = host.lastIndexOf(':');
  const port = colon >= 0 && host.indexOf(':') === colon ? host.slice(colon) : '';
  const name = port === '' ? host : host.slice(0, colon);
  if (/^[0-9.]+$/.test(name)) return host;
  return name.split('.')[0]! + port;
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[ch]!);

/** Go's builtins, then Prometheus's alert-template functions. */
export function alertTemplateFunctions(externalURL: string): Record<string, TemplateFunction> {
  return {
    and: (...args) => {
      for (const arg of args) if (!isTruthy(arg)) return arg;
      return args[args.length - 1];
    },
    or: (...args) => {
      for (const arg of args) if (isTruthy(arg)) return arg;
      return args[args.length - 1];
    },
    not: (value) => !isTruthy(value),
    len: (value) => {
      if (typeof value === 'string') return BigInt(Buffer.byteLength(value));
      if (Array.isArray(value)) return BigInt(value.length);
      if (value instanceof Map) return BigInt(value.size);
      if (value !== null && typeof value === 'object') return BigInt(Object.keys(value).length);
      throw new Error(`len of type ${typeof value}`);
    },
    index: (collection, ...keys) => {
      let value = collection;
      for (const key of keys) {
        if (Array.isArray(value)) value = value[Number(key)];
        else if (value instanceof Map) value = value.has(key) ? value.get(key) : '';
        else if (value !== null && typeof value === 'object') value = (value as Record<string, unknown>)[toText(key)] ?? '';
        else throw new Error(`can't index item of type ${typeof value}`);
      }
      return value;
    },
    print: (...args) => args.map((arg, i) => (i > 0 && typeof arg !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + toText(arg)).join(''),
    println: (...args) => `${args.map(toText).join(' ')}\n`,
    printf: (format, ...args) => sprintf(toText(format), args),
    eq: (a, ...others) => others.some((b) => equal(a, b)),
    ne: (a, b) => !equal(a, b),
    lt: (a, b) => compare(a, b) < 0,
    le: (a, b) => compare(a, b) <= 0,
    gt: (a, b) => compare(a, b) > 0,
    ge: (a, b) => compare(a, b) >= 0,
    html: (value) => escapeHtml(toText(value)),
    js: (value) => JSON.stringify(toText(value)).slice(1, -1).replace(/</g, '\\u003C').replace(/>/g, '\\u003E'),
    urlquery: (value) => encodeURIComponent(toText(value)).replace(/%20/g, '+'),
    humanize,
    humanize1024,
    humanizeDuration,
    humanizePercentage,
    humanizeTimestamp,
    toTime,
    toUpper: (value) => toText(value).toUpperCase(),
    toLower: (value) => toText(value).toLowerCase(),
    title,
    match: (pattern, text) => compileTemplateRegex(pattern).regexp.test(toText(text)),
    reReplaceAll,
    safeHtml: (value) => toText(value),
    stripPort,
    stripDomain,
    // Prometheus' parseDuration is model.ParseDuration: strict, no plain seconds.
    parseDuration: (value) => Number(parsePrometheusDuration(toText(value))) / 1e9,
    args: (...values) => Object.fromEntries(values.map((value, i) => [`arg${i}`, value])),
    externalURL: () => externalURL,
    pathPrefix: () => {
      try {
        return new URL(externalURL).pathname.replace(/\/$/, '');
      } catch {
        return '';
      }
    },
    // Prometheus's query-backed helpers need a synchronous PromQL engine; rankscope's LogQL engine is
    // asynchronous, so these fail with a clear message rather than rendering something misleading.
    query: () => {
      throw new Error('query is not supported in rankscope alert templates; put the value in the rule expression');
    },
  };
}

export interface AlertTemplateData {
  labels: Record<string, string>;
  value: number;
  externalLabels: Record<string, string>;
  externalURL: string;
}

const compiledCache = new Map<string, CompiledTemplate>();
const COMPILED_CACHE_LIMIT = 2000;

function compiled(source: string): CompiledTemplate {
  let template = compiledCache.get(source);
  if (template === undefined) {
    template = compileTemplate(source);
    if (compiledCache.size >= COMPILED_CACHE_LIMIT) compiledCache.clear();
    compiledCache.set(source, template);
  }
  return template;
}

/** One function table per external URL (in practice one per process), not one per expansion. */
const functionTables = new Map<string, Record<string, TemplateFunction>>();
function functionsFor(externalURL: string): Record<string, TemplateFunction> {
  let table = functionTables.get(externalURL);
  if (table === undefined) {
    table = alertTemplateFunctions(externalURL);
    if (functionTables.size > 100) functionTables.clear();
    functionTables.set(externalURL, table);
  }
  return table;
}

/** Checks a label or annotation template's syntax; throws TemplateError. */
export function checkAlertTemplate(source: string): void {
  compiled(source);
}

/**
 * Expands one label or annotation value like Prometheus: `.Labels`, `.Value`, `.ExternalLabels` and
 * `.ExternalURL` as data, `$labels`, `$value`, `$externalLabels`, `$externalURL` as variables. On error
 * the result is Prometheus's `<error expanding template: …>` text, so an alert still goes out.
 */
export function expandAlertTemplate(source: string, data: AlertTemplateData): string {
  if (!source.includes('{{')) return source;
  try {
    const dot = { Labels: data.labels, Value: data.value, ExternalLabels: data.externalLabels, ExternalURL: data.externalURL };
    return executeTemplate(
      compiled(source),
      dot,
      { labels: data.labels, value: data.value, externalLabels: data.externalLabels, externalURL: data.externalURL },
      functionsFor(data.externalURL),
    );
  } catch (error) {
    const message = error instanceof TemplateError ? error.message : String(error);
    return `<error expanding template: ${message}>`;
  }
}

/** Renders a notification template (Slack title/text) over Alertmanager-style data; throws TemplateError. */
export function renderNotificationTemplate(source: string, data: unknown): string {
  return executeTemplate(compiled(source), data, {}, functionsFor(''));
}
