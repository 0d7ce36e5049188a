// The dashboards of the tenant: the built-ins first, then imported ones, each opening its page.
import { useEffect, useState } from 'react';
import type { DashboardSummary } from './dashboard-types.ts';
import { listDashboards } from './dashboard-client.ts';

export default function DashboardList({ onOpen, onImport }: { onOpen(uid: string): void; onImport(): void }) {
  const [dashboards, setDashboards] = useState<DashboardSummary[] | { error: string } | undefined>(undefined);
  useEffect(() => {
    listDashboards().then(setDashboards, (error: Error) => setDashboards({ error: error.message }));
  }, []);
  return (
    <div className="dashboard-list" data-testid="dashboard-list">
      <div className="dashboard-toolbar">
        <h1 className="dashboard-title">Dashboards</h1>
        <span className="spacer" />
        <button className="primary" onClick={onImport} data-testid="dashboard-import-button">
          Import Grafana JSON
        </button>
      </div>
      {dashboards === undefined && <div className="status">Loading…</div>}
      {dashboards !== undefined && 'error' in dashboards && <div className="error-banner">{dashboards.error}</div>}
      {Array.isArray(dashboards) && (
        <table className="dashboard-table">
          <thead>
            <tr>
              <th>Title</th>
              <th>Tags</th>
              <th className="dash-numeric">Panels</th>
              <th>Saved</th>
            </tr>
          </thead>
          <tbody>
            {dashboards.map((entry) => (
              <tr key={entry.uid} data-testid="dashboard-entry">
                <td>
                  <a
                    href={`/?view=dashboards&uid=${encodeURIComponent(entry.uid)}`}
                    onClick={(event) => {
                      event.preventDefault();
                      onOpen(entry.uid);
                    }}
                  >
                    {entry.title}
                  </a>
                  {entry.builtIn && <span className="dash-tag">built-in</span>}
                </td>
                <td>
                  {entry.tags
                    .filter((tag) => tag !== 'rankscope')
                    .map((tag) => (
                      <span className="dash-tag" key={tag}>
                        {tag}
                      </span>
                    ))}
                </td>
                <td className="dash-numeric">{entry.panels}</td>
                <td className="muted">{entry.builtIn ? 'built in' : entry.updatedMs !== undefined ? `v${entry.version}, ${new Date(entry.updatedMs).toLocaleString()}` : `v${entry.version}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
