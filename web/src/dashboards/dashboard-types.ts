// The dashboard view as GET /api/dashboards/uid/{uid} answers it (the server's
// src/dashboards/dashboard-model.ts; the web build cannot import from src/, so the shape is restated).

export type PanelKind = 'timeseries' | 'stat' | 'gauge' | 'bargauge' | 'table' | 'heatmap' | 'logs';
export type DatasourceType = 'prometheus' | 'loki';

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
  legendFormat: string;
  instant: boolean;
  format: 'time_series' | 'table' | 'heatmap';
  interval: string;
}

export interface Threshold {
  value: number | null;
  color: string;
}

export interface PanelDisplay {
  unit: string;
  min?: number;
  max?: number;
  decimals?: number;
  thresholds: Threshold[];
  reducer: string;
  orientation: string;
  stacked: boolean;
}

interface PanelBase {
  id: number;
  type: string;
  title: string;
  description: string;
  gridPos: GridPos;
}

export type DataPanel = PanelBase & { kind: PanelKind; targets: TargetView[]; display: PanelDisplay; problems: string[] };
export type RowPanel = PanelBase & { kind: 'row'; collapsed: boolean; panels: PanelView[] };
export type PanelView = DataPanel | RowPanel | (PanelBase & { kind: 'unsupported' });

export interface VariableView {
  name: string;
  label: string;
  kind: 'query' | 'custom' | 'constant' | 'interval' | 'textbox' | 'datasource';
  datasource?: DatasourceType;
  query: string;
  options: string[];
  multi: boolean;
  includeAll: boolean;
  allValue?: string;
  current: string[];
  regex: string;
  sort: number;
  hidden: boolean;
}

export interface DashboardView {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  time: { from: string; to: string };
  refresh: string;
  variables: VariableView[];
  panels: PanelView[];
}

export interface DashboardSummary {
  uid: string;
  title: string;
  tags: string[];
  builtIn: boolean;
  panels: number;
  version: number;
  updatedMs?: number;
}

export interface DashboardMeta {
  builtIn: boolean;
  version: number;
  updated: string | null;
  canSave: boolean;
  canDelete: boolean;
}

/** Sentinel value of a variable set to All, as Grafana stores it. */
export const ALL_VALUE = '$__all';
