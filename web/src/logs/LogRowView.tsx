// One log line on the timeline: time, the rank's colour and column, level, and the whole (multi-line)
// text, so a Python traceback reads as one entry. Clicking opens its details below it.
import { memo } from 'react';
import { colourOf, formatTimestamp, type LogRow } from './log-rows.ts';
import { LEVEL_COLOURS } from '../charts/palette.ts';
import LogDetails, { type FilterAction } from './LogDetails.tsx';

export interface LogRowViewProps {
  row: LogRow;
  expanded: boolean;
  anchor: boolean;
  onToggle(id: string): void;
  onFilter?: FilterAction;
  onOpenContext?(row: LogRow): void;
}

function LogRowView({ row, expanded, anchor, onToggle, onFilter, onOpenContext }: LogRowViewProps) {
  const laneColour = colourOf(row.lane);
  return (
    <div className={`log-row level-${row.level}${anchor ? ' anchor' : ''}${expanded ? ' expanded' : ''}`} data-testid="log-row">
      <div className="log-row-main" onClick={() => onToggle(row.id)} style={{ borderLeftColor: laneColour }}>
        <span className="log-time">{formatTimestamp(row.timestampNs)}</span>
        <span className="log-lane" style={{ color: laneColour }} title={row.streamKey}>
          {row.lane}
        </span>
        <span className="log-level" style={{ color: LEVEL_COLOURS[row.level] }}>
          {row.level === 'unknown' ? '' : row.level}
        </span>
        <span className="log-line">{row.line}</span>
      </div>
      {expanded && <LogDetails row={row} onFilter={onFilter} onOpenContext={onOpenContext} />}
    </div>
  );
}

export default memo(LogRowView);
