// Reads a Grafana dashboard JSON: checks the parts we depend on (each error names the JSON path) and
// derives the DashboardView the UI draws. It never rewrites the JSON it was given; whatever we do not
// model stays in the stored document and goes back out on export.
//
// Data sources are resolved the way Grafana resolves them: a target's own `datasource`, else the
// panel's; an object `{type, uid}` names its type; a string is a data source name, a `${DS_X}`
// placeholder of an exported dashboard (`__inputs` says its plugin), or a `$var` of a `datasource`
// template variable (its `query` is the type). A name we cannot place counts as Prometheus unless the
// panel is a logs panel or the name says Loki, which is what a dashboard built for a default
// Prometheus data source means.

import {
  GRID_COLUMNS,
  LEGACY_PANEL_TYPES,
  PANEL_KINDS,
  type DashboardView,
  type DatasourceType,
  type GridPos,
  type PanelDisplay,
  type PanelKind,
  type PanelView,
  type TargetView,
  type Threshold,
  type VariableKind,
  type VariableView,
} from './dashboard-model.ts';

export type JsonObject = Record<string, unknown>;

/** A dashboard that cannot be read: `path` is where in the JSON (`panels[2].gridPos.w`). */
export class DashboardError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(path === '' ? message : `${path}: ${message}`);
    this.name = 'DashboardError';
    this.path = path;
  }
}

/** Grafana's uid rule: up to 40 letters, digits, `-` and `_`. */
export const UID_PATTERN = /^[A-Za-z0-9_-]{1,40}$/;
const MAX_PANELS = 2000;

