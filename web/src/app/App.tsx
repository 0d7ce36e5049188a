// The page frame: brand, the two views (Explore, Runs), and the tenant the UI queries as.
// The view is part of the URL (?view=runs), so it survives a reload and can be shared.
import { lazy, Suspense, useEffect, useState } from 'react';
import Explore from '../explore/Explore.tsx';
import { getTenant, setTenant } from '../api/loki-client.ts';

const RunsView = lazy(() => import('../runs/RunsView.tsx'));

type View = 'explore' | 'runs';

function viewFromUrl(): View {
  return new URLSearchParams(window.location.search).get('view') === 'runs' ? 'runs' : 'explore';
}

export default function App() {
  const [tenant, setTenantText] = useState(getTenant());
  const [view, setView] = useState<View>(viewFromUrl);

  useEffect(() => {
    const onPop = () => setView(viewFromUrl());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const go = (next: View) => {
    if (next === view) return;
    window.history.pushState(null, '', next === 'runs' ? '/?view=runs' : '/');
    setView(next);
  };

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
      {view === 'explore' ? (
        <Explore />
      ) : (
        <Suspense fallback={<div className="status">Loading runs…</div>}>
          <RunsView />
        </Suspense>
      )}
    </div>
  );
}
