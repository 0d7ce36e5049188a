// A logs panel: the newest lines of its LogQL query, every stream on one timeline, each line with
// its time, its rank (or the most telling label) and its level colour.
import { useMemo } from 'react';
import type { RawStream } from '../../api/loki-client.ts';
import { colourOf, mergeStreams } from '../../logs/log-rows.ts';
import { LEVEL_COLOURS } from '../../charts/palette.ts';

function clock(timestampNs: bigint): string {
  const date = new Date(Number(timestampNs / 1_000_000n));
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

export default function LogsPanel({ streams }: { streams: RawStream[] }) {
  const rows = useMemo(() => mergeStreams(streams, 'backward'), [streams]);
  if (rows.length === 0) return <div className="panel-empty">No log lines in this range</div>;
  return (
    <div className="logs-panel" data-testid="logs-panel">
      {rows.map((row) => (
        <div className={`logs-panel-row level-${row.level}`} key={row.id} data-testid="logs-panel-row">
          <span className="logs-panel-level" style={{ background: LEVEL_COLOURS[row.level] }} />
          <span className="log-time">{clock(row.timestampNs)}</span>
          <span className="log-lane" style={{ color: colourOf(row.lane) }} title={row.streamKey}>
            {row.lane}
          </span>
          <span className="log-line">{row.line}</span>
        </div>
      ))}
    </div>
  );
}
