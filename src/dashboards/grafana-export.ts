// A stored dashboard as Grafana imports it (Dashboards → New → Import, or POST /api/dashboards/db):
// the document as stored, unknown fields included, with `id` cleared because ids are per Grafana
// instance (the uid is what identifies a dashboard across instances). Data sources stay as written:
// the built-ins name theirs through `datasource` template variables, which Grafana binds to its own
// Prometheus and Loki data sources on import.

import type { JsonObject } from './grafana-import.ts';

export function exportGrafanaDashboard(json: JsonObject): JsonObject {
  const copy = structuredClone(json);
  copy.id = null;
  return copy;
}

/** A file name for the download: the title reduced to letters, digits and dashes. */
export function exportFileName(json: JsonObject): string {
  const base = String(json.title ?? 'dashboard')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `${base === '' ? 'dashboard' : base}.json`;
}
