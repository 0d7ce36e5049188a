// Grafana's template syntax in queries: `$var`, `${var}`, `${var:format}`, `[[var]]`, and the
// interval macros ($__interval, $__rate_interval, $__range, $__auto…). Multi-value and All choices
// become a regex alternation the way Grafana's Prometheus and Loki data sources write them, escaped
// for a double-quoted PromQL/LogQL string. Also: what a variable's query asks for, the `/regex/`
// filter on its values, its sort, and legend templates. Pure.
import { ALL_VALUE, type VariableView } from './dashboard-types.ts';

export interface VariableState {
  variable: VariableView;
  /** The choices offered (from the query or the fixed list). */
  options: string[];
  /** What is selected; [ALL_VALUE] means All. */
  selected: string[];
}

export interface Macros {
  /** The query step in seconds ($__interval). */
  intervalS: number;
  /** The whole range in seconds ($__range). */
  rangeS: number;
  fromMs: number;
  toMs: number;
}

/** Grafana's scrape-interval guess for $__rate_interval (Prometheus' default scrape_interval). */
const SCRAPE_INTERVAL_S = 15;

/** Seconds as a Prometheus duration: 90 → `90s`, 3600 → `1h`, 120 → `2m`. */
export function formatDurationS(seconds: number): string {
  const whole = Math.max(1, Math.round(seconds));
  if (whole % 86_400 === 0) return `${whole / 86_400}d`;
  if (whole % 3600 === 0) return `${whole / 3600}h`;
  if (whole % 60 === 0) return `${whole / 60}m`;
  return `${whole}s`;
}

/** Grafana's `15s`, `1m`, `500ms` interval text in seconds; undefined when it is not one. */
export function parseIntervalS(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim().replace(/^>/, ''));
  if (!match) return undefined;
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[match[2] as 'ms'];
  return Number(match[1]) * unit;
}

