// Runs a panel's queries (variables and macros filled in) whenever the range, a variable or the
// refresh tick changes, keeping the last answer on screen while the next one loads.
import { useEffect, useState } from 'react';
import type { RawStream } from '../api/loki-client.ts';
import type { DataPanel } from './dashboard-types.ts';
import { queryLogs, querySeries, type QueryWindow } from './dashboard-client.ts';
import { interpolate, parseIntervalS, type VariableState } from './interpolate.ts';
import { stepFor, type PanelSeries } from './panel-data.ts';

export interface PanelContext {
  fromMs: number;
  toMs: number;
  variables: Map<string, VariableState>;
  /** Bumped by the refresh button and auto refresh. */
  tick: number;
}

export interface PanelData {
  loading: boolean;
  series: PanelSeries[];
  streams: RawStream[];
  /** One message per failed query, prefixed with its refId. */
  errors: string[];
  /** The window the answer covers (x axis of charts). */
  window: QueryWindow | undefined;
}

const LOG_LINES_LIMIT = 200;

export function usePanelData(panel: DataPanel, context: PanelContext): PanelData {
  const [data, setData] = useState<PanelData>({ loading: true, series: [], streams: [], errors: [], window: undefined });
  const variablesKey = [...context.variables.values()].map((state) => `${state.variable.name}=${state.selected.join('|')}`).join('&');

  useEffect(() => {
    const controller = new AbortController();
    const rangeS = (context.toMs - context.fromMs) / 1000;
    const minIntervalS = Math.max(0, ...panel.targets.map((target) => parseIntervalS(target.interval) ?? 0));
    const stepS = stepFor(rangeS, panel.gridPos.w, minIntervalS);
    const window: QueryWindow = { startS: Math.floor(context.fromMs / 1000 / stepS) * stepS, endS: Math.ceil(context.toMs / 1000), stepS };
    const macros = { intervalS: stepS, rangeS, fromMs: context.fromMs, toMs: context.toMs };
    setData((previous) => ({ ...previous, loading: true }));
    const runs = panel.targets.map(async (target) => {
      const expr = interpolate(target.expr, context.variables, macros);
      if (panel.kind === 'logs') return { streams: await queryLogs(expr, window, LOG_LINES_LIMIT, controller.signal), series: [] as PanelSeries[] };
      // Stat-like panels over a range reduce it; table and instant targets ask for one value per series.
      return { streams: [] as RawStream[], series: await querySeries(target.datasource, expr, target.instant, window, target.refId, target.legendFormat, controller.signal) };
    });
    void Promise.allSettled(runs).then((results) => {
      if (controller.signal.aborted) return;
      const errors: string[] = [];
      const series: PanelSeries[] = [];
      const streams: RawStream[] = [];
      results.forEach((result, index) => {
        if (result.status === 'fulfilled') {
          series.push(...result.value.series);
          streams.push(...result.value.streams);
        } else errors.push(`${panel.targets[index]!.refId}: ${(result.reason as Error).message}`);
      });
      // Legends, bars and table rows in a stable, natural order (rank 2 before rank 10), per query.
      series.sort((a, b) => a.refId.localeCompare(b.refId) || a.name.localeCompare(b.name, undefined, { numeric: true }));
      setData({ loading: false, series, streams, errors, window });
    });
    return () => controller.abort();
  }, [panel, context.fromMs, context.toMs, context.tick, variablesKey]);

  return data;
}
