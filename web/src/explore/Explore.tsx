// Explore: write a LogQL query, pick a range, run it, and read the answer as lines, charts or a live tail.
// The committed query and range live in the URL; the editor text is a draft until it runs.
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, formatQuery, labelNames, labelValues, type TimeWindow } from '../api/loki-client.ts';
import type { EditorError } from '../editor/LogqlEditor.tsx';
import type { LabelSource } from '../editor/logql-completion.ts';
import type { LabelKind } from '../logs/LogDetails.tsx';
import { appendPage, type LogRow } from '../logs/log-rows.ts';
import LogList from '../logs/LogList.tsx';
import LogVolume from '../logs/LogVolume.tsx';
import MetricTable from '../metrics/MetricTable.tsx';
import { detectXYFields } from '../metrics/xy-data.ts';
import LabelBrowser from './LabelBrowser.tsx';
import { isLogQuery, starterQuery, withLabelFilter, withLabelMatcher } from './query-text.ts';
import { loadOlderPage, runQuery, type RunRequest, type RunResult } from './query-run.ts';
import TimeRangePicker from './TimeRangePicker.tsx';
import { formatAbsolute, msToNs, resolveRange, type TimeRangeText } from './time-range.ts';
import { LIMIT_CHOICES, pushUrlState, readUrlState, type ExploreUrlState } from './url-state.ts';

const LogqlEditor = lazy(() => import('../editor/LogqlEditor.tsx'));
const TimeSeriesChart = lazy(() => import('../metrics/TimeSeriesChart.tsx'));
const XYChart = lazy(() => import('../metrics/XYChart.tsx'));
const ContextView = lazy(() => import('../logs/ContextView.tsx'));
const LiveTail = lazy(() => import('../live/LiveTail.tsx'));

type RunState =
  | { state: 'idle' }
  | { state: 'loading'; request: RunRequest }
  | { state: 'error'; message: string; request?: RunRequest }
  | { state: 'done'; request: RunRequest; result: RunResult };

/** Label names/values for autocomplete, cached for the life of the range they were fetched for. */
function useLabelSource(window: TimeWindow): LabelSource {
  return useMemo(() => {
    let names: Promise<string[]> | undefined;
    const values = new Map<string, Promise<string[]>>();
    return {
      // A failed fetch is not cached (the next keystroke retries) and rejects, so the editor says why.
      names: () =>
        (names ??= labelNames(window).catch((error: Error) => {
          names = undefined;
          throw error;
        })),
      values: (name: string) => {
        let cached = values.get(name);
        if (!cached) {
          cached = labelValues(name, window).catch((error: Error) => {
            values.delete(name);
            throw error;
          });
          values.set(name, cached);
        }
        return cached;
      },
    };
  }, [window.startNs, window.endNs]);
}