const VARIABLE_KINDS: readonly VariableKind[] = ['query', 'custom', 'constant', 'interval', 'textbox', 'datasource'];

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(object: JsonObject, key: string, path: string): string {
  const value = object[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new DashboardError(`${path}${key}`, `expected a string, got ${JSON.stringify(value).slice(0, 60)}`);
  return value;
}

function optionalArray(object: JsonObject, key: string, path: string): unknown[] {
  const value = object[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new DashboardError(`${path}${key}`, 'expected an array');
  return value;
}

function optionalNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

/**
 * Checks a parsed JSON value is a dashboard we can read and returns it (the same object). Throws a
 * DashboardError naming the first problem.
 */
export function checkGrafanaDashboard(input: unknown): JsonObject {
  if (!isObject(input)) throw new DashboardError('', 'a dashboard is a JSON object');
  if (typeof input.title !== 'string' || input.title.trim() === '') throw new DashboardError('title', 'a dashboard needs a non-empty title');
  if (input.uid !== undefined && input.uid !== null && (typeof input.uid !== 'string' || !UID_PATTERN.test(input.uid))) {
    throw new DashboardError('uid', `${JSON.stringify(input.uid)} is not a uid: use 1 to 40 letters, digits, - and _`);
  }
  dashboardView(input);
  return input;
}

/** The view of a checked (or trusted) dashboard JSON. */
export function dashboardView(json: JsonObject): DashboardView {
  const inputs = readInputs(json);
  const variables = readVariables(json, inputs);
  const context: ReadContext = { inputs, variables, panelCount: 0 };
  const topLevel = readTopLevelPanels(json);
  const panels = topLevel.map(({ panel, path }) => readPanel(panel, path, context, true));
  const time = isObject(json.time) ? json.time : {};
  const tags = optionalArray(json, 'tags', '').filter((tag): tag is string => typeof tag === 'string');
  return {
    uid: typeof json.uid === 'string' ? json.uid : '',
    title: String(json.title ?? ''),
    description: typeof json.description === 'string' ? json.description : '',
    tags,
    time: { from: typeof time.from === 'string' ? time.from : 'now-6h', to: typeof time.to === 'string' ? time.to : 'now' },
    refresh: typeof json.refresh === 'string' ? json.refresh : '',
    variables,
    panels,
  };
}

interface ReadContext {
  /** `DS_PROMETHEUS` → `prometheus`, from an exported dashboard's `__inputs`. */
  inputs: Map<string, string>;
  variables: VariableView[];
  panelCount: number;
}

function readInputs(json: JsonObject): Map<string, string> {
  const inputs = new Map<string, string>();
  for (const input of optionalArray(json, '__inputs', '')) {
    if (isObject(input) && typeof input.name === 'string' && typeof input.pluginId === 'string') inputs.set(input.name, input.pluginId);
  }
  return inputs;
}

/**
 * The panels in layout order. Dashboards before schema 16 keep panels in `rows[].panels` with a
 * height per row and a 12-column span per panel; they are laid out on the 24-column grid here.
 */
function readTopLevelPanels(json: JsonObject): Array<{ panel: unknown; path: string }> {
  const panels = optionalArray(json, 'panels', '');
  if (panels.length > 0 || !Array.isArray(json.rows)) return panels.map((panel, index) => ({ panel, path: `panels[${index}]` }));
  const flattened: Array<{ panel: unknown; path: string }> = [];
  json.rows.forEach((row, rowIndex) => {
    if (!isObject(row)) throw new DashboardError(`rows[${rowIndex}]`, 'expected an object');
    optionalArray(row, 'panels', `rows[${rowIndex}].`).forEach((panel, index) => flattened.push({ panel, path: `rows[${rowIndex}].panels[${index}]` }));
  });
  return flattened;
}

function readGridPos(panel: JsonObject, path: string, id: number): GridPos {
  const raw = panel.gridPos;
  if (raw === undefined || raw === null) {
    // Old rows: span out of 12; a missing position flows after the previous panels.
    const span = optionalNumber(panel.span) ?? 6;
    return { x: 0, y: id * 8, w: Math.min(GRID_COLUMNS, Math.max(1, Math.round(span * 2))), h: 8 };
  }
  if (!isObject(raw)) throw new DashboardError(`${path}.gridPos`, 'expected an object {x, y, w, h}');
  const field = (key: 'x' | 'y' | 'w' | 'h', fallback: number, min: number, max: number): number => {
    const value = raw[key] === undefined ? fallback : raw[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new DashboardError(`${path}.gridPos.${key}`, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const w = field('w', 12, 1, GRID_COLUMNS);
  return { x: field('x', 0, 0, GRID_COLUMNS - 1), y: field('y', 0, 0, 100_000), w, h: field('h', 8, 1, 1000) };
}

function readPanel(input: unknown, path: string, context: ReadContext, topLevel: boolean): PanelView {
  if (!isObject(input)) throw new DashboardError(path, 'a panel is an object');
  if (++context.panelCount > MAX_PANELS) throw new DashboardError(path, `more than ${MAX_PANELS} panels`);
  if (typeof input.type !== 'string' || input.type === '') throw new DashboardError(`${path}.type`, 'a panel needs a type (timeseries, stat, row, …)');
  const id = optionalNumber(input.id) ?? context.panelCount;
  const base = {
    id,
    type: input.type,
    title: optionalString(input, 'title', `${path}.`),
    description: optionalString(input, 'description', `${path}.`),
    gridPos: readGridPos(input, path, context.panelCount),
  };
  if (input.type === 'row') {
    if (!topLevel) throw new DashboardError(path, 'a row cannot sit inside another row');
    const inner = optionalArray(input, 'panels', `${path}.`).map((panel, index) => readPanel(panel, `${path}.panels[${index}]`, context, false));
    return { ...base, kind: 'row', collapsed: input.collapsed === true, panels: inner };
  }
  const kind = (PANEL_KINDS as readonly string[]).includes(input.type) ? (input.type as PanelKind) : LEGACY_PANEL_TYPES[input.type];
  if (kind === undefined) return { ...base, kind: 'unsupported' };
  const problems: string[] = [];
  const targets: TargetView[] = [];
  optionalArray(input, 'targets', `${path}.`).forEach((target, index) => {
    const read = readTarget(target, `${path}.targets[${index}]`, input, kind, context);
    if (typeof read === 'string') problems.push(read);
    else if (read !== undefined) targets.push(read);
  });
  return { ...base, kind, targets, display: readDisplay(input), problems };
}

/** A target, undefined when hidden, or a string saying why it cannot be queried here. */
function readTarget(input: unknown, path: string, panel: JsonObject, kind: PanelKind, context: ReadContext): TargetView | string | undefined {
  if (!isObject(input)) throw new DashboardError(path, 'a target is an object');
  if (input.hide === true) return undefined;
  const refId = optionalString(input, 'refId', `${path}.`) || 'A';
  const datasource = resolveDatasource(input.datasource ?? panel.datasource, kind, context);
  if (typeof datasource === 'object') return `query ${refId}: data source type "${datasource.unsupported}" is not supported here (prometheus and loki are)`;
  const expr = optionalString(input, 'expr', `${path}.`);
  if (expr.trim() === '') return `query ${refId} has no expression`;
  const format = input.format === 'heatmap' || input.format === 'table' ? input.format : 'time_series';
  return {
    refId,
    datasource,
    expr,
    legendFormat: optionalString(input, 'legendFormat', `${path}.`),
    instant: input.instant === true && input.range !== true,
    format,
    // Grafana's min interval: the query's own, else the panel's.
    interval: typeof input.interval === 'string' && input.interval !== '' ? input.interval : typeof panel.interval === 'string' ? panel.interval : '',
  };
}

const MIXED = ['-- Mixed --', '-- Dashboard --'];

function typeFromName(name: string, kind: PanelKind | undefined, context: ReadContext): DatasourceType | { unsupported: string } {
  const variable = /^\$\{?([A-Za-z0-9_]+)\}?$/.exec(name)?.[1];
  if (variable !== undefined) {
    const input = context.inputs.get(variable);
    if (input !== undefined) return datasourceType(input) ?? { unsupported: input };
    const found = context.variables.find((candidate) => candidate.name === variable && candidate.kind === 'datasource');
    if (found?.datasource !== undefined) return found.datasource;
  }
  if (name === '-- Grafana --') return { unsupported: 'grafana' };
  if (/loki/i.test(name) || kind === 'logs') return 'loki';
  return 'prometheus';
}

function datasourceType(type: string): DatasourceType | undefined {
  return type === 'prometheus' || type === 'loki' ? type : undefined;
}

function resolveDatasource(reference: unknown, kind: PanelKind | undefined, context: ReadContext): DatasourceType | { unsupported: string } {
  if (isObject(reference)) {
    if (typeof reference.type === 'string' && reference.type !== '' && reference.type !== 'datasource') return datasourceType(reference.type) ?? { unsupported: reference.type };
    if (typeof reference.uid === 'string' && !MIXED.includes(reference.uid)) return typeFromName(reference.uid, kind, context);
    return kind === 'logs' ? 'loki' : 'prometheus';
  }
  if (typeof reference === 'string' && !MIXED.includes(reference)) return typeFromName(reference, kind, context);
  return kind === 'logs' ? 'loki' : 'prometheus';
}

/**
 * The field defaults: `fieldConfig.defaults`, or where Grafana 6.x–7.0 kept them, in
 * `options.fieldOptions.defaults` (Grafana migrates those on load; so do we, without rewriting).
 */
function fieldDefaults(panel: JsonObject): JsonObject {
  if (isObject(panel.fieldConfig) && isObject(panel.fieldConfig.defaults) && Object.keys(panel.fieldConfig.defaults).length > 0) return panel.fieldConfig.defaults;
  const legacy = isObject(panel.options) && isObject(panel.options.fieldOptions) ? panel.options.fieldOptions : {};
  return isObject(legacy.defaults) ? legacy.defaults : {};
}

function readThresholds(panel: JsonObject): Threshold[] {
  const defaults = fieldDefaults(panel);
  const thresholds = isObject(defaults.thresholds) && Array.isArray(defaults.thresholds.steps) ? defaults.thresholds.steps : [];
  return thresholds.filter(isObject).map((step) => ({ value: optionalNumber(step.value) ?? null, color: typeof step.color === 'string' ? step.color : 'green' }));
}

function readDisplay(panel: JsonObject): PanelDisplay {
  const defaults = fieldDefaults(panel);
  const options = isObject(panel.options) ? panel.options : {};
  const reduce = isObject(options.reduceOptions) ? options.reduceOptions : isObject(options.fieldOptions) ? options.fieldOptions : {};
  const calcs = Array.isArray(reduce.calcs) ? reduce.calcs.filter((calc): calc is string => typeof calc === 'string') : [];
  const custom = isObject(defaults.custom) ? defaults.custom : {};
  const stacking = isObject(custom.stacking) ? custom.stacking : {};
  // The older `graph` panel keeps its unit in yaxes[0].format.
  const legacyUnit = Array.isArray(panel.yaxes) && isObject(panel.yaxes[0]) && typeof panel.yaxes[0].format === 'string' ? panel.yaxes[0].format : '';
  return {
    unit: typeof defaults.unit === 'string' ? defaults.unit : typeof panel.format === 'string' ? panel.format : legacyUnit,
    min: optionalNumber(defaults.min),
    max: optionalNumber(defaults.max),
    decimals: optionalNumber(defaults.decimals),
    thresholds: readThresholds(panel),
    reducer: calcs[0] ?? 'lastNotNull',
    orientation: typeof options.orientation === 'string' ? options.orientation : 'auto',
    stacked: (typeof stacking.mode === 'string' && stacking.mode !== 'none') || panel.stack === true,
  };
}

function readVariables(json: JsonObject, inputs: Map<string, string>): VariableView[] {
  const templating = isObject(json.templating) ? json.templating : {};
  const variables: VariableView[] = [];
  // Query variables may name a data source through a datasource variable: those are read first.
  const datasourceVariables = optionalArray(templating, 'list', 'templating.')
    .filter((entry): entry is JsonObject => isObject(entry) && entry.type === 'datasource' && typeof entry.name === 'string')
    .map((entry) => ({ name: String(entry.name), kind: 'datasource', datasource: typeof entry.query === 'string' ? datasourceType(entry.query) : undefined }) as VariableView);
  const context: ReadContext = { inputs, variables: datasourceVariables, panelCount: 0 };
  optionalArray(templating, 'list', 'templating.').forEach((input, index) => {
    const path = `templating.list[${index}]`;
    if (!isObject(input)) throw new DashboardError(path, 'a variable is an object');
    if (typeof input.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(input.name)) throw new DashboardError(`${path}.name`, `a variable needs a name of letters, digits and _, got ${JSON.stringify(input.name)}`);
    const kind = VARIABLE_KINDS.find((candidate) => candidate === input.type);
    if (kind === undefined) return; // ad hoc filters, system variables: not templated here
    const query = isObject(input.query) ? objectQuery(input.query) : typeof input.query === 'string' ? input.query : '';
    const current = isObject(input.current) ? input.current.value : undefined;
    const currentValues = Array.isArray(current) ? current.filter((value): value is string => typeof value === 'string') : typeof current === 'string' ? [current] : [];
    const options = Array.isArray(input.options) ? input.options.filter(isObject).map((option) => option.value).filter((value): value is string => typeof value === 'string') : [];
    const datasource = kind === 'datasource' ? datasourceType(query) : kind === 'query' ? variableDatasource(input.datasource, context) : undefined;
    variables.push({
      name: input.name,
      label: typeof input.label === 'string' && input.label !== '' ? input.label : input.name,
      kind,
      datasource,
      query,
      options: kind === 'custom' || kind === 'interval' ? splitCommaList(query) : kind === 'constant' || kind === 'textbox' ? [query] : options,
      multi: input.multi === true,
      includeAll: input.includeAll === true,
      allValue: typeof input.allValue === 'string' && input.allValue !== '' ? input.allValue : undefined,
      current: currentValues,
      regex: typeof input.regex === 'string' ? input.regex : '',
      sort: optionalNumber(input.sort) ?? 0,
      hidden: input.hide === 2 || kind === 'datasource' || kind === 'constant',
    });
  });
  return variables;
}

/**
 * The query of a variable saved as an object: Prometheus' editor keeps `{query}`; Loki's keeps
 * `{type: 1, label, stream}` (label values), `{type: 0}` (label names).
 */
function objectQuery(query: JsonObject): string {
  if (typeof query.query === 'string') return query.query;
  const stream = typeof query.stream === 'string' && query.stream.trim() !== '' ? query.stream.trim() : undefined;
  if (typeof query.label === 'string' && query.label !== '') return stream === undefined ? `label_values(${query.label})` : `label_values(${stream}, ${query.label})`;
  if (query.type === 0) return stream === undefined ? 'label_names()' : `label_names(${stream})`;
  return '';
}

function variableDatasource(reference: unknown, context: ReadContext): DatasourceType {
  const resolved = resolveDatasource(reference, undefined, context);
  return typeof resolved === 'string' ? resolved : 'prometheus';
}

/** Grafana's custom-variable list: `a, b, c`, or `label : value` pairs (the value is used). */
function splitCommaList(text: string): string[] {
  return text
    .split(/(?<!\\),/)
    .map((part) => part.replace(/\\,/g, ',').trim())
    .map((part) => (/ : /.test(part) ? part.slice(part.indexOf(' : ') + 3).trim() : part))
    .filter((part) => part !== '');
}
