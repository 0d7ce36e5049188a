// One training run: status and size, a rank × time activity strip with each rank's GPU utilization
// under it on the same time columns, the first failure with its evidence (each line opens the
// cross-rank context at that moment), hung ranks and what their GPUs read (a silent rank on a busy
// GPU is the NCCL-deadlock signature), and the curves read from the raw stdout (loss, eval loss, lr,
// grad norm, throughput) on one shared x axis, with another run's loss overlaid for comparison.
import { lazy, Suspense, useMemo, useState } from 'react';
import { queryRange, series as listSeries, type TimeWindow } from '../api/loki-client.ts';
import { getFailures, getRun, getRunGpu, getSeries, listRuns, type EvidenceLine, type RunDetail, type RunGpu } from '../api/training-client.ts';
import { quoteValue, RUN_LABELS } from '../explore/query-text.ts';
import { detectLevel, laneOf, streamKeyOf, type LogRow } from '../logs/log-rows.ts';
import ActivityStrip from './ActivityStrip.tsx';
import GpuStrip, { UtilizationLegend } from './GpuStrip.tsx';
import GpuVerdictPanel from './GpuVerdict.tsx';
import { activityGrid, curvesOf, describeFailure, formatDuration, gpuGrid, meanBand, runDurationS, sharedXRange, type CurveSet } from './run-data.ts';
import type { Loadable } from './use-load.ts';
import { StatusBadge } from './RunList.tsx';
import RunChart from './RunChart.tsx';
import { useLoad } from './use-load.ts';

const ContextView = lazy(() => import('../logs/ContextView.tsx'));

/** The curves a run page shows, in order, when the run has them. */
const PANEL_SERIES: Array<[name: string, title: string]> = [
  ['loss', 'Loss'],
  ['eval_loss', 'Eval loss'],
  ['lr', 'Learning rate'],
  ['grad_norm', 'Grad norm'],
  ['throughput', 'Throughput'],
];
const ACTIVITY_BUCKETS = 240;
/** Lines that read as errors in training output, whatever level label they were shipped with. */
const ERROR_LINE_PATTERN = 'Traceback|ERROR|Error:|Exception|FATAL|CRITICAL|OutOfMemory';
const REFRESH_MS = 10_000;
/** A hung or running run this recently active is live: its page runs up to now, so a hang's GPUs show. */
const LIVE_WITHIN_MS = 15 * 60_000;
const OVERLAY_COLOUR = '#f2cc0c';

function toNs(text: string): bigint {
  const match = /^(.*?)(?:\.(\d+))?Z$/.exec(text);
  const wholeMs = Date.parse(`${match?.[1] ?? text}Z`);
  const fraction = (match?.[2] ?? '').padEnd(9, '0').slice(0, 9);
  return BigInt(Math.floor(wholeMs / 1000)) * 1_000_000_000n + BigInt(fraction);
}

/** Selectors found per run id: a running run's page reloads every 10 s and its run label never changes. */
const selectorByRun = new Map<string, string>();

/** The stream selector of a run: the first run label whose value is the run's id has streams. */
async function runSelector(id: string, window: TimeWindow, signal: AbortSignal): Promise<string | null> {
  const known = selectorByRun.get(id);
  if (known !== undefined) return known;
  for (const label of RUN_LABELS) {
    const selector = `{${label}=${quoteValue(id)}}`;
    if ((await listSeries(selector, window, signal)).length > 0) {
      selectorByRun.set(id, selector);
      return selector;
    }
  }
  return null;
}

function evidenceRow(evidence: EvidenceLine, index: number): LogRow {
  return {
    id: `evidence-${index}`,
    timestampNs: toNs(evidence.time),
    line: evidence.line,
    stream: evidence.labels,
    streamKey: streamKeyOf(evidence.labels),
    structuredMetadata: {},
    parsed: {},
    level: detectLevel(evidence.line, evidence.labels),
    lane: laneOf(evidence.labels),
  };
}

