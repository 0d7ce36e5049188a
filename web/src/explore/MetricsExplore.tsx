// Explore over metrics: a PromQL query against this server's Prometheus API, drawn as a chart and a
// table over the picked range. The state is in the URL (?ds=metrics&query=…&from=…&to=…) like logs.
import { lazy, Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/loki-client.ts';
import { promqlRange } from '../api/prometheus-client.ts';
import type { EditorError } from '../editor/LogqlEditor.tsx';
import MetricTable from '../metrics/MetricTable.tsx';
import { seriesFromMatrix, type Series } from '../metrics/metric-data.ts';
import TimeRangePicker from './TimeRangePicker.tsx';
import { resolveRange, stepForRange, type TimeRangeText } from './time-range.ts';

const PromqlEditor = lazy(() => import('../editor/PromqlEditor.tsx'));
const TimeSeriesChart = lazy(() => import('../metrics/TimeSeriesChart.tsx'));

interface MetricsUrlState {
  query: string;
  range: TimeRangeText;
}

export function readMetricsUrlState(search: string = window.location.search): MetricsUrlState {
  const params = new URLSearchParams(search);
  return { query: params.get('query') ?? '', range: { from: params.get('from') ?? 'now-1h', to: params.get('to') ?? 'now' } };
}

function pushMetricsUrl(state: MetricsUrlState): void {
  const url = `${window.location.pathname}?${new URLSearchParams({ ds: 'metrics', query: state.query, from: state.range.from, to: state.range.to }).toString()}`;
  if (url !== `${window.location.pathname}${window.location.search}`) window.history.pushState(null, '', url);
}

type RunState =
  | { state: 'idle' }
  | { state: 'loading' }
  | { state: 'error'; message: string }
  | { state: 'done'; series: Series[]; scalar?: string; stepS: number; rangeS: [number, number]; elapsedMs: number; warnings: string[] };

export default function MetricsExplore({ sourceSwitch }: { sourceSwitch: React.ReactNode }) {
  const [committed, setCommitted] = useState<MetricsUrlState>(() => readMetricsUrlState());
  const [draft, setDraft] = useState(committed.query);
  const [run, setRun] = useState<RunState>({ state: 'idle' });
  const [editorError, setEditorError] = useState<EditorError | null>(null);
  const controller = useRef<AbortController | null>(null);

  const execute = useCallback((state: MetricsUrlState, pushHistory = true) => {
    controller.current?.abort();
    setCommitted(state);
    setEditorError(null);
    if (pushHistory) pushMetricsUrl(state);
    if (state.query.trim() === '') {
      setRun({ state: 'idle' });
      return;
    }
    let range;
    try {
      range = resolveRange(state.range);
    } catch (error) {
      setRun({ state: 'error', message: (error as Error).message });
      return;
    }
    const stepS = stepForRange(range, 250) / 1000;
    const current = new AbortController();
    controller.current = current;
    setRun({ state: 'loading' });
    const started = performance.now();
    const startS = Math.floor(range.fromMs / 1000);
    const endS = Math.ceil(range.toMs / 1000);
    promqlRange(state.query, startS, endS, stepS, current.signal).then(
      ({ data, warnings }) => {
        if (current.signal.aborted) return;
        const elapsedMs = performance.now() - started;
        const rangeS: [number, number] = [startS, endS];
        if (data.resultType === 'matrix') setRun({ state: 'done', series: seriesFromMatrix(data.result), stepS, rangeS, elapsedMs, warnings });
        else if (data.resultType === 'scalar' || data.resultType === 'string') setRun({ state: 'done', series: [], scalar: data.result[1], stepS, rangeS, elapsedMs, warnings });
        else setRun({ state: 'error', message: `unexpected ${data.resultType} result for a range query` });
      },
      (error: Error) => {
        if (current.signal.aborted) return;
        if (error instanceof ApiError && error.line !== undefined && error.column !== undefined) setEditorError({ message: error.message, line: error.line, column: error.column });
        setRun({ state: 'error', message: error.message });
      },
    );
  }, []);

  useEffect(() => {
    if (committed.query !== '') execute(committed, false);
    const onPop = () => {
      const state = readMetricsUrlState();
      setDraft(state.query);
      execute(state, false);
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  return (
    <div className="explore">
      <div className="query-bar">
        {sourceSwitch}
        <div className="query-editor-slot">
          <Suspense fallback={<div className="editor-loading">Loading editor…</div>}>
            <PromqlEditor value={draft} onChange={setDraft} onRun={(text) => execute({ ...committed, query: text })} error={editorError} />
          </Suspense>
        </div>
        <TimeRangePicker range={committed.range} onChange={(range) => execute({ query: draft, range })} />
        <button className="primary" onClick={() => execute({ ...committed, query: draft })} data-testid="run-query" title="Run (Ctrl/Cmd-Enter)">
          Run query
        </button>
      </div>
      {run.state === 'error' && (
        <div className="error-banner" data-testid="query-error">
          {run.message}
        </div>
      )}
      <main className="results">
        {run.state === 'idle' && (
          <div className="status hint">
            Write a PromQL query over the metrics this server holds (remote_write, scrape, Pushgateway), e.g. <code>{'avg by (rank) (DCGM_FI_DEV_GPU_UTIL)'}</code>, and press Ctrl/Cmd-Enter.
          </div>
        )}
        {run.state === 'loading' && (
          <div className="status" data-testid="loading">
            Running query…
          </div>
        )}
        {run.state === 'done' && (
          <div className="metric-results">
            <div className="result-summary muted" data-testid="result-summary">
              {run.scalar !== undefined ? 'scalar' : `${run.series.length} series`} · step {run.stepS}s · {run.elapsedMs.toFixed(0)} ms
              {run.warnings.length > 0 && ` · ${run.warnings.join('; ')}`}
            </div>
            {run.scalar !== undefined && (
              <div className="scalar" data-testid="scalar-result">
                {run.scalar}
              </div>
            )}
            {run.scalar === undefined && run.series.length === 0 && <div className="status">The query returned no series in this time range.</div>}
            {run.series.length > 0 && (
              <>
                <section className="panel">
                  <Suspense fallback={<div className="status">Loading chart…</div>}>
                    <TimeSeriesChart series={run.series} rangeS={run.rangeS} />
                  </Suspense>
                </section>
                <MetricTable series={run.series} />
              </>
            )}
          </div>
        )}
      </main>
    </div>
  );
}
