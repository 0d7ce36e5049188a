// Import a Grafana dashboard: paste its JSON or pick the file Grafana exported. The server checks
// it and answers what is wrong and where; panel types we do not draw are kept and shown as such.
import { useState } from 'react';
import { saveDashboard } from './dashboard-client.ts';

export default function ImportPage({ onImported, onCancel }: { onImported(uid: string): void; onCancel(): void }) {
  const [text, setText] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    setError(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (problem) {
      setError(`not JSON: ${(problem as Error).message}`);
      return;
    }
    // Grafana's "Export" (and its API) may wrap the dashboard as {dashboard, meta}.
    const dashboard = typeof parsed === 'object' && parsed !== null && 'dashboard' in parsed ? (parsed as { dashboard: unknown }).dashboard : parsed;
    setBusy(true);
    try {
      const saved = await saveDashboard(dashboard, overwrite);
      onImported(saved.uid);
    } catch (problem) {
      setError((problem as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="dashboard-import" data-testid="dashboard-import">
      <div className="dashboard-toolbar">
        <h1 className="dashboard-title">Import a Grafana dashboard</h1>
        <span className="spacer" />
        <button onClick={onCancel}>Cancel</button>
      </div>
      <p className="muted">
        Paste the dashboard JSON (Grafana: Dashboard settings → JSON model, or Export → Export as JSON), or load the file. Panels of type timeseries (and graph), stat, gauge, bar gauge,
        table, heatmap and logs are drawn with Prometheus and Loki queries; other panel types stay in the dashboard and show as unsupported.
      </p>
      <label className="import-file">
        JSON file{' '}
        <input
          type="file"
          accept=".json,application/json"
          data-testid="dashboard-import-file"
          onChange={(event) => {
            const file = event.target.files?.[0];
            if (file) void file.text().then(setText);
          }}
        />
      </label>
      <textarea className="import-text" value={text} onChange={(event) => {
          setText(event.target.value);
          setError(null);
        }} placeholder='{"title": "…", "panels": […]}' spellCheck={false} data-testid="dashboard-import-text" />
      <div className="import-actions">
        <label>
          <input type="checkbox" checked={overwrite} onChange={(event) => setOverwrite(event.target.checked)} /> Replace a dashboard with the same uid
        </label>
        <button className="primary" disabled={busy || text.trim() === ''} onClick={() => void submit()} data-testid="dashboard-import-submit">
          Import
        </button>
      </div>
      {error !== null && (
        <div className="error-banner" data-testid="dashboard-import-error">
          {error}
        </div>
      )}
    </div>
  );
}
