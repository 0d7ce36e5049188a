// The page frame: brand, the views (Explore, Runs, Dashboards), and the tenant the UI queries as.
// The view is part of the URL (?view=runs), so it survives a reload and can be shared.
import { lazy, Suspense, useEffect, useState } from 'react';
import Explore from '../explore/Explore.tsx';
import { getTenant, setTenant } from '../api/loki-client.ts';

const RunsView = lazy(() => import('../runs/RunsView.tsx'));
const MetricsExplore = lazy(() => import('../explore/MetricsExplore.tsx'));
const DashboardsView = lazy(() => import('../dashboards/DashboardsView.tsx'));

type View = 'explore' | 'runs' | 'dashboards';
type DataSource = 'logs' | 'metrics';

function viewFromUrl(): View {
  const view = new URLSearchParams(window.location.search).get('view');
  return view === 'runs' || view === 'dashboards' ? view : 'explore';
}

function dataSourceFromUrl(): DataSource {
  return new URLSearchParams(window.location.search).get('ds') === 'metrics' ? 'metrics' : 'logs';
}

/** Explore's data source: logs (LogQL over the log store) or metrics (PromQL over the TSDB). */
function DataSourceSwitch({ value, onChange }: { value: DataSource; onChange(next: DataSource): void }) {
  return (
    <select value={value} onChange={(event) => onChange(event.target.value as DataSource)} aria-label="Data source" data-testid="datasource" title="Query logs with LogQL or metrics with PromQL">
      <option value="logs">Logs (LogQL)</option>
      <option value="metrics">Metrics (PromQL)</option>
    </select>
  );
}

export default function App() {
  const [tenant, setTenantText] = useState(getTenant());
  const [view, setView] = useState<View>(viewFromUrl);
  const [dataSource, setDataSource] = useState<DataSource>(dataSourceFromUrl);

  useEffect(() => {
    const onPop = () => {
      setView(viewFromUrl());
      setDataSource(dataSourceFromUrl());
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const go = (next: View) => {
    if (next === view) return;
    window.history.pushState(null, '', next !== 'explore' ? `/?view=${next}` : dataSource === 'metrics' ? '/?ds=metrics' : '/');
    setView(next);
  };
  const switchSource = (next: DataSource) => {
    if (next === dataSource) return;
    window.history.pushState(null, '', next === 'metrics' ? '/?ds=metrics' : '/');
    setDataSource(next);
  };
  const sourceSwitch = <DataSourceSwitch value={dataSource} onChange={switchSource} />;

  return (
    <div className="app">
      <header className="top-bar">
        <a className="brand" href="/">
          rankscope
        </a>
        <nav className="nav">
          <button className={view === 'explore' ? 'tab active' : 'tab'} onClick={() => go('explore')}>
            Explore
          </button>
          <button className={view === 'runs' ? 'tab active' : 'tab'} onClick={() => go('runs')} data-testid="nav-runs">
            Training runs
          </button>
          <button className={view === 'dashboards' ? 'tab active' : 'tab'} onClick={() => go('dashboards')} data-testid="nav-dashboards">
            Dashboards
          </button>
        </nav>
        <span className="spacer" />
        <label className="tenant" title="Sent as X-Scope-OrgID; empty uses the server's default tenant">
          Tenant
          <input
            value={tenant}
            placeholder="default"
            onChange={(event) => setTenantText(event.target.value)}
            onBlur={() => setTenant(tenant)}
            onKeyDown={(event) => event.key === 'Enter' && setTenant(tenant)}
          />
        </label>
      </header>
      {view === 'explore' && dataSource === 'logs' && <Explore sourceSwitch={sourceSwitch} />}
      {view === 'explore' && dataSource === 'metrics' && (
        <Suspense fallback={<div className="status">Loading metrics…</div>}>
          <MetricsExplore sourceSwitch={sourceSwitch} />
        </Suspense>
      )}
      {view === 'runs' && (
        <Suspense fallback={<div className="status">Loading runs…</div>}>
          <RunsView />
        </Suspense>
      )}
      {view === 'dashboards' && (
        <Suspense fallback={<div className="status">Loading dashboards…</div>}>
          <DashboardsView />
        </Suspense>
      )}
    </div>
  );
}
