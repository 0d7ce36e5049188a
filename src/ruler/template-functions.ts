// Prometheus's alert-template context for the Go-template engine (src/gotemplate/): the functions
// Prometheus adds for alerts (humanize*, toUpper, reReplaceAll, match, label, value, sortByLabel, …,
// with Prometheus's formatting rules) and the data it pre-defines (.Labels, .Value, .ExternalLabels,
// .ExternalURL and $labels, $value, $externalLabels, $externalURL). Go's builtins come from the engine.

import { compileRegex, replaceAll, type CompiledRegex } from '../regex/index.ts';
import { fn, FunctionCallError, type FunctionTable } from '../gotemplate/builtins.ts';
import { TemplateError, TemplateParseError } from '../gotemplate/errors.ts';
import { Template } from '../gotemplate/template.ts';
import { GoTime } from '../gotemplate/time.ts';
import { formatFloatG, isPlainMap, printGo, StringMap, type GoValue } from '../gotemplate/value.ts';
import { parsePrometheusDuration } from '../duration/duration.ts';

export { TemplateError };

function toFloat(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (/^[-+]?(inf|infinity)$/i.test(trimmed)) return trimmed.startsWith('-') ? -Infinity : Infinity;
    if (/^nan$/i.test(trimmed)) return NaN;
    const parsed = Number(trimmed);
    if (trimmed === '' || Number.isNaN(parsed)) throw new FunctionCallError(`strconv.ParseFloat: parsing ${JSON.stringify(value)}: invalid syntax`);
    return parsed;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  throw new FunctionCallError(`can't convert ${printGo(value as GoValue)} to a number`);
}

