// The GPU verdict of a run (GET /api/v1/runs/{id}/gpu): what the GPUs say that the logs alone don't,
// with the evidence per rank (since when it is silent, its last line, which GPU and what it read).
import type { GpuVerdict } from '../api/training-client.ts';

const TITLES: Record<GpuVerdict['kind'], string> = {
  nccl_deadlock: 'NCCL deadlock signature',
  busy_silent_rank: 'silent rank on a busy GPU',
  idle_gpu: 'idle GPU under a running rank',
};

export default function GpuVerdictPanel({ verdict }: { verdict: GpuVerdict }) {
  const idle = verdict.kind === 'idle_gpu';
  return (
    <section className={`panel gpu-verdict gpu-verdict-${idle ? 'idle' : 'busy'}`} data-testid="gpu-verdict" data-kind={verdict.kind}>
      <header className="panel-header">
        <span>
          GPUs: <strong>{TITLES[verdict.kind]}</strong>
        </span>
      </header>
      <div className="failure-summary">{verdict.summary}</div>
      <table className="run-table" data-testid="gpu-evidence">
        <thead>
          <tr>
            <th>rank</th>
            <th>GPU</th>
            <th>{idle ? 'logs' : 'silent since'}</th>
            <th>GPU utilization {idle ? '(last minutes)' : 'since'}</th>
            <th>last line</th>
          </tr>
        </thead>
        <tbody>
          {verdict.findings.map((finding) => (
            <tr key={`${finding.rank}/${finding.uuid}`} data-testid="gpu-finding" data-rank={finding.rank}>
              <td>rank {finding.rank}</td>
              <td title={finding.uuid}>
                gpu {finding.gpu}
                {finding.host && <span className="muted"> · {finding.host}</span>}
              </td>
              <td>{idle ? 'logging' : finding.silent_since}</td>
              <td>
                mean {finding.mean_percent}% · min {finding.min_percent}% <span className="muted">({finding.samples} samples)</span>
              </td>
              <td className="failure-cell" title={finding.last_line}>
                {finding.last_line}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
