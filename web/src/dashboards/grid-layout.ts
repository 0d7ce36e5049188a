// Places panels on Grafana's 24-column grid, honouring rows the user folds and unfolds. Grafana keeps
// absolute `y` positions: a row collapsed in the JSON holds its panels (positioned as if unfolded);
// an unfolded row is followed by its panels at the top level until the next row. Folding or
// unfolding moves everything below by the height of the row's content. Pure.
import type { PanelView, RowPanel } from './dashboard-types.ts';

export interface PlacedPanel {
  panel: PanelView;
  x: number;
  y: number;
  w: number;
  h: number;
}

function byPosition(a: PanelView, b: PanelView): number {
  return a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x;
}

/** Rows below the content of `panels` that start after `rowY`. */
function extentBelow(rowY: number, panels: PanelView[]): number {
  let bottom = rowY + 1;
  for (const panel of panels) bottom = Math.max(bottom, Math.max(panel.gridPos.y, rowY + 1) + panel.gridPos.h);
  return bottom - (rowY + 1);
}

/** `collapsed` overrides a row's saved state by its id. */
export function layoutPanels(panels: PanelView[], collapsed: ReadonlyMap<number, boolean>): PlacedPanel[] {
  const sorted = [...panels].sort(byPosition);
  const placed: PlacedPanel[] = [];
  let offset = 0;
  for (let index = 0; index < sorted.length; index++) {
    const panel = sorted[index]!;
    if (panel.kind !== 'row') {
      placed.push({ panel, x: panel.gridPos.x, y: panel.gridPos.y + offset, w: panel.gridPos.w, h: panel.gridPos.h });
      continue;
    }
    const row: RowPanel = panel;
    const isCollapsed = collapsed.get(row.id) ?? row.collapsed;
    placed.push({ panel: row, x: 0, y: row.gridPos.y + offset, w: 24, h: 1 });
    if (row.panels.length > 0) {
      // Saved folded: its panels live inside it.
      if (!isCollapsed) {
        for (const inner of [...row.panels].sort(byPosition)) {
          placed.push({ panel: inner, x: inner.gridPos.x, y: Math.max(inner.gridPos.y, row.gridPos.y + 1) + offset, w: inner.gridPos.w, h: inner.gridPos.h });
        }
        offset += extentBelow(row.gridPos.y, row.panels);
      }
      continue;
    }
    // Saved unfolded: its panels follow until the next row.
    const following: PanelView[] = [];
    while (index + 1 < sorted.length && sorted[index + 1]!.kind !== 'row') following.push(sorted[++index]!);
    if (isCollapsed) {
      offset -= extentBelow(row.gridPos.y, following);
    } else {
      for (const inner of following) placed.push({ panel: inner, x: inner.gridPos.x, y: inner.gridPos.y + offset, w: inner.gridPos.w, h: inner.gridPos.h });
    }
  }
  return placed;
}

/** The panels a row holds wherever they are kept (inside it, or after it at the top level). */
export function panelsOfRow(panels: PanelView[], rowId: number): PanelView[] {
  const sorted = [...panels].sort(byPosition);
  const at = sorted.findIndex((panel) => panel.kind === 'row' && panel.id === rowId);
  if (at < 0) return [];
  const row = sorted[at] as RowPanel;
  if (row.panels.length > 0) return row.panels;
  const following: PanelView[] = [];
  for (let index = at + 1; index < sorted.length && sorted[index]!.kind !== 'row'; index++) following.push(sorted[index]!);
  return following;
}