/** The activity and GPU strips' shared columns: an aligned start, a step, the end. */
function stripColumns(window: TimeWindow): { startS: number; endS: number; stepS: number } {
  const spanS = Number(window.endNs - window.startNs) / 1e9;
  const stepS = Math.max(1, Math.ceil(spanS / ACTIVITY_BUCKETS));
  return { startS: Math.floor(Number(window.startNs / 1_000_000n) / 1000 / stepS) * stepS, endS: Number(window.endNs / 1_000_000_000n), stepS };
}

function Activity({ run, window }: { run: RunDetail; window: TimeWindow }) {
  const activity = useLoad(
    async (signal) => {
      const selector = await runSelector(run.id, window, signal);
      if (selector === null) return null;
      const { startS, endS, stepS } = stripColumns(window);
      const range = { startNs: window.startNs, endNs: window.endNs, limit: 1000, direction: 'forward' as const, stepMs: stepS * 1000 };
      // Lines by level label where the shipper set one, plus lines that read as errors whatever their
      // labels (a traceback pushed without a level is still red).
      const [byLevel, errors] = await Promise.all([
        queryRange({ ...range, query: `sum by (rank, level) (count_over_time(${selector} [${stepS}s]))` }, signal),
        queryRange({ ...range, query: `sum by (rank) (count_over_time(${selector} |~ ${JSON.stringify(ERROR_LINE_PATTERN)} [${stepS}s]))` }, signal),
      ]);
      if (byLevel.resultType !== 'matrix' || errors.resultType !== 'matrix') return null;
      const errorSeries = errors.result.map((series) => ({ ...series, metric: { ...series.metric, level: 'error' } }));
      return activityGrid([...byLevel.result, ...errorSeries] as never, startS, endS, stepS);
    },
    [run.id, window.startNs, window.endNs],
  );
  return (
    <section className="panel" data-testid="run-activity">
      <header className="panel-header">
        <span>Activity per rank <span className="muted">· worst level logged in each interval; dark = silent</span></span>
      </header>
      {activity.state === 'loading' && <div className="status small">Loading…</div>}
      {activity.state === 'error' && <div className="error-banner small">{activity.message}</div>}
      {activity.state === 'ready' && (activity.value === null || activity.value.ranks.length === 0 ? <div className="status small">No per-rank lines.</div> : <ActivityStrip grid={activity.value} hungRanks={run.hung_ranks} />)}
    </section>
  );
}

function GpuSection({ run, window, gpu }: { run: RunDetail; window: TimeWindow; gpu: Loadable<RunGpu> }) {
  const grid = useMemo(() => {
    if (gpu.state !== 'ready' || gpu.value.ranks.length === 0) return null;
    const { startS, endS, stepS } = stripColumns(window);
    return gpuGrid(gpu.value.ranks, startS, endS, stepS);
  }, [gpu, window.startNs, window.endNs]);
  // Red ticks where ranks went silent: the verdict's ranks, else the hung ranks' last lines.
  const silentSinceS = useMemo(() => {
    const since = new Map<number, number>();
    for (const rank of run.ranks ?? []) if (run.hung_ranks.includes(rank.rank) && rank.last_activity_at) since.set(rank.rank, Date.parse(rank.last_activity_at) / 1000);
    if (gpu.state === 'ready' && gpu.value.verdict && gpu.value.verdict.kind !== 'idle_gpu') {
      for (const finding of gpu.value.verdict.findings) since.set(finding.rank, Date.parse(finding.silent_since) / 1000);
    }
    return since;
  }, [run, gpu]);
  if (gpu.state === 'ready' && gpu.value.ranks.length === 0) return null;
  return (
    <section className="panel" data-testid="run-gpu">
      <header className="panel-header">
        <span>
          GPU utilization per rank <span className="muted">· {gpu.state === 'ready' ? gpu.value.metric : 'DCGM_FI_DEV_GPU_UTIL'} by run_id and rank; red tick = rank went silent</span>
        </span>
        <UtilizationLegend />
      </header>
      {gpu.state === 'loading' && <div className="status small">Loading…</div>}
      {gpu.state === 'error' && <div className="error-banner small">{gpu.message}</div>}
      {grid !== null && <GpuStrip grid={grid} silentSinceS={silentSinceS} />}
    </section>
  );
}

