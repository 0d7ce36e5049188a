// The virtualized log list: only the rows on screen are in the DOM, so 10,000 lines scroll like 100.
// Rows have varying height (tracebacks), measured as they render. Reaching the end asks for the next page;
// in follow mode (live tail) the view sticks to the newest line.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import LogRowView from './LogRowView.tsx';
import type { FilterAction } from './LogDetails.tsx';
import type { LogRow } from './log-rows.ts';

export interface LogListProps {
  rows: LogRow[];
  onLoadMore?(): void;
  hasMore?: boolean;
  loadingMore?: boolean;
  follow?: boolean;
  anchorId?: string;
  onFilter?: FilterAction;
  onOpenContext?(row: LogRow): void;
  heightCss?: string;
  testId?: string;
}

/** Ask for the next page this many rows before the end, so it arrives before the user gets there. */
const LOAD_AHEAD_ROWS = 30;
/** Within this distance of the bottom the reader counts as "at the end" (about two rows). */
const STICK_TO_BOTTOM_PX = 48;

export default function LogList(props: LogListProps) {
  const { rows, onLoadMore, hasMore, loadingMore, follow, anchorId } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set());
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 21,
    overscan: 15,
    getItemKey: (index) => rows[index].id,
  });
  const items = virtualizer.getVirtualItems();

  const toggle = useCallback((id: string) => {
    setExpanded((previous) => {
      const next = new Set(previous);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);

  const lastIndex = items.length > 0 ? items[items.length - 1].index : -1;
  useEffect(() => {
    if (onLoadMore && hasMore && !loadingMore && lastIndex >= rows.length - LOAD_AHEAD_ROWS && rows.length > 0) onLoadMore();
  }, [lastIndex, rows.length, hasMore, loadingMore, onLoadMore]);

  // Follow sticks to the newest line only while the reader is at the bottom; scrolling up to read
  // stops it until they scroll back down.
  const atBottom = useRef(true);
  const onScroll = useCallback(() => {
    const element = scroller.current;
    if (element) atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < STICK_TO_BOTTOM_PX;
  }, []);
  useEffect(() => {
    if (follow && atBottom.current && rows.length > 0) virtualizer.scrollToIndex(rows.length - 1, { align: 'end' });
  }, [follow, rows, virtualizer]);

  useEffect(() => {
    if (anchorId === undefined) return;
    const index = rows.findIndex((row) => row.id === anchorId);
    if (index >= 0) virtualizer.scrollToIndex(index, { align: 'center' });
  }, [anchorId, rows, virtualizer]);

  return (
    <div ref={scroller} onScroll={follow ? onScroll : undefined} className="log-list" style={props.heightCss ? { height: props.heightCss, flex: 'none' } : undefined} data-testid={props.testId ?? 'log-list'} data-row-count={rows.length}>
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative', width: '100%' }}>
        <div style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${items[0]?.start ?? 0}px)` }}>
          {items.map((item) => {
            const row = rows[item.index];
            return (
              <div key={item.key} data-index={item.index} ref={virtualizer.measureElement}>
                <LogRowView
                  row={row}
                  expanded={expanded.has(row.id)}
                  anchor={row.id === anchorId}
                  onToggle={toggle}
                  onFilter={props.onFilter}
                  onOpenContext={props.onOpenContext}
                />
              </div>
            );
          })}
        </div>
      </div>
      {(loadingMore || (hasMore === false && rows.length > 0 && onLoadMore)) && (
        <div className="list-footer">{loadingMore ? 'Loading older lines…' : 'End of results for this range.'}</div>
      )}
    </div>
  );
}
