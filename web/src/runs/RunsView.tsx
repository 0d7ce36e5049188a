// Training runs: pick a run (from label values), see its ranks, a loss curve per rank read from the raw
// stdout, and which ranks logged failures. Every panel has its own loading and error state.
import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { labelNames, labelValues, queryRange, type TimeWindow } from '../api/loki-client.ts';
import { seriesFromMatrix, type Series } from '../metrics/metric-data.ts';
import MetricTable from '../metrics/MetricTable.tsx';
import { msToNs, resolveRange, stepForRange, type TimeRangeText } from '../explore/time-range.ts';
import TimeRangePicker from '../explore/TimeRangePicker.tsx';
import { failuresByRankQuery, linesByRankQuery, lossByRankQuery, pickRunLabel, runSelector } from './run-queries.ts';

const TimeSeriesChart = lazy(() => import('../metrics/TimeSeriesChart.tsx'));

type Loadable<T> = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; value: T };

function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loadable<T> {
  const [value, setValue] = useState<Loadable<T>>({ state: 'loading' });
  useEffect(() => {
    const controller = new AbortController();
    setValue({ state: 'loading' });
    load(controller.signal).then(
      (result) => setValue({ state: 'ready', value: result }),
      (error: Error) => !controller.signal.aborted && setValue({ state: 'error', message: error.message }),
    );
    return () => controller.abort();
    // The caller lists what the load depends on, like useEffect itself.
  }, deps);
  return value;
}

/** The run's own time span (a fresh run fills the chart, not a corner of the picked range), one step
 * of margin either side. */
function dataExtentS(series: Series[], stepS: number): [number, number] {
  let minS = Infinity;
  let maxS = -Infinity;
  for (const one of series) {
    minS = Math.min(minS, one.timesS[0] ?? Infinity);
    maxS = Math.max(maxS, one.timesS[one.timesS.length - 1] ?? -Infinity);
  }
  return [minS - stepS, maxS + stepS];
}

function MetricPanel({ title, query, window, stepMs, testId }: { title: string; query: string; window: TimeWindow; stepMs: number; testId: string }) {
  const result = useLoad<Series[]>(
    async (signal) => {
      const data = await queryRange({ query, startNs: window.startNs, endNs: window.endNs, limit: 1000, direction: 'backward', stepMs }, signal);
      if (data.resultType !== 'matrix') throw new Error(`expected a matrix, got ${data.resultType}`);
      return seriesFromMatrix(data.result).sort((a, b) => Number(a.labels.rank ?? 0) - Number(b.labels.rank ?? 0));
    },
    [query, window.startNs, window.endNs, stepMs],
  );
  return (
    <section className="panel" data-testid={testId}>
      <header className="panel-header">
        <span>{title}</span>
        <a className="muted" href={`/?${new URLSearchParams({ query }).toString()}`}>
          open in Explore
        </a>
      </header>
      {result.state === 'loading' && <div className="status small">Loading…</div>}
      {result.state === 'error' && <div className="error-banner small">{result.message}</div>}
      {result.state === 'ready' && result.value.length === 0 && <div className="status small">Nothing in this range.</div>}
      {result.state === 'ready' && result.value.length > 0 && (
        <>
          <Suspense fallback={<div className="status small">Loading chart…</div>}>
            <TimeSeriesChart series={result.value} rangeS={dataExtentS(result.value, stepMs / 1000)} />
          </Suspense>
          <MetricTable series={result.value} />
        </>
      )}
    </section>
  );
}

export default function RunsView() {
  const [range, setRange] = useState<TimeRangeText>({ from: 'now-3h', to: 'now' });
  const [run, setRun] = useState<string | null>(null);
  const window = useMemo<TimeWindow | Error>(() => {
    try {
      const resolved = resolveRange(range);
      return { startNs: msToNs(resolved.fromMs), endNs: msToNs(resolved.toMs) };
    } catch (error) {
      return error as Error;
    }
  }, [range.from, range.to]);

  const runs = useLoad<{ label: string; values: string[] } | null>(
    async (signal) => {
      if (window instanceof Error) throw window;
      const label = pickRunLabel(await labelNames(window, signal));
      if (label === undefined) return null;
      return { label, values: await labelValues(label, window, signal) };
    },
    [window instanceof Error ? window.message : `${window.startNs}-${window.endNs}`],
  );
  const selected = runs.state === 'ready' && runs.value ? (run !== null && runs.value.values.includes(run) ? run : runs.value.values[runs.value.values.length - 1]) : undefined;

  let body;
  if (window instanceof Error) body = <div className="error-banner">{window.message}</div>;
  else if (runs.state === 'loading') body = <div className="status">Loading runs…</div>;
  else if (runs.state === 'error') body = <div className="error-banner">Runs failed: {runs.message}</div>;
  else if (runs.value === null || selected === undefined) body = <div className="status">No runs in this range: no stream carries a run_id, run or job label.</div>;
  else {
    const selector = runSelector(runs.value.label, selected);
    const rangeMs = Number((window.endNs - window.startNs) / 1_000_000n);
    const stepMs = stepForRange({ fromMs: 0, toMs: rangeMs }, 1000);
    const windowS = Math.max(stepMs / 1000, 10);
    body = (
      <>
        <MetricPanel title={`Loss per rank (${selector})`} query={lossByRankQuery(selector, windowS)} window={window} stepMs={stepMs} testId="run-loss" />
        <MetricPanel title="Errors, tracebacks, OOM and NCCL warnings per rank" query={failuresByRankQuery(selector, windowS)} window={window} stepMs={stepMs} testId="run-failures" />
        <MetricPanel title="Lines per rank (a rank that goes quiet has hung or died)" query={linesByRankQuery(selector, windowS)} window={window} stepMs={stepMs} testId="run-lines" />
      </>
    );
  }

  return (
    <div className="runs" data-testid="runs-view">
      <div className="query-bar">
        <label>
          Run{' '}
          <select value={selected ?? ''} onChange={(event) => setRun(event.target.value)} disabled={runs.state !== 'ready' || !runs.value} aria-label="Run">
            {runs.state === 'ready' && runs.value?.values.map((value) => <option key={value}>{value}</option>)}
          </select>
        </label>
        <span className="spacer" />
        <TimeRangePicker range={range} onChange={setRange} />
      </div>
      {body}
    </div>
  );
}