export default function Explore({ sourceSwitch }: { sourceSwitch?: React.ReactNode }) {
  const [committed, setCommitted] = useState<ExploreUrlState>(() => readUrlState());
  const [draft, setDraft] = useState(committed.query);
  const draftRef = useRef(draft);
  draftRef.current = draft;
  const [run, setRun] = useState<RunState>({ state: 'idle' });
  const [editorError, setEditorError] = useState<EditorError | null>(null);
  const [showBrowser, setShowBrowser] = useState(false);
  const [contextRow, setContextRow] = useState<LogRow | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [pageError, setPageError] = useState<string | null>(null);
  const controller = useRef<AbortController | null>(null);

  const labelWindow = useMemo<TimeWindow>(() => {
    try {
      const range = resolveRange(committed.range);
      return { startNs: msToNs(range.fromMs), endNs: msToNs(range.toMs) };
    } catch {
      const now = Date.now();
      return { startNs: msToNs(now - 3_600_000), endNs: msToNs(now) };
    }
  }, [committed.range.from, committed.range.to]);
  const labelSource = useLabelSource(labelWindow);

  const execute = useCallback((state: ExploreUrlState, pushHistory = true) => {
    controller.current?.abort();
    setCommitted(state);
    setEditorError(null);
    setPageError(null);
    if (pushHistory) pushUrlState(state);
    if (state.query.trim() === '') {
      setRun({ state: 'idle' });
      return;
    }
    if (state.live) {
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
    const request: RunRequest = { query: state.query, range, limit: state.limit };
    const current = new AbortController();
    controller.current = current;
    setRun({ state: 'loading', request });
    runQuery(request, current.signal).then(
      (result) => {
        if (!current.signal.aborted) setRun({ state: 'done', request, result });
      },
      (error: Error) => {
        if (current.signal.aborted) return;
        if (error instanceof ApiError && error.line !== undefined && error.column !== undefined) {
          setEditorError({ message: error.message, line: error.line, column: error.column });
        }
        setRun({ state: 'error', message: error.message, request });
      },
    );
  }, []);

  // First load runs what the URL says; Back/Forward re-run the state they land on.
  useEffect(() => {
    if (committed.query !== '') execute(committed, false);
    else {
      // An empty Explore shows the newest run (or whatever the server holds) instead of a blank page.
      labelSource
        .names()
        .then((names) => starterQuery(names, (name) => labelSource.values(name)))
        .then(
          (query) => {
            // Only while the user has typed nothing and run nothing of their own.
            if (query === undefined || draftRef.current !== '' || controller.current !== null) return;
            setDraft(query);
            execute({ ...committed, query }, false);
          },
          () => undefined,
        );
    }
    const onPop = () => {
      const state = readUrlState();
      setDraft(state.query);
      execute(state, false);
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  // While typing, ask the server whether the query parses, so a mistake is marked before it runs.
  useEffect(() => {
    if (draft.trim() === '') {
      setEditorError(null);
      return;
    }
    const validation = new AbortController();
    const timer = setTimeout(() => {
      formatQuery(draft, validation.signal).then(
        () => setEditorError(null),
        (error: Error) => {
          if (error instanceof ApiError && error.line !== undefined && error.column !== undefined) {
            setEditorError({ message: error.message, line: error.line, column: error.column });
          }
        },
      );
    }, 500);
    return () => {
      clearTimeout(timer);
      validation.abort();
    };
  }, [draft]);

  const runDraft = useCallback((text?: string) => execute({ ...committed, query: text ?? draft, live: false }), [committed, draft, execute]);
  const setRange = (range: TimeRangeText) => execute({ ...committed, query: draft, range });
  const zoom = useCallback(
    (fromMs: number, toMs: number) => execute({ ...committed, query: committed.query, range: { from: formatAbsolute(fromMs), to: formatAbsolute(toMs + 999) } }),
    [committed, execute],
  );
  const toggleLive = () => execute({ ...committed, query: draft, live: !committed.live });

  const filter = useCallback(
    (name: string, kind: LabelKind, operator: '=' | '!=', value: string) => {
      const query = kind === 'indexed' ? withLabelMatcher(committed.query, name, operator, value) : withLabelFilter(committed.query, name, operator, value);
      setDraft(query);
      execute({ ...committed, query });
    },
    [committed, execute],
  );

  const loadMore = useCallback(() => {
    if (run.state !== 'done' || run.result.kind !== 'logs' || loadingMore) return;
    const { request, result } = run;
    const oldest = result.rows[result.rows.length - 1];
    if (!oldest) return;
    setLoadingMore(true);
    const current = controller.current ?? new AbortController();
    loadOlderPage(request, oldest, current.signal)
      .then((page) => {
        const rows = appendPage(result.rows, page);
        const hasMore = page.length >= request.limit && rows.length > result.rows.length;
        setRun({ state: 'done', request, result: { ...result, rows, hasMore } });
      })
      .catch((error: Error) => {
        if (!current.signal.aborted) setPageError(`Loading older lines failed: ${error.message}`);
      })
      .finally(() => setLoadingMore(false));
  }, [run, loadingMore]);

  const logRows = run.state === 'done' && run.result.kind === 'logs' ? run.result.rows : undefined;
  const xyFields = useMemo(() => (logRows ? detectXYFields(logRows) : undefined), [logRows]);

  return (
    <div className="explore">
      <div className="query-bar">
        {sourceSwitch}
        <button onClick={() => setShowBrowser(!showBrowser)} data-testid="label-browser-button">
          Label browser
        </button>
        <div className="query-editor-slot">
          <Suspense fallback={<div className="editor-loading">Loading editor…</div>}>
            <LogqlEditor value={draft} onChange={setDraft} onRun={(text) => runDraft(text)} labels={labelSource} error={editorError} />
          </Suspense>
        </div>
        <TimeRangePicker range={committed.range} onChange={setRange} />
        <select
          value={committed.limit}
          aria-label="Line limit"
          title="Lines per page"
          onChange={(event) => execute({ ...committed, query: draft, limit: Number(event.target.value) })}
        >
          {[...new Set([...LIMIT_CHOICES, committed.limit])].sort((a, b) => a - b).map((limit) => (
            <option key={limit} value={limit}>
              {limit} lines
            </option>
          ))}
        </select>
        <button className="primary" onClick={() => runDraft()} data-testid="run-query" title="Run (Ctrl/Cmd-Enter)">
          Run query
        </button>
        <button className={committed.live ? 'live-on' : ''} onClick={toggleLive} data-testid="live-button" disabled={!committed.live && !isLogQuery(draft)} title="Tail new lines as they arrive">
          {committed.live ? '■ Stop live' : '▶ Live'}
        </button>
      </div>

      {editorError && (
        <div className="error-banner parse-error" data-testid="query-error">
          <div>{editorError.message}</div>
          <pre className="error-caret">
            {draft.split('\n')[Math.max(editorError.line, 1) - 1] ?? ''}
            {'\n'}
            {' '.repeat(Math.max(editorError.column - 1, 0))}^
          </pre>
        </div>
      )}
      {run.state === 'error' && !editorError && (
        <div className="error-banner" data-testid="query-error">
          {run.message}
        </div>
      )}
      {pageError && <div className="error-banner">{pageError}</div>}

      <div className="explore-body">
        {showBrowser && (
          <LabelBrowser
            window={labelWindow}
            onClose={() => setShowBrowser(false)}
            onUse={(selector) => {
              setDraft(selector);
              execute({ ...committed, query: selector, live: false });
            }}
          />
        )}
        <main className="results">
          {committed.live && committed.query !== '' && (
            <Suspense fallback={<div className="status">Loading live view…</div>}>
              <LiveTail query={committed.query} />
            </Suspense>
          )}
          {!committed.live && run.state === 'idle' && (
            <div className="status hint">
              Write a LogQL query, e.g. <code>{'{job="train"} |= "loss"'}</code> or <code>{'sum by (rank) (count_over_time({job="train"} [1m]))'}</code>, and press
              Ctrl/Cmd-Enter.
            </div>
          )}
          {!committed.live && run.state === 'loading' && (
            <div className="status" data-testid="loading">
              Running query…
            </div>
          )}
          {!committed.live && run.state === 'done' && run.result.kind === 'logs' && (
            <>
              <LogVolume query={run.request.query} range={run.request.range} onZoom={zoom} />
              {xyFields && (
                <Suspense fallback={<div className="status small">Loading chart…</div>}>
                  <XYChart rows={run.result.rows} fields={xyFields} />
                </Suspense>
              )}
              <div className="result-summary muted" data-testid="result-summary">
                {run.result.rows.length} lines from {new Set(run.result.rows.map((row) => row.lane)).size} ranks/streams · {run.result.elapsedMs.toFixed(0)} ms
              </div>
              {run.result.rows.length === 0 ? (
                <div className="status">No lines match in this time range.</div>
              ) : (
                <LogList rows={run.result.rows} hasMore={run.result.hasMore} loadingMore={loadingMore} onLoadMore={loadMore} onFilter={filter} onOpenContext={setContextRow} />
              )}
            </>
          )}
          {!committed.live && run.state === 'done' && run.result.kind === 'metric' && (
            <div className="metric-results">
              <div className="result-summary muted" data-testid="result-summary">
                {run.result.series.length} series · step {run.result.stepMs / 1000}s · {run.result.elapsedMs.toFixed(0)} ms
              </div>
              {run.result.series.length === 0 ? (
                <div className="status">The query returned no series in this time range.</div>
              ) : (
                <>
                  <section className="panel">
                    <Suspense fallback={<div className="status">Loading chart…</div>}>
                      <TimeSeriesChart series={run.result.series} rangeS={[run.request.range.fromMs / 1000, run.request.range.toMs / 1000]} />
                    </Suspense>
                  </section>
                  <MetricTable series={run.result.series} />
                </>
              )}
            </div>
          )}
          {!committed.live && run.state === 'done' && run.result.kind === 'scalar' && (
            <div className="scalar" data-testid="scalar-result">
              {run.result.value}
            </div>
          )}
        </main>
      </div>
      {contextRow && (
        <Suspense fallback={<div className="status">Loading context…</div>}>
          <ContextView row={contextRow} onClose={() => setContextRow(null)} />
        </Suspense>
      )}
    </div>
  );
}
