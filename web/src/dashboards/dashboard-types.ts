// The dashboard view as GET /api/dashboards/uid/{uid} answers it: the server's own types
// (src/dashboards/dashboard-model.ts, imported as types only, so nothing of the server is bundled).
import type { PanelView } from '../../../src/dashboards/dashboard-model.ts';

export type { DashboardSummary, DashboardView, DatasourceType, GridPos, PanelDisplay, PanelKind, PanelView, TargetView, Threshold, VariableView } from '../../../src/dashboards/dashboard-model.ts';
export type DataPanel = Extract<PanelView, { targets: unknown }>;
export type RowPanel = Extract<PanelView, { kind: 'row' }>;

export interface DashboardMeta {
  builtIn: boolean;
  version: number;
  updated: string | null;
  canSave: boolean;
  canDelete: boolean;
}

/** Sentinel value of a variable set to All, as Grafana stores it. */
export const ALL_VALUE = '$__all';
