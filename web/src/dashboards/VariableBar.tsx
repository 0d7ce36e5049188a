// The template variables above the panels: a picker per visible variable (multi-value ones with
// checkboxes and All), and a text field for textbox variables.
import { useEffect, useRef, useState } from 'react';
import { ALL_VALUE } from './dashboard-types.ts';
import type { VariableState } from './interpolate.ts';

function MultiPicker({ state, onChange }: { state: VariableState; onChange(values: string[]): void }) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (event: MouseEvent) => {
      if (box.current && !box.current.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);
  const all = state.selected.includes(ALL_VALUE);
  const summary = all ? 'All' : state.selected.length === 0 ? 'None' : state.selected.join(' + ');
  const toggle = (value: string) => {
    const current = all ? [] : state.selected;
    const next = current.includes(value) ? current.filter((one) => one !== value) : [...current, value];
    onChange(next.length === 0 && state.variable.includeAll ? [ALL_VALUE] : next);
  };
  return (
    <div className="var-multi" ref={box}>
      <button className="var-button" onClick={() => setOpen(!open)} data-testid={`var-${state.variable.name}`} title={summary}>
        {summary}
      </button>
      {open && (
        <div className="var-menu" data-testid={`var-menu-${state.variable.name}`}>
          {state.variable.includeAll && (
            <label className="var-option">
              <input type="checkbox" checked={all} onChange={() => onChange([ALL_VALUE])} />
              All
            </label>
          )}
          {state.options.map((option) => (
            <label className="var-option" key={option}>
              <input type="checkbox" checked={!all && state.selected.includes(option)} onChange={() => toggle(option)} />
              {option}
            </label>
          ))}
        </div>
      )}
    </div>
  );
}

function TextboxPicker({ state, onChange }: { state: VariableState; onChange(values: string[]): void }) {
  const [draft, setDraft] = useState(state.selected[0] ?? '');
  useEffect(() => setDraft(state.selected[0] ?? ''), [state.selected[0]]);
  return <input className="var-text" value={draft} onChange={(event) => setDraft(event.target.value)} onBlur={() => onChange([draft])} onKeyDown={(event) => event.key === 'Enter' && onChange([draft])} data-testid={`var-${state.variable.name}`} />;
}

export default function VariableBar({ states, errors, onSelect }: { states: Map<string, VariableState>; errors: Map<string, string>; onSelect(name: string, values: string[]): void }) {
  const visible = [...states.values()].filter((state) => !state.variable.hidden);
  if (visible.length === 0) return null;
  return (
    <div className="var-bar" data-testid="variable-bar">
      {visible.map((state) => {
        const { variable } = state;
        const error = errors.get(variable.name);
        return (
          <div className="var-field" key={variable.name}>
            <span className="var-label">{variable.label}</span>
            {variable.kind === 'textbox' ? (
              <TextboxPicker state={state} onChange={(values) => onSelect(variable.name, values)} />
            ) : variable.multi ? (
              <MultiPicker state={state} onChange={(values) => onSelect(variable.name, values)} />
            ) : (
              <select value={state.selected[0] ?? ''} onChange={(event) => onSelect(variable.name, [event.target.value])} data-testid={`var-${variable.name}`}>
                {variable.includeAll && <option value={ALL_VALUE}>All</option>}
                {state.options.length === 0 && <option value="">(none)</option>}
                {state.options.map((option) => (
                  <option key={option} value={option}>
                    {option}
                  </option>
                ))}
              </select>
            )}
            {error !== undefined && (
              <span className="var-error" title={error}>
                ⚠
              </span>
            )}
          </div>
        );
      })}
    </div>
  );
}
