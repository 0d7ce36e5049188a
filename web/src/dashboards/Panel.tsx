// One panel on the grid: its frame (title, description, problems) and what its kind draws. A type
// outside the subset keeps its place as a visible "unsupported panel type X" box.
import type { DataPanel, PanelView } from './dashboard-types.ts';
import { usePanelData, type PanelContext } from './use-panel-data.ts';
import TimeSeriesPanel from './panels/TimeSeriesPanel.tsx';
import StatPanel from './panels/StatPanel.tsx';
import GaugePanel from './panels/GaugePanel.tsx';
import BarGaugePanel from './panels/BarGaugePanel.tsx';
import TablePanel from './panels/TablePanel.tsx';
import HeatmapPanel from './panels/HeatmapPanel.tsx';
import LogsPanel from './panels/LogsPanel.tsx';

/** Grafana's grid row and the gap between panels, in px (dashboards.css uses the same). */
export const ROW_HEIGHT_PX = 30;
export const GRID_GAP_PX = 8;
const FRAME_CHROME_PX = 36;

export function panelHeightPx(h: number): number {
  return h * ROW_HEIGHT_PX + (h - 1) * GRID_GAP_PX;
}

function DataPanelBody({ panel, context }: { panel: DataPanel; context: PanelContext }) {
  const data = usePanelData(panel, context);
  const bodyHeightPx = panelHeightPx(panel.gridPos.h) - FRAME_CHROME_PX;
  const empty = panel.kind === 'logs' ? data.streams.length === 0 : data.series.length === 0;
  return (
    <>
      {data.errors.map((message) => (
        <div className="panel-error" key={message} data-testid="panel-error" title={message}>
          {message}
        </div>
      ))}
      {!data.loading && empty && data.errors.length === 0 && panel.targets.length > 0 && <div className="panel-empty">No data</div>}
      {data.loading && empty && data.errors.length === 0 && <div className="panel-empty">Loading…</div>}
      {!empty && panel.kind === 'timeseries' && <TimeSeriesPanel panel={panel} series={data.series} window={data.window} heightPx={bodyHeightPx} />}
      {!empty && panel.kind === 'stat' && <StatPanel panel={panel} series={data.series} heightPx={bodyHeightPx} />}
      {!empty && panel.kind === 'gauge' && <GaugePanel panel={panel} series={data.series} />}
      {!empty && panel.kind === 'bargauge' && <BarGaugePanel panel={panel} series={data.series} />}
      {!empty && panel.kind === 'table' && <TablePanel panel={panel} series={data.series} />}
      {!empty && panel.kind === 'heatmap' && <HeatmapPanel panel={panel} series={data.series} heightPx={bodyHeightPx} />}
      {!empty && panel.kind === 'logs' && <LogsPanel streams={data.streams} />}
    </>
  );
}

export default function Panel({ panel, context }: { panel: PanelView; context: PanelContext }) {
  if (panel.kind === 'row') return null;
  return (
    <section className={`dash-panel kind-${panel.kind}`} data-testid="dash-panel" data-panel-type={panel.type} data-panel-title={panel.title}>
      <header className="dash-panel-header">
        <span className="dash-panel-title" title={panel.description || panel.title}>
          {panel.title || '\u00a0'}
        </span>
        {panel.description !== '' && (
          <span className="dash-panel-info" title={panel.description} aria-label={panel.description}>
            i
          </span>
        )}
      </header>
      <div className="dash-panel-body">
        {panel.kind === 'unsupported' ? (
          <div className="panel-unsupported" data-testid="unsupported-panel">
            unsupported panel type {panel.type}
            <span className="muted">kept in the dashboard and in its export; rankscope draws timeseries, stat, gauge, bargauge, table, heatmap and logs</span>
          </div>
        ) : (
          <>
            {panel.problems.map((problem) => (
              <div className="panel-error" key={problem} data-testid="panel-problem">
                {problem}
              </div>
            ))}
            <DataPanelBody panel={panel} context={context} />
          </>
        )}
      </div>
    </section>
  );
}
