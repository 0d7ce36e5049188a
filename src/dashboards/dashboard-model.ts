// A dashboard as the UI draws it: the subset of Grafana's dashboard JSON model we render, read out of
// the stored Grafana JSON (grafana-import.ts). The stored JSON stays the source of truth, so fields we
// do not model (links, annotations, field overrides, plugin options) survive an import and an export.
//
// Panels in the subset: time series (and the older `graph`), stat (and `singlestat`), gauge, bar
// gauge, table, heatmap of histogram buckets, logs, and rows. Any other type becomes an
// `unsupported` panel that keeps its place, so the UI shows "unsupported panel type X" there.

/** Grafana panel types we draw, and the older names Grafana itself migrates to them. */
export const PANEL_KINDS = ['timeseries', 'stat', 'gauge', 'bargauge', 'table', 'heatmap', 'logs'] as const;
export type PanelKind = (typeof PANEL_KINDS)[number];
export const LEGACY_PANEL_TYPES: Readonly<Record<string, PanelKind>> = { graph: 'timeseries', singlestat: 'stat', 'grafana-singlestat-panel': 'stat', 'table-old': 'table' };

/** The data source types a target can query here: PromQL over the TSDB, LogQL over the log store. */
export type DatasourceType = 'prometheus' | 'loki';

/** Grafana's grid: 24 columns, rows of 30 px. */
export const GRID_COLUMNS = 24;

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface TargetView {
  refId: string;
  datasource: DatasourceType;
  expr: string;
  /** `{{label}}` templates naming each series; empty = the series' labels. */
  legendFormat: string;
  /** An instant query at the end of the range instead of a range query. */
  instant: boolean;
  /** `heatmap` asks for bucket series (`le`) to be drawn as counts per bucket. */
  format: 'time_series' | 'table' | 'heatmap';
  /** Minimum step, as Grafana's `interval` (e.g. `15s`); empty = derived from the range. */
  interval: string;
}

export interface Threshold {
  /** null is the base (everything below the first step). */
  value: number | null;
  color: string;
}

export interface PanelDisplay {
  /** Grafana's unit id (`percent`, `bytes`, `s`, `watt`, …); empty = plain numbers. */
  unit: string;
  min: number | undefined;
  max: number | undefined;
  decimals: number | undefined;
  thresholds: Threshold[];
  /** The reduction for stat, gauge, bar gauge and table (`lastNotNull`, `mean`, `max`, …). */
  reducer: string;
  /** Bar gauges and gauges: `horizontal` or `vertical`. */
  orientation: string;
  /** Time series: stacked areas. */
  stacked: boolean;
}

interface PanelBase {
  id: number;
  /** The panel's `type` as written in the JSON (`graph` stays `graph`). */
  type: string;
  title: string;
  description: string;
  gridPos: GridPos;
}

export type PanelView =
  | (PanelBase & { kind: PanelKind; targets: TargetView[]; display: PanelDisplay; problems: string[] })
  | (PanelBase & { kind: 'row'; collapsed: boolean; panels: PanelView[] })
  | (PanelBase & { kind: 'unsupported' });

export type VariableKind = 'query' | 'custom' | 'constant' | 'interval' | 'textbox' | 'datasource';

export interface VariableView {
  name: string;
  label: string;
  kind: VariableKind;
  /** For `query`: which API answers it; for `datasource`: the type it picks. */
  datasource: DatasourceType | undefined;
  /** `label_values(metric{…}, label)`, `label_values(label)`, `label_names()`, `metrics(re)`, `query_result(expr)` or (custom, interval) a comma list. */
  query: string;
  /** Fixed choices (custom, interval, constant, textbox default). */
  options: string[];
  multi: boolean;
  includeAll: boolean;
  /** What `All` becomes in a query (Grafana's `allValue`, e.g. `.*`); undefined = every value joined. */
  allValue: string | undefined;
  /** The selected values saved with the dashboard; `$__all` means All. */
  current: string[];
  /** Keep only values matching this regex (Grafana's `regex`, written `/…/`, e.g. `/gpu-(.+)/`). */
  regex: string;
  /** Grafana's sort of query results: 0 as answered, 1/2 alphabetical up/down, 3/4 numerical up/down. */
  sort: number;
  hidden: boolean;
}

export interface DashboardView {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  time: { from: string; to: string };
  /** Auto-refresh interval (`30s`, `1m`, …); empty = off. */
  refresh: string;
  variables: VariableView[];
  /** Top-level panels in layout order; rows hold their collapsed panels. */
  panels: PanelView[];
}

/** What the list page shows for one dashboard. */
export interface DashboardSummary {
  uid: string;
  title: string;
  tags: string[];
  builtIn: boolean;
  panels: number;
  version: number;
  updatedMs: number | undefined;
}