function FailurePanel({ run, onContext }: { run: RunDetail; onContext(row: LogRow): void }) {
  const failures = useLoad((signal) => getFailures(run.id, signal), [run.id, run.status, run.last_activity_at]);
  if (run.first_failure === null) return null;
  return (
    <section className="panel failure-panel" data-testid="first-failure">
      <header className="panel-header">
        <span>
          First failure: <strong>{describeFailure(run.first_failure)}</strong>
          {run.first_failure.time && <span className="muted"> · {run.first_failure.time}</span>}
        </span>
      </header>
      {run.first_failure.summary && <div className="failure-summary">{run.first_failure.summary}</div>}
      {failures.state === 'error' && <div className="error-banner small">{failures.message}</div>}
      {failures.state === 'ready' && failures.value.first && (
        <ol className="evidence" data-testid="failure-evidence">
          {failures.value.first.evidence.map((evidence, index) => (
            <li key={index}>
              <button className="link" title="Open every rank's lines around this moment" onClick={() => onContext(evidenceRow(evidence, index))} data-testid="evidence-line">
                <span className="muted">
                  {evidence.time} · {evidence.rank === null ? 'launcher/node' : `rank ${evidence.rank}`}
                </span>
                <pre>{evidence.line}</pre>
              </button>
            </li>
          ))}
        </ol>
      )}
      {failures.state === 'ready' && failures.value.failures.length > 1 && (
        <details>
          <summary>
            All {failures.value.failures.length} failures in causal order ({failures.value.failures.filter((failure) => failure.consequence).length} consequences)
          </summary>
          <table className="run-table">
            <tbody>
              {failures.value.failures.map((failure, index) => (
                <tr key={index} className={failure.consequence || failure.harmless ? 'muted' : ''}>
                  <td>{failure.time}</td>
                  <td>{failure.rank === null ? '–' : `rank ${failure.rank}`}</td>
                  <td>{failure.class}</td>
                  <td>{failure.consequence ? 'consequence' : failure.harmless ? 'harmless (caught)' : 'cause'}</td>
                  <td className="failure-cell">{failure.line?.split('\n')[0]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </section>
  );
}

function Curves({ run }: { run: RunDetail }) {
  const [compareWith, setCompareWith] = useState('');
  const names = PANEL_SERIES.filter(([name]) => run.series?.includes(name));
  const sets = useLoad(
    async (signal) => {
      const loaded: Array<[string, string, CurveSet]> = [];
      for (const [name, title] of names) loaded.push([name, title, curvesOf(await getSeries(run.id, name, signal))]);
      return loaded;
    },
    [run.id, names.map(([name]) => name).join(), run.last_activity_at],
  );
  const otherRuns = useLoad(async (signal) => (await listRuns(signal, 200)).runs.filter((other) => other.id !== run.id).map((other) => other.id), [run.id]);
  const overlay = useLoad(
    async (signal) => {
      if (compareWith === '') return [];
      const other = curvesOf(await getSeries(compareWith, 'loss', signal));
      const mean = other.band ?? meanBand(other.curves);
      return [{ label: `${compareWith} (mean loss)`, colour: OVERLAY_COLOUR, xs: mean.xs, ys: mean.mean }];
    },
    [compareWith],
  );
  const xRanges = useMemo(() => {
    if (sets.state !== 'ready') return undefined;
    const all = sets.value.map(([, , set]) => set);
    return { step: sharedXRange(all, 'step'), time: sharedXRange(all, 'time') };
  }, [sets]);
  if (names.length === 0) return <div className="status">No curves read from this run's output yet.</div>;
  if (sets.state === 'loading') return <div className="status">Loading curves…</div>;
  if (sets.state === 'error') return <div className="error-banner">{sets.message}</div>;
  return (
    <>
      <div className="query-bar">
        <label>
          Compare loss with{' '}
          <select value={compareWith} onChange={(event) => setCompareWith(event.target.value)} aria-label="Compare with run" data-testid="compare-run">
            <option value="">(no other run)</option>
            {otherRuns.state === 'ready' && otherRuns.value.map((id) => <option key={id}>{id}</option>)}
          </select>
        </label>
      </div>
      {sets.value.map(([name, title, set]) => (
        <RunChart key={name} title={title} set={set} xRange={xRanges?.[set.x]} overlays={name === 'loss' && overlay.state === 'ready' ? overlay.value : []} testId={`run-series-${name}`} />
      ))}
    </>
  );
}

export default function RunPage({ id, onBack }: { id: string; onBack(): void }) {
  // The load time comes with the run, so the window of a live run (up to now) moves once per refresh, not per render.
  const run = useLoad(async (signal) => ({ detail: await getRun(id, signal), loadedAtMs: Date.now() }), [id], REFRESH_MS);
  if (run.state === 'loading') return <div className="status">Loading run {id}…</div>;
  if (run.state === 'error') {
    return (
      <div className="error-banner">
        Run {id}: {run.message} <button onClick={onBack}>All runs</button>
      </div>
    );
  }
  return <RunBody detail={run.value.detail} loadedAtMs={run.value.loadedAtMs} onBack={onBack} />;
}

function RunBody({ detail, loadedAtMs, onBack }: { detail: RunDetail; loadedAtMs: number; onBack(): void }) {
  const [contextRow, setContextRow] = useState<LogRow | null>(null);
  const lastNs = toNs(detail.last_activity_at);
  const live = (detail.status === 'running' || detail.status === 'hung') && loadedAtMs - Number(lastNs / 1_000_000n) < LIVE_WITHIN_MS;
  const startNs = toNs(detail.started_at) - 30_000_000_000n;
  const endNs = live ? BigInt(loadedAtMs) * 1_000_000n : lastNs + 30_000_000_000n;
  const window: TimeWindow = useMemo(() => ({ startNs, endNs }), [startNs, endNs]);
  const gpu = useLoad((signal) => getRunGpu(detail.id, stripColumns(window), signal), [detail.id, window.startNs, window.endNs, detail.status]);
  const silent = new Map((detail.ranks ?? []).map((rank) => [rank.rank, rank]));
  return (
    <div className="run-page" data-testid="run-page">
      <div className="query-bar run-header">
        <button onClick={onBack} data-testid="runs-back">
          ← All runs
        </button>
        <strong className="run-id">{detail.id}</strong>
        <StatusBadge status={detail.status} />
        <span className="muted">
          world size {detail.world_size ?? detail.ranks_seen.length} · {detail.nodes} node{detail.nodes === 1 ? '' : 's'}
          {detail.hosts && detail.hosts.length > 0 && ` (${detail.hosts.join(', ')})`} · attempt {detail.attempt} · started {new Date(detail.started_at).toLocaleString()} · {formatDuration(runDurationS(detail))}
        </span>
      </div>
      {detail.hung_ranks.length > 0 && (
        <div className="error-banner" data-testid="hung-ranks">
          Hung: {detail.hung_ranks.map((rank) => `rank ${rank}${silent.get(rank)?.last_activity_at ? ` (silent since ${silent.get(rank)!.last_activity_at})` : ''}`).join(', ')}
          {detail.hung_ranks.map((rank) => silent.get(rank)?.last_line && <pre key={rank}>{`rank ${rank} last line: ${silent.get(rank)!.last_line}`}</pre>)}
        </div>
      )}
      {gpu.state === 'ready' && gpu.value.verdict && <GpuVerdictPanel verdict={gpu.value.verdict} />}
      <FailurePanel run={detail} onContext={setContextRow} />
      <Activity run={detail} window={window} />
      <GpuSection run={detail} window={window} gpu={gpu} />
      <Curves run={detail} />
      {contextRow && (
        <Suspense fallback={null}>
          <ContextView row={contextRow} initialMode="ranks" onClose={() => setContextRow(null)} />
        </Suspense>
      )}
    </div>
  );
}
