// Context around one line: N lines before and after it in the same stream, or the same moment across
// every rank of the run (the run's label alone, else the stream's labels minus those naming a process).
import { useEffect, useState } from 'react';
import { queryRange } from '../api/loki-client.ts';
import { allRanksSelector, processSelector } from '../explore/query-text.ts';
import LogList from './LogList.tsx';
import { appendPage, compareRows, mergeStreams, type LogRow } from './log-rows.ts';

type Mode = 'stream' | 'ranks';

const SEARCH_SPAN_NS = 6n * 3600n * 1_000_000_000n;

interface Props {
  row: LogRow;
  /** Which context opens first: the line's own stream, or every rank of its run. */
  initialMode?: Mode;
  onClose(): void;
}

interface ContextState {
  loading: boolean;
  error: string | null;
  rows: LogRow[];
  anchorId?: string;
  query: string;
}

function findAnchor(rows: LogRow[], row: LogRow): string | undefined {
  return rows.find((candidate) => candidate.timestampNs === row.timestampNs && candidate.line === row.line && candidate.streamKey === row.streamKey)?.id
    ?? rows.find((candidate) => candidate.timestampNs === row.timestampNs && candidate.line === row.line)?.id;
}

async function loadStreamContext(row: LogRow, lines: number, signal: AbortSignal): Promise<{ rows: LogRow[]; query: string }> {
  const query = processSelector(row.stream);
  // End is exclusive, so +1 ns keeps the line itself (and any neighbour sharing its timestamp).
  const [before, after] = await Promise.all([
    queryRange({ query, startNs: row.timestampNs - SEARCH_SPAN_NS, endNs: row.timestampNs + 1n, limit: lines + 1, direction: 'backward' }, signal),
    queryRange({ query, startNs: row.timestampNs, endNs: row.timestampNs + SEARCH_SPAN_NS, limit: lines + 1, direction: 'forward' }, signal),
  ]);
  const toRows = (data: typeof before, direction: 'forward' | 'backward') => (data.resultType === 'streams' ? mergeStreams(data.result, direction) : []);
  const merged = appendPage(toRows(before, 'forward'), toRows(after, 'forward')).sort(compareRows('forward'));
  return { rows: merged, query };
}

async function loadRanksContext(row: LogRow, windowMs: number, signal: AbortSignal): Promise<{ rows: LogRow[]; query: string }> {
  const query = allRanksSelector(row.stream);
  const spanNs = BigInt(windowMs) * 1_000_000n;
  const data = await queryRange({ query, startNs: row.timestampNs - spanNs, endNs: row.timestampNs + spanNs + 1n, limit: 2000, direction: 'forward' }, signal);
  return { rows: data.resultType === 'streams' ? mergeStreams(data.result, 'forward') : [], query };
}

export default function ContextView({ row, initialMode = 'stream', onClose }: Props) {
  const [mode, setMode] = useState<Mode>(initialMode);
  const [lines, setLines] = useState(25);
  const [windowMs, setWindowMs] = useState(5000);
  const [state, setState] = useState<ContextState>({ loading: true, error: null, rows: [], query: '' });

  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true, error: null }));
    const load = mode === 'stream' ? loadStreamContext(row, lines, controller.signal) : loadRanksContext(row, windowMs, controller.signal);
    load.then(
      ({ rows, query }) => setState({ loading: false, error: null, rows, query, anchorId: findAnchor(rows, row) }),
      (error: Error) => {
        if (!controller.signal.aborted) setState({ loading: false, error: error.message, rows: [], query: '' });
      },
    );
    return () => controller.abort();
  }, [row, mode, lines, windowMs]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  const lanes = new Set(state.rows.map((candidate) => candidate.lane)).size;
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal" role="dialog" aria-label="Log context" data-testid="context-view" onClick={(event) => event.stopPropagation()}>
        <header className="modal-header">
          <div className="tabs">
            <button className={mode === 'stream' ? 'tab active' : 'tab'} onClick={() => setMode('stream')}>
              This stream ({row.lane})
            </button>
            <button className={mode === 'ranks' ? 'tab active' : 'tab'} onClick={() => setMode('ranks')} data-testid="context-all-ranks">
              Same moment, all ranks
            </button>
          </div>
          {mode === 'stream' ? (
            <label>
              Lines before and after{' '}
              <select value={lines} onChange={(event) => setLines(Number(event.target.value))}>
                {[10, 25, 50, 100, 500].map((count) => (
                  <option key={count} value={count}>
                    {count}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <label>
              Window ±{' '}
              <select value={windowMs} onChange={(event) => setWindowMs(Number(event.target.value))}>
                {[1000, 5000, 30000, 120000].map((ms) => (
                  <option key={ms} value={ms}>
                    {ms / 1000}s
                  </option>
                ))}
              </select>
            </label>
          )}
          <button onClick={onClose} aria-label="Close context">
            ✕
          </button>
        </header>
        <div className="modal-sub">
          <code>{state.query}</code>
          {!state.loading && !state.error && (
            <span>
              {' '}
              · {state.rows.length} lines{mode === 'ranks' ? ` from ${lanes} ranks/streams` : ''}
            </span>
          )}
        </div>
        {state.loading && <div className="status">Loading context…</div>}
        {state.error && <div className="error-banner">Context failed: {state.error}</div>}
        {!state.loading && !state.error && state.rows.length === 0 && <div className="status">No lines around this one.</div>}
        {!state.error && state.rows.length > 0 && <LogList rows={state.rows} anchorId={state.anchorId} heightCss="60vh" testId="context-list" />}
      </div>
    </div>
  );
}
