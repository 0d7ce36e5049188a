// Training runs: the list of runs the server tracks (status, size, duration, first failure), and one
// run's page. Which run is open is part of the URL (?view=runs&run=<id>), so a run page can be shared.
import { lazy, Suspense, useEffect, useState } from 'react';
import RunList from './RunList.tsx';

const RunPage = lazy(() => import('./RunPage.tsx'));

function runFromUrl(): string | null {
  return new URLSearchParams(window.location.search).get('run');
}

export function openRun(id: string | null): void {
  const params = new URLSearchParams({ view: 'runs' });
  if (id !== null) params.set('run', id);
  window.history.pushState(null, '', `/?${params.toString()}`);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export default function RunsView() {
  const [run, setRun] = useState<string | null>(runFromUrl);
  useEffect(() => {
    const onPop = () => setRun(runFromUrl());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  return (
    <div className="runs" data-testid="runs-view">
      {run === null ? (
        <RunList onOpen={openRun} />
      ) : (
        <Suspense fallback={<div className="status">Loading run…</div>}>
          <RunPage id={run} onBack={() => openRun(null)} />
        </Suspense>
      )}
    </div>
  );
}
