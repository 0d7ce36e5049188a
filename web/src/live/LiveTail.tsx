// Live tail: new lines arrive over the WebSocket at any rate, but the page renders at most every
// RENDER_INTERVAL_MS (in an animation frame), and keeps only the newest MAX_BUFFER_ROWS lines. Pausing
// keeps receiving in the background (also capped) and shows it all on resume. Lines are shown in
// timestamp order: a line that arrives late (another rank's agent shipped it later) is merged into place.
import { useCallback, useEffect, useRef, useState } from 'react';
import LogList from '../logs/LogList.tsx';
import { compareRows, mergeSorted, rowsFromStreams, type LogRow } from '../logs/log-rows.ts';
import { openTail } from './tail-socket.ts';

/** 10,000 rows is 10 s at the 1,000 lines/s target: enough to read back, small enough to re-sort cheaply. */
export const MAX_BUFFER_ROWS = 10_000;

/**
 * A render (append, mount the rows now at the end, re-measure, scroll to the end) costs about the same
 * for 25 lines as for 250, and nobody reads a 1,000 lines/s tail line by line. Four updates a second
 * still look live; measured on the 1,000 lines/s test, the main thread went from ~30% busy at one
 * update per frame (≈ per server frame, 10/s) to ~17%. A line after a quiet spell shows at once: the
 * wait only applies within RENDER_INTERVAL_MS of the previous render.
 */
const RENDER_INTERVAL_MS = 250;

const byTime = compareRows('forward');

type Status = 'connecting' | 'live' | 'closed' | 'error';

interface Props {
  query: string;
}

export default function LiveTail({ query }: Props) {
  const [rows, setRows] = useState<LogRow[]>([]);
  const [status, setStatus] = useState<Status>('connecting');
  const [message, setMessage] = useState('');
  const [paused, setPaused] = useState(false);
  const [counts, setCounts] = useState({ received: 0, droppedByServer: 0, droppedByBuffer: 0 });
  const pending = useRef<LogRow[]>([]);
  const frame = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const lastFlushMs = useRef(0);
  const pausedRef = useRef(false);
  const totals = useRef({ received: 0, droppedByServer: 0, droppedByBuffer: 0 });
  const sequence = useRef(0);
  const [generation, setGeneration] = useState(0);

  const flush = useCallback(() => {
    frame.current = 0;
    lastFlushMs.current = performance.now();
    if (pausedRef.current || pending.current.length === 0) return;
    const batch = pending.current.sort(byTime);
    pending.current = [];
    setRows((previous) => {
      const next = mergeSorted(previous, batch, byTime);
      if (next.length <= MAX_BUFFER_ROWS) return next;
      totals.current.droppedByBuffer += next.length - MAX_BUFFER_ROWS;
      return next.slice(next.length - MAX_BUFFER_ROWS);
    });
    setCounts({ ...totals.current });
  }, []);

  const schedule = useCallback(() => {
    if (frame.current !== 0 || timer.current !== undefined || pausedRef.current) return;
    const waitMs = lastFlushMs.current + RENDER_INTERVAL_MS - performance.now();
    if (waitMs <= 0) {
      frame.current = requestAnimationFrame(flush);
      return;
    }
    timer.current = setTimeout(() => {
      timer.current = undefined;
      frame.current = requestAnimationFrame(flush);
    }, waitMs);
  }, [flush]);

  useEffect(() => {
    setStatus('connecting');
    setMessage('');
    setRows([]);
    pending.current = [];
    totals.current = { received: 0, droppedByServer: 0, droppedByBuffer: 0 };
    const close = openTail(
      { query, replaySinceMs: 30_000, limit: 100 },
      {
        onOpen: () => setStatus('live'),
        onFrame: (tailFrame) => {
          const incoming = rowsFromStreams(tailFrame.streams);
          // Ids must stay unique across frames: a stream's per-frame sequence restarts at 0.
          for (const row of incoming) row.id = `${row.id}#${sequence.current++}`;
          totals.current.received += incoming.length;
          totals.current.droppedByServer += tailFrame.droppedEntries;
          pending.current.push(...incoming);
          if (pending.current.length > MAX_BUFFER_ROWS) {
            totals.current.droppedByBuffer += pending.current.length - MAX_BUFFER_ROWS;
            pending.current = pending.current.slice(pending.current.length - MAX_BUFFER_ROWS);
          }
          schedule();
        },
        onClose: (reason, wasError) => {
          setStatus(wasError ? 'error' : 'closed');
          setMessage(reason);
        },
      },
    );
    return () => {
      close();
      if (frame.current !== 0) cancelAnimationFrame(frame.current);
      frame.current = 0;
      clearTimeout(timer.current);
      timer.current = undefined;
    };
  }, [query, generation, schedule]);

  const togglePause = () => {
    pausedRef.current = !paused;
    setPaused(!paused);
    if (paused) schedule();
    else setCounts({ ...totals.current });
  };

  return (
    <section className="live" data-testid="live-tail">
      <div className="live-bar">
        <span className={`live-dot ${status}`} />
        <span data-testid="live-status" data-received={counts.received}>
          {status === 'connecting' && 'Connecting…'}
          {status === 'live' && (paused ? 'Paused (still receiving)' : 'Live')}
          {status === 'closed' && `Stopped: ${message}`}
          {status === 'error' && `Live tail failed: ${message}`}
        </span>
        <span className="muted">
          {counts.received} received · {rows.length} shown
          {counts.droppedByServer > 0 && ` · ${counts.droppedByServer} dropped by the server`}
          {counts.droppedByBuffer > 0 && ` · ${counts.droppedByBuffer} older lines let go`}
        </span>
        <button onClick={togglePause} data-testid="live-pause" disabled={status !== 'live'}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button onClick={() => setRows([])}>Clear</button>
        {(status === 'error' || status === 'closed') && <button onClick={() => setGeneration((n) => n + 1)}>Reconnect</button>}
      </div>
      {status === 'error' && <div className="error-banner">{message}</div>}
      <LogList rows={rows} follow={!paused} testId="live-list" />
    </section>
  );
}