/** Escapes regex metacharacters, doubled for a double-quoted PromQL/LogQL string (`a.b` → `a\\.b`). */
export function regexEscapeForQuery(value: string): string {
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

function macroValue(name: string, macros: Macros): string | undefined {
  switch (name) {
    case '__interval':
    case '__auto':
      return formatDurationS(macros.intervalS);
    case '__interval_ms':
      return String(Math.round(macros.intervalS * 1000));
    case '__rate_interval':
      return formatDurationS(Math.max(macros.intervalS + SCRAPE_INTERVAL_S, 4 * SCRAPE_INTERVAL_S));
    case '__range':
      return formatDurationS(macros.rangeS);
    case '__range_s':
      return String(Math.round(macros.rangeS));
    case '__range_ms':
      return String(Math.round(macros.rangeS * 1000));
    case '__from':
      return String(Math.round(macros.fromMs));
    case '__to':
      return String(Math.round(macros.toMs));
    default:
      return undefined;
  }
}

/** The values a variable stands for: All is every option (or the allValue, returned alone). */
export function selectedValues(state: VariableState): { values: string[]; allValue: string | undefined } {
  const all = state.selected.includes(ALL_VALUE);
  if (all && state.variable.allValue !== undefined) return { values: [], allValue: state.variable.allValue };
  return { values: all ? state.options : state.selected, allValue: undefined };
}

function formatValue(state: VariableState, format: string | undefined): string {
  const { values, allValue } = selectedValues(state);
  if (allValue !== undefined) return allValue;
  const { multi, includeAll } = state.variable;
  switch (format) {
    case 'raw':
    case 'csv':
      return values.join(',');
    case 'pipe':
      return values.join('|');
    case 'json':
      return JSON.stringify(values);
    case 'doublequote':
      return values.map((value) => `"${value}"`).join(',');
    case 'singlequote':
      return values.map((value) => `'${value}'`).join(',');
    case 'text':
      return values.join(' + ');
    case 'regex':
      return values.length === 1 ? regexEscapeForQuery(values[0]!) : `(${values.map(regexEscapeForQuery).join('|')})`;
    default:
      if (!multi && !includeAll) return values[0] ?? '';
      // Nothing to match: a regex (RE2 has no lookahead) that matches nothing rather than everything.
      if (values.length === 0) return '[^\\\\s\\\\S]';
      return values.length === 1 ? regexEscapeForQuery(values[0]!) : `(${values.map(regexEscapeForQuery).join('|')})`;
  }
}

const TEMPLATE = /\$(\w+)|\[\[(\w+)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}/g;

/** Replaces variables and macros; unknown names stay as written (the query error then names them). */
export function interpolate(text: string, variables: ReadonlyMap<string, VariableState>, macros: Macros): string {
  return text.replace(TEMPLATE, (whole, plain?: string, bracketName?: string, bracketFormat?: string, braceName?: string, braceFormat?: string) => {
    const name = plain ?? bracketName ?? braceName ?? '';
    const format = bracketFormat ?? braceFormat;
    const macro = macroValue(name, macros);
    if (macro !== undefined) return macro;
    const state = variables.get(name);
    return state === undefined ? whole : formatValue(state, format);
  });
}

export type VariableQuery =
  | { kind: 'label_values'; selector: string | undefined; label: string }
  | { kind: 'label_names'; selector: string | undefined }
  | { kind: 'metrics'; regex: string }
  | { kind: 'query_result'; expr: string }
  | { kind: 'unknown'; text: string };

/** The last comma outside braces, parentheses and quotes. */
function lastTopLevelComma(text: string): number {
  let depth = 0;
  let quote: string | undefined;
  let found = -1;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quote !== undefined) {
      if (char === '\\') i++;
      else if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'" || char === '`') quote = char;
    else if (char === '{' || char === '(' || char === '[') depth++;
    else if (char === '}' || char === ')' || char === ']') depth--;
    else if (char === ',' && depth === 0) found = i;
  }
  return found;
}

export function parseVariableQuery(query: string): VariableQuery {
  const trimmed = query.trim();
  const call = /^(label_values|label_names|metrics|query_result)\s*\(([\s\S]*)\)$/.exec(trimmed);
  if (!call) return { kind: 'unknown', text: trimmed };
  const inner = call[2]!.trim();
  switch (call[1]) {
    case 'label_values': {
      const comma = lastTopLevelComma(inner);
      if (comma < 0) return { kind: 'label_values', selector: undefined, label: inner };
      return { kind: 'label_values', selector: inner.slice(0, comma).trim(), label: inner.slice(comma + 1).trim() };
    }
    case 'label_names':
      return { kind: 'label_names', selector: inner === '' ? undefined : inner };
    case 'metrics':
      return { kind: 'metrics', regex: inner };
    default:
      return { kind: 'query_result', expr: inner };
  }
}

/** Grafana's `/regex/flags` filter: keeps matching values, or the first capture group when there is one. */
export function filterByRegex(values: string[], regexText: string): string[] {
  const match = /^\/(.*)\/([gimsuy]*)$/.exec(regexText.trim());
  if (regexText.trim() === '' || !match) return values;
  let regex: RegExp;
  try {
    regex = new RegExp(match[1]!, match[2]!.replace('g', ''));
  } catch {
    return values;
  }
  const kept: string[] = [];
  for (const value of values) {
    const found = regex.exec(value);
    if (found) kept.push(found[1] ?? value);
  }
  return [...new Set(kept)];
}

/** Grafana's sort codes: 1/2 alphabetical, 3/4 numerical, 5/6 alphabetical ignoring case. */
export function sortValues(values: string[], sort: number): string[] {
  const sorted = [...values];
  const numeric = (text: string): number => {
    const found = /-?\d+(\.\d+)?/.exec(text);
    return found ? Number(found[0]) : Number.NaN;
  };
  if (sort === 1 || sort === 2) sorted.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  else if (sort === 3 || sort === 4) sorted.sort((a, b) => numeric(a) - numeric(b) || a.localeCompare(b));
  else if (sort === 5 || sort === 6) sorted.sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
  if (sort === 2 || sort === 4 || sort === 6) sorted.reverse();
  return sorted;
}

/** A legend template (`rank {{rank}}`) filled from a series' labels; empty = the series' own name. */
export function legendName(legendFormat: string, labels: Record<string, string>): string {
  if (legendFormat.trim() !== '' && legendFormat !== '__auto') return legendFormat.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_whole, name: string) => labels[name] ?? '');
  const { __name__: metric, ...rest } = labels;
  const names = Object.keys(rest).sort();
  const inner = names.map((name) => `${name}="${rest[name]}"`).join(', ');
  if (metric === undefined) return names.length === 0 ? 'value' : `{${inner}}`;
  return names.length === 0 ? metric : `${metric}{${inner}}`;
}
