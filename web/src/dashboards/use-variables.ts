// The dashboard's template variables: their choices (label_values and friends, asked of the server
// in order, each with the values chosen above it) and what is selected. Selections live in the URL
// as Grafana writes them (`var-rank=1&var-rank=3`, `var-rank=$__all`), so a link keeps them.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ALL_VALUE, type DashboardView, type VariableView } from './dashboard-types.ts';
import { labelNamesFor, labelValuesFor, queryResultLines, type QueryWindow } from './dashboard-client.ts';
import { filterByRegex, interpolate, parseVariableQuery, sortValues, type Macros, type VariableState } from './interpolate.ts';

export function selectionsFromUrl(search: string = window.location.search): Map<string, string[]> {
  const params = new URLSearchParams(search);
  const selections = new Map<string, string[]>();
  for (const [key, value] of params) {
    if (!key.startsWith('var-')) continue;
    const name = key.slice(4);
    selections.set(name, [...(selections.get(name) ?? []), value]);
  }
  return selections;
}

async function optionsOf(variable: VariableView, states: Map<string, VariableState>, macros: Macros, window: QueryWindow, signal: AbortSignal): Promise<string[]> {
  if (variable.kind !== 'query') return variable.options;
  const datasource = variable.datasource ?? 'prometheus';
  const query = parseVariableQuery(interpolate(variable.query, states, macros));
  let values: string[];
  switch (query.kind) {
    case 'label_values':
      values = await labelValuesFor(datasource, query.label, query.selector, window, signal);
      break;
    case 'label_names':
      values = await labelNamesFor(datasource, query.selector, window, signal);
      break;
    case 'metrics':
      values = filterByRegex(await labelValuesFor('prometheus', '__name__', undefined, window, signal), `/${query.regex}/`);
      break;
    case 'query_result':
      values = await queryResultLines(query.expr, window, signal);
      break;
    default:
      throw new Error(`variable ${variable.name}: cannot run "${query.text}"; use label_values(selector, label), label_names(), metrics(regex) or query_result(expr)`);
  }
  return sortValues(filterByRegex(values, variable.regex), variable.sort);
}

function chooseSelection(variable: VariableView, options: string[], wanted: string[] | undefined): string[] {
  const candidates = wanted ?? variable.current;
  if (variable.kind === 'textbox' || variable.kind === 'constant') return candidates.length > 0 ? candidates.slice(0, 1) : variable.options.slice(0, 1);
  if (candidates.includes(ALL_VALUE) && variable.includeAll) return [ALL_VALUE];
  const kept = candidates.filter((value) => options.includes(value));
  if (kept.length > 0) return variable.multi ? kept : kept.slice(0, 1);
  if (variable.includeAll && variable.multi) return [ALL_VALUE];
  return options.slice(0, 1);
}

export interface VariablesResult {
  /** Undefined until every variable has its options once. */
  states: Map<string, VariableState> | undefined;
  errors: Map<string, string>;
  select(name: string, values: string[]): void;
}

/** `macros` and `window` are the dashboard's range: choices are looked up within it. */
export function useVariables(view: DashboardView | undefined, macros: Macros, window: QueryWindow): VariablesResult {
  const [selections, setSelections] = useState<Map<string, string[]>>(() => selectionsFromUrl());
  const [states, setStates] = useState<Map<string, VariableState> | undefined>(undefined);
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const latest = useRef({ macros, window });
  latest.current = { macros, window };

  useEffect(() => {
    if (view === undefined) return;
    const controller = new AbortController();
    (async () => {
      const resolved = new Map<string, VariableState>();
      const problems = new Map<string, string>();
      for (const variable of view.variables) {
        let options: string[] = [];
        try {
          options = await optionsOf(variable, resolved, latest.current.macros, latest.current.window, controller.signal);
        } catch (error) {
          if (controller.signal.aborted) return;
          problems.set(variable.name, (error as Error).message);
        }
        resolved.set(variable.name, { variable, options, selected: chooseSelection(variable, options, selections.get(variable.name)) });
      }
      if (controller.signal.aborted) return;
      setStates(resolved);
      setErrors(problems);
    })();
    return () => controller.abort();
    // Choices are looked up again when the dashboard, a selection or the range changes.
  }, [view, selections, window.startS === 0 ? 0 : Math.floor(window.startS / 60), Math.floor(window.endS / 60)]);

  const select = useCallback((name: string, values: string[]) => {
    // Shown at once; the choices below it are looked up again by the effect.
    setStates((previous) => {
      const state = previous?.get(name);
      return previous === undefined || state === undefined ? previous : new Map(previous).set(name, { ...state, selected: values });
    });
    setSelections((previous) => {
      const next = new Map(previous);
      next.set(name, values);
      const params = new URLSearchParams(globalThis.location.search);
      params.delete(`var-${name}`);
      for (const value of values) params.append(`var-${name}`, value);
      globalThis.history.replaceState(null, '', `${globalThis.location.pathname}?${params.toString()}`);
      return next;
    });
  }, []);

  return { states, errors, select };
}
