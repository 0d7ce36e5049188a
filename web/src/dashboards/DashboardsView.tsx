// The Dashboards view: the list, one dashboard, or the import page, chosen by the URL
// (?view=dashboards[&uid=…|&import=1]) so each is a link that survives a reload.
import { useEffect, useState } from 'react';
import DashboardList from './DashboardList.tsx';
import DashboardPage from './DashboardPage.tsx';
import ImportPage from './ImportPage.tsx';
import './dashboards.css';

type Route = { page: 'list' } | { page: 'view'; uid: string } | { page: 'import' };

function routeFromUrl(): Route {
  const params = new URLSearchParams(window.location.search);
  const uid = params.get('uid');
  if (uid !== null && uid !== '') return { page: 'view', uid };
  if (params.get('import') !== null) return { page: 'import' };
  return { page: 'list' };
}

export default function DashboardsView() {
  const [route, setRoute] = useState<Route>(routeFromUrl);
  useEffect(() => {
    const onPop = () => setRoute(routeFromUrl());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const go = (next: Route) => {
    const url = next.page === 'view' ? `/?view=dashboards&uid=${encodeURIComponent(next.uid)}` : next.page === 'import' ? '/?view=dashboards&import=1' : '/?view=dashboards';
    window.history.pushState(null, '', url);
    setRoute(next);
  };
  if (route.page === 'view') return <DashboardPage uid={route.uid} onDeleted={() => go({ page: 'list' })} />;
  if (route.page === 'import') return <ImportPage onImported={(uid) => go({ page: 'view', uid })} onCancel={() => go({ page: 'list' })} />;
  return <DashboardList onOpen={(uid) => go({ page: 'view', uid })} onImport={() => go({ page: 'import' })} />;
}