function toText(value: unknown): string {
  return typeof value === 'string' ? value : printGo(value as GoValue);
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

function toTime(input: unknown): GoTime {
  const seconds = toFloat(input);
  if (!Number.isFinite(seconds)) throw new FunctionCallError(`${printGo(seconds)} cannot be represented as a time`);
  return new GoTime(BigInt(Math.round(seconds * 1000)) * 1_000_000n);
}

export function humanizeTimestamp(input: unknown): string {
  const seconds = toFloat(input);
  if (!Number.isFinite(seconds)) return formatFloatG(seconds, 4);
  return toTime(seconds).toString();
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

/** A query result sample as Prometheus's template helpers see it: `.Labels` and `.Value`. */
function sampleOf(value: GoValue, name: string): { Labels: StringMap; Value: GoValue } {
  if (isPlainMap(value) && value.Labels instanceof StringMap) return value as { Labels: StringMap; Value: GoValue };
  throw new FunctionCallError(`${name} needs a query result sample (.Labels and .Value), got ${printGo(value)}`);
}

function samplesOf(value: GoValue, name: string): GoValue[] {
  if (!Array.isArray(value)) throw new FunctionCallError(`${name} needs a list of query result samples, got ${printGo(value)}`);
  return value;
}

/** Prometheus's alert-template functions (rules/alerting.go and template/template.go). */
export function alertTemplateFunctions(externalURL: string): FunctionTable {
  const text = (call: (value: string) => GoValue) => fn(['any'], (value: GoValue) => call(toText(value)));
  return {
    humanize: fn(['any'], (value: GoValue) => humanize(value)),
    humanize1024: fn(['any'], (value: GoValue) => humanize1024(value)),
    humanizeDuration: fn(['any'], (value: GoValue) => humanizeDuration(value)),
    humanizePercentage: fn(['any'], (value: GoValue) => humanizePercentage(value)),
    humanizeTimestamp: fn(['any'], (value: GoValue) => humanizeTimestamp(value)),
    toTime: fn(['any'], (value: GoValue) => toTime(value)),
    toUpper: text((value) => value.toUpperCase()),
    toLower: text((value) => value.toLowerCase()),
    title: text((value) => title(value)),
    match: fn(['any', 'any'], (pattern: GoValue, value: GoValue) => compileTemplateRegex(pattern).regexp.test(toText(value))),
    reReplaceAll: fn(['any', 'any', 'any'], (pattern: GoValue, replacement: GoValue, value: GoValue) => reReplaceAll(pattern, replacement, value)),
    safeHtml: text((value) => value),
    stripPort: text((value) => stripPort(value)),
    stripDomain: text((value) => stripDomain(value)),
    // Prometheus' parseDuration is model.ParseDuration: strict, no plain seconds.
    parseDuration: fn(['any'], (value: GoValue) => Number(parsePrometheusDuration(toText(value))) / 1e9),
    args: fn([], (...values: GoValue[]) => Object.fromEntries(values.map((value, i) => [`arg${i}`, value])), 'any'),
    externalURL: fn([], () => externalURL),
    pathPrefix: fn([], () => {
      try {
        return new URL(externalURL).pathname.replace(/\/$/, '');
      } catch {
        return '';
      }
    }),
    // Helpers over query results (what `query` returns in Prometheus).
    first: fn(['any'], (list: GoValue) => {
      const samples = samplesOf(list, 'first');
      if (samples.length === 0) throw new FunctionCallError('first() called on vector with no elements');
      return samples[0]!;
    }),
    label: fn(['string', 'any'], (name: string, sample: GoValue) => sampleOf(sample, 'label').Labels.get(name) ?? ''),
    value: fn(['any'], (sample: GoValue) => sampleOf(sample, 'value').Value),
    strvalue: fn(['any'], (sample: GoValue) => sampleOf(sample, 'strvalue').Labels.get('__value__') ?? ''),
    sortByLabel: fn(['string', 'any'], (name: string, list: GoValue) => {
      const samples = samplesOf(list, 'sortByLabel').map((sample) => sampleOf(sample, 'sortByLabel'));
      return samples.sort((a, b) => {
        const x = a.Labels.get(name) ?? '';
        const y = b.Labels.get(name) ?? '';
        return x < y ? -1 : x > y ? 1 : 0;
      });
    }),
    // Prometheus's query-backed helper needs a synchronous PromQL engine; rankscope's engines are
    // asynchronous, so it fails with a clear message rather than rendering something misleading.
    query: fn(['string'], () => {
      throw new FunctionCallError('query is not supported in rankscope alert templates; put the value in the rule expression');
    }),
  };
}

export interface AlertTemplateData {
  labels: Record<string, string>;
  value: number;
  externalLabels: Record<string, string>;
  externalURL: string;
  /** The alerting rule's name: Prometheus names the template `__alert_<name>` in its errors. */
  ruleName?: string;
}

const ALERT_VARIABLES = ['$labels', '$value', '$externalLabels', '$externalURL'];
/** Bounds an alert label or annotation (they go out in every notification). */
const MAX_ALERT_TEMPLATE_OUTPUT_CHARS = 1 << 20;
const COMPILED_CACHE_LIMIT = 2000;
const compiledCache = new Map<string, Template>();

/** One function table per external URL (in practice one per process), not one per expansion. */
const functionTables = new Map<string, FunctionTable>();
function functionsFor(externalURL: string): FunctionTable {
  let table = functionTables.get(externalURL);
  if (table === undefined) {
    table = alertTemplateFunctions(externalURL);
    if (functionTables.size > 100) functionTables.clear();
    functionTables.set(externalURL, table);
  }
  return table;
}

function compiled(name: string, source: string, externalURL: string, variables: string[]): Template {
  const key = `${name}\0${externalURL}\0${source}`;
  let template = compiledCache.get(key);
  if (template === undefined) {
    template = new Template(name, source, { functions: functionsFor(externalURL), variables, maxOutputChars: MAX_ALERT_TEMPLATE_OUTPUT_CHARS });
    if (compiledCache.size >= COMPILED_CACHE_LIMIT) compiledCache.clear();
    compiledCache.set(key, template);
  }
  return template;
}

/**
 * Checks a label or annotation template's syntax; throws TemplateParseError whose message is Go's
 * without the `template: NAME:LINE: ` prefix (the rule file's position says where).
 */
export function checkAlertTemplate(source: string): void {
  try {
    compiled('__alert', source, '', ALERT_VARIABLES);
  } catch (error) {
    if (error instanceof TemplateParseError) throw new TemplateParseError(error.message.replace(/^template: __alert:\d+: /, ''), error.offset);
    throw error;
  }
}

/**
 * Expands one label or annotation value like Prometheus: `.Labels`, `.Value`, `.ExternalLabels` and
 * `.ExternalURL` as data, `$labels`, `$value`, `$externalLabels`, `$externalURL` as variables. On error
 * the result is Prometheus's `<error expanding template: …>` text, so an alert still goes out.
 */
export function expandAlertTemplate(source: string, data: AlertTemplateData): string {
  if (!source.includes('{{')) return source;
  const name = `__alert_${data.ruleName ?? ''}`;
  let template: Template;
  try {
    template = compiled(name, source, data.externalURL, ALERT_VARIABLES);
  } catch (error) {
    if (error instanceof TemplateError) return `<error expanding template: error parsing template ${name}: ${error.message}>`;
    throw error;
  }
  const labels = StringMap.of(data.labels);
  const externalLabels = StringMap.of(data.externalLabels);
  try {
    return template.execute(
      { Labels: labels, Value: data.value, ExternalLabels: externalLabels, ExternalURL: data.externalURL },
      { labels, value: data.value, externalLabels, externalURL: data.externalURL },
    );
  } catch (error) {
    if (error instanceof TemplateError) return `<error expanding template: error executing template ${name}: ${error.message}>`;
    throw error;
  }
}

/** Renders a notification template (Slack title/text) over Alertmanager-style data; throws TemplateError. */
export function renderNotificationTemplate(name: string, source: string, data: GoValue): string {
  return compiled(name, source, '', []).execute(data);
}
