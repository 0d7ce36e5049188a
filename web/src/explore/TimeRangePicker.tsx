// Relative ("Last 1 hour") and absolute (from/to text) time ranges.
import { useEffect, useRef, useState } from 'react';
import { RELATIVE_CHOICES, resolveRange, type TimeRangeText } from './time-range.ts';

interface Props {
  range: TimeRangeText;
  onChange(range: TimeRangeText): void;
}

function describe(range: TimeRangeText): string {
  const relative = RELATIVE_CHOICES.find((choice) => choice.from === range.from);
  if (relative && range.to === 'now') return relative.label;
  return `${range.from} → ${range.to}`;
}

export default function TimeRangePicker({ range, onChange }: Props) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(range.from);
  const [to, setTo] = useState(range.to);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setFrom(range.from);
    setTo(range.to);
  }, [range.from, range.to]);

  useEffect(() => {
    if (!open) return;
    const onDown = (event: MouseEvent) => {
      if (box.current && !box.current.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);

  const apply = () => {
    try {
      resolveRange({ from, to });
    } catch (problem) {
      setError((problem as Error).message);
      return;
    }
    setError(null);
    setOpen(false);
    onChange({ from: from.trim(), to: to.trim() });
  };

  return (
    <div className="time-picker" ref={box}>
      <button onClick={() => setOpen(!open)} data-testid="time-range-button" title="Time range">
        {describe(range)}
      </button>
      {open && (
        <div className="time-picker-menu" data-testid="time-range-menu">
          <div className="time-picker-absolute">
            <label>
              From
              <input value={from} onChange={(event) => setFrom(event.target.value)} placeholder="now-1h or 2026-11-21 10:00:00" />
            </label>
            <label>
              To
              <input value={to} onChange={(event) => setTo(event.target.value)} onKeyDown={(event) => event.key === 'Enter' && apply()} />
            </label>
            {error && <div className="field-error">{error}</div>}
            <button className="primary" onClick={apply}>
              Apply range
            </button>
          </div>
          <ul className="time-picker-relative">
            {RELATIVE_CHOICES.map((choice) => (
              <li key={choice.from}>
                <button
                  onClick={() => {
                    setOpen(false);
                    setError(null);
                    onChange({ from: choice.from, to: 'now' });
                  }}
                >
                  {choice.label}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
