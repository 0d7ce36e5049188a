// One dashboard: variables, time range, refresh (manual and automatic), export, and the panels on
// Grafana's grid with rows that fold. Range, refresh and variables are in the URL.
import { useEffect, useMemo, useState } from 'react';
import TimeRangePicker from '../explore/TimeRangePicker.tsx';
import { resolveRange, type TimeRangeText } from '../explore/time-range.ts';
import type { DashboardMeta, DashboardView, RowPanel } from './dashboard-types.ts';
import { deleteDashboard, exportDashboardBlob, getDashboard } from './dashboard-client.ts';
import { layoutPanels, panelsOfRow } from './grid-layout.ts';
import { parseIntervalS } from './interpolate.ts';
import Panel, { GRID_GAP_PX, ROW_HEIGHT_PX } from './Panel.tsx';
import { useVariables } from './use-variables.ts';
import VariableBar from './VariableBar.tsx';

const REFRESH_CHOICES = ['', '5s', '10s', '30s', '1m', '5m', '15m'];

function readUrl(): { range: TimeRangeText | undefined; refresh: string | undefined } {
  const params = new URLSearchParams(window.location.search);
  const from = params.get('from');
  const to = params.get('to');
  return { range: from !== null && to !== null ? { from, to } : undefined, refresh: params.get('refresh') ?? undefined };
}

function writeUrl(changes: Record<string, string>): void {
  const params = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value === '') params.delete(key);
    else params.set(key, value);
  }
  window.history.replaceState(null, '', `${window.location.pathname}?${params.toString()}`);
}

function RowHeader({ row, collapsed, hiddenCount, onToggle }: { row: RowPanel; collapsed: boolean; hiddenCount: number; onToggle(): void }) {
  return (
    <button className="dash-row" onClick={onToggle} data-testid="dash-row" aria-expanded={!collapsed}>
      <span className="dash-row-caret">{collapsed ? '▸' : '▾'}</span>
      {row.title}
      {collapsed && <span className="muted"> ({hiddenCount} panels)</span>}
    </button>
  );
}

