// Browse label names and values from the API and build a stream selector from the chosen values.
import { useEffect, useState } from 'react';
import { labelNames, labelValues, type TimeWindow } from '../api/loki-client.ts';
import { matcherFor } from './query-text.ts';

interface Props {
  window: TimeWindow;
  onUse(selector: string): void;
  onClose(): void;
}

type Loadable<T> = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; value: T };

export default function LabelBrowser({ window, onUse, onClose }: Props) {
  const [names, setNames] = useState<Loadable<string[]>>({ state: 'loading' });
  const [openName, setOpenName] = useState<string | null>(null);
  const [values, setValues] = useState<Loadable<string[]>>({ state: 'loading' });
  const [chosen, setChosen] = useState<Record<string, string[]>>({});

  useEffect(() => {
    const controller = new AbortController();
    labelNames(window, controller.signal).then(
      (value) => setNames({ state: 'ready', value: value.filter((name) => !name.startsWith('__')) }),
      (error: Error) => !controller.signal.aborted && setNames({ state: 'error', message: error.message }),
    );
    return () => controller.abort();
  }, [window.startNs, window.endNs]);

  useEffect(() => {
    if (openName === null) return;
    const controller = new AbortController();
    setValues({ state: 'loading' });
    labelValues(openName, window, controller.signal).then(
      (value) => setValues({ state: 'ready', value }),
      (error: Error) => !controller.signal.aborted && setValues({ state: 'error', message: error.message }),
    );
    return () => controller.abort();
  }, [openName, window.startNs, window.endNs]);

  const toggleValue = (name: string, value: string) => {
    setChosen((previous) => {
      const current = previous[name] ?? [];
      const next = current.includes(value) ? current.filter((one) => one !== value) : [...current, value];
      const copy = { ...previous, [name]: next };
      if (next.length === 0) delete copy[name];
      return copy;
    });
  };

  const selector = `{${Object.keys(chosen)
    .sort()
    .map((name) => matcherFor(name, chosen[name]))
    .join(', ')}}`;

  return (
    <aside className="label-browser" data-testid="label-browser">
      <header className="panel-header">
        <span>Label browser</span>
        <button onClick={onClose} aria-label="Close label browser">
          ✕
        </button>
      </header>
      {names.state === 'loading' && <div className="status">Loading labels…</div>}
      {names.state === 'error' && <div className="error-banner">Labels failed: {names.message}</div>}
      {names.state === 'ready' && names.value.length === 0 && <div className="status">No labels in this time range.</div>}
      {names.state === 'ready' && (
        <div className="label-names">
          {names.value.map((name) => (
            <button key={name} className={`chip${openName === name ? ' active' : ''}${chosen[name] ? ' chosen' : ''}`} onClick={() => setOpenName(openName === name ? null : name)}>
              {name}
            </button>
          ))}
        </div>
      )}
      {openName !== null && (
        <div className="label-values">
          <div className="muted">Values of {openName}</div>
          {values.state === 'loading' && <div className="status">Loading values…</div>}
          {values.state === 'error' && <div className="error-banner">Values failed: {values.message}</div>}
          {values.state === 'ready' &&
            values.value.map((value) => (
              <label key={value} className="value-option">
                <input type="checkbox" checked={chosen[openName]?.includes(value) ?? false} onChange={() => toggleValue(openName, value)} />
                {value}
              </label>
            ))}
        </div>
      )}
      <footer className="label-browser-footer">
        <code>{selector}</code>
        <button className="primary" disabled={Object.keys(chosen).length === 0} onClick={() => onUse(selector)}>
          Use query
        </button>
      </footer>
    </aside>
  );
}
