// Every run the server tracks, newest first: status, world size, nodes, duration and the first failure.
import { listRuns } from '../api/training-client.ts';
import { describeFailure, formatDuration, runDurationS } from './run-data.ts';
import { useLoad } from './use-load.ts';

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`status-badge status-${status}`} data-testid="run-status">
      {status}
    </span>
  );
}

export default function RunList({ onOpen }: { onOpen(id: string): void }) {
  const runs = useLoad((signal) => listRuns(signal), [], 10_000);
  if (runs.state === 'loading') return <div className="status">Loading runs…</div>;
  if (runs.state === 'error') return <div className="error-banner">Runs failed: {runs.message}</div>;
  if (runs.value.runs.length === 0) {
    return <div className="status">No training runs yet: streams with a run_id, torchelastic_run_id, slurm_job_id or job label become runs.</div>;
  }
  return (
    <section className="panel">
      <header className="panel-header">
        <span>Training runs ({runs.value.runs.length})</span>
      </header>
      <table className="run-table" data-testid="run-list">
        <thead>
          <tr>
            <th>run</th>
            <th>status</th>
            <th>world size</th>
            <th>nodes</th>
            <th>started</th>
            <th>duration</th>
            <th>first failure</th>
          </tr>
        </thead>
        <tbody>
          {runs.value.runs.map((run) => (
            <tr key={run.id} onClick={() => onOpen(run.id)} data-testid="run-row" data-run={run.id}>
              <td>
                <a
                  href={`/?view=runs&run=${encodeURIComponent(run.id)}`}
                  onClick={(event) => {
                    event.preventDefault();
                    onOpen(run.id);
                  }}
                >
                  {run.id}
                </a>
                {run.attempt > 1 && <span className="muted"> · attempt {run.attempt}</span>}
              </td>
              <td>
                <StatusBadge status={run.status} />
              </td>
              <td>{run.world_size ?? run.ranks_seen.length}</td>
              <td>{run.nodes}</td>
              <td className="muted">{new Date(run.started_at).toLocaleString()}</td>
              <td>{formatDuration(runDurationS(run))}</td>
              <td className="failure-cell" title={run.first_failure?.summary ?? ''}>
                {describeFailure(run.first_failure)}
                {run.hung_ranks.length > 0 && run.first_failure?.class !== 'hang' && ` · hung: ${run.hung_ranks.join(', ')}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