function Loaded({ view, meta, onDeleted }: { view: DashboardView; meta: DashboardMeta; onDeleted(): void }) {
  const initial = readUrl();
  const [range, setRange] = useState<TimeRangeText>(initial.range ?? view.time);
  const [refresh, setRefresh] = useState(initial.refresh ?? view.refresh);
  const [tick, setTick] = useState(0);
  const [collapsed, setCollapsed] = useState<Map<number, boolean>>(new Map());
  const [problem, setProblem] = useState<string | null>(null);

  // Relative ranges move on with every refresh tick.
  const { resolved, rangeError } = useMemo(() => {
    try {
      return { resolved: resolveRange(range), rangeError: null };
    } catch (error) {
      return { resolved: resolveRange({ from: 'now-1h', to: 'now' }), rangeError: (error as Error).message };
    }
  }, [range, tick]);
  const rangeS = (resolved.toMs - resolved.fromMs) / 1000;
  const macros = { intervalS: Math.max(1, rangeS / 300), rangeS, fromMs: resolved.fromMs, toMs: resolved.toMs };
  const window = { startS: Math.floor(resolved.fromMs / 1000), endS: Math.ceil(resolved.toMs / 1000), stepS: macros.intervalS };
  const { states, errors, select } = useVariables(view, macros, window);

  useEffect(() => {
    const seconds = parseIntervalS(refresh);
    if (seconds === undefined || seconds <= 0) return;
    const timer = setInterval(() => setTick((value) => value + 1), Math.max(1, seconds) * 1000);
    return () => clearInterval(timer);
  }, [refresh]);

  const placed = useMemo(() => layoutPanels(view.panels, collapsed), [view, collapsed]);
  const context = states === undefined ? undefined : { fromMs: resolved.fromMs, toMs: resolved.toMs, variables: states, tick };

  const exportJson = async () => {
    try {
      const { url, fileName } = await exportDashboardBlob(view.uid);
      const link = document.createElement('a');
      link.href = url;
      link.download = fileName;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      setProblem((error as Error).message);
    }
  };
  const remove = async () => {
    if (!globalThis.confirm(`Delete dashboard "${view.title}"?`)) return;
    try {
      await deleteDashboard(view.uid);
      onDeleted();
    } catch (error) {
      setProblem((error as Error).message);
    }
  };

  return (
    <div className="dashboard-page" data-testid="dashboard-page">
      <div className="dashboard-toolbar">
        <h1 className="dashboard-title" data-testid="dashboard-title" title={view.description}>
          {view.title}
        </h1>
        {meta.builtIn && <span className="dash-tag">built-in</span>}
        {view.tags
          .filter((tag) => tag !== 'rankscope')
          .map((tag) => (
            <span className="dash-tag" key={tag}>
              {tag}
            </span>
          ))}
        <span className="spacer" />
        <TimeRangePicker
          range={range}
          onChange={(next) => {
            setProblem(null);
            setRange(next);
            writeUrl({ from: next.from, to: next.to });
          }}
        />
        <button onClick={() => setTick((value) => value + 1)} data-testid="dashboard-refresh" title="Run every query again">
          ⟳ Refresh
        </button>
        <select
          value={refresh}
          onChange={(event) => {
            setRefresh(event.target.value);
            writeUrl({ refresh: event.target.value === '' ? 'off' : event.target.value });
          }}
          aria-label="Auto refresh"
          data-testid="auto-refresh"
          title="Auto refresh"
        >
          {[...new Set([...REFRESH_CHOICES, refresh])].map((choice) => (
            <option key={choice} value={choice}>
              {choice === '' || choice === 'off' ? 'Auto refresh off' : `Every ${choice}`}
            </option>
          ))}
        </select>
        <button onClick={() => void exportJson()} data-testid="dashboard-export" title="Download as Grafana dashboard JSON">
          Export JSON
        </button>
        {meta.canDelete && (
          <button onClick={() => void remove()} data-testid="dashboard-delete">
            Delete
          </button>
        )}
      </div>
      {states !== undefined && <VariableBar states={states} errors={errors} onSelect={select} />}
      {(problem ?? rangeError) !== null && <div className="error-banner small">{problem ?? rangeError}</div>}
      {context === undefined ? (
        <div className="status">Loading variables…</div>
      ) : (
        <div className="dashboard-grid" style={{ gridAutoRows: `${ROW_HEIGHT_PX}px`, gap: `${GRID_GAP_PX}px` }}>
          {placed.map(({ panel, x, y, w, h }) => (
            <div key={`${panel.kind}-${panel.id}`} className="dashboard-cell" style={{ gridColumn: `${x + 1} / span ${w}`, gridRow: `${y + 1} / span ${h}` }}>
              {panel.kind === 'row' ? (
                <RowHeader
                  row={panel}
                  collapsed={collapsed.get(panel.id) ?? panel.collapsed}
                  hiddenCount={panelsOfRow(view.panels, panel.id).length}
                  onToggle={() => setCollapsed((previous) => new Map(previous).set(panel.id, !(previous.get(panel.id) ?? panel.collapsed)))}
                />
              ) : (
                <Panel panel={panel} context={context} />
              )}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export default function DashboardPage({ uid, onDeleted }: { uid: string; onDeleted(): void }) {
  const [loaded, setLoaded] = useState<{ view: DashboardView; meta: DashboardMeta } | { error: string } | undefined>(undefined);
  useEffect(() => {
    let cancelled = false;
    setLoaded(undefined);
    getDashboard(uid).then(
      ({ view, meta }) => !cancelled && setLoaded({ view, meta }),
      (error: Error) => !cancelled && setLoaded({ error: error.message }),
    );
    return () => {
      cancelled = true;
    };
  }, [uid]);
  if (loaded === undefined) return <div className="status">Loading dashboard…</div>;
  if ('error' in loaded) return <div className="error-banner fatal">{loaded.error}</div>;
  return <Loaded key={uid} view={loaded.view} meta={loaded.meta} onDeleted={onDeleted} />;
}
