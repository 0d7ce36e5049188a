// One series of a run (loss, lr, …) against step or time: a line per rank, or the mean with a min–max
// band when there are many ranks. Every panel of a run gets the same x range and the same rank colours.
import { useMemo } from 'react';
import type uPlot from 'uplot';
import UPlotChart from '../charts/UPlotChart.tsx';
import { AXIS_STYLE } from '../charts/palette.ts';
import { colourOf } from '../logs/log-rows.ts';
import { formatValue } from '../metrics/metric-data.ts';
import { alignCurves, type CurveSet } from './run-data.ts';

interface Props {
  title: string;
  set: CurveSet;
  xRange?: [number, number];
  /** Extra curves drawn over the set (another run's loss), each with its own label and colour. */
  overlays?: Array<{ label: string; colour: string; xs: number[]; ys: number[] }>;
  testId: string;
}

const BAND_COLOUR = '#5794f2';

/** Axis ticks that keep small values readable (a learning rate of 3e-4 is not "0"). */
function formatTick(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude < 0.01 || magnitude >= 1e6) return value.toExponential(1);
  return String(Number(value.toPrecision(3)));
}

export default function RunChart({ title, set, xRange, overlays = [], testId }: Props) {
  const { options, data } = useMemo(() => {
    const valueOf = (_plot: uPlot, value: number | null) => (value == null ? '–' : formatValue(value));
    const lines: Array<{ xs: number[]; ys: number[] }> = [];
    const series: uPlot.Series[] = [{ label: set.x, value: (_plot: uPlot, value: number | null) => (value == null ? '–' : set.x === 'time' ? new Date(value * 1000).toLocaleTimeString() : String(value)) }];
    let bands: uPlot.Band[] | undefined;
    if (set.band) {
      const { xs, mean, min, max } = set.band;
      lines.push({ xs, ys: max }, { xs, ys: min }, { xs, ys: mean });
      series.push(
        { label: 'max', stroke: `${BAND_COLOUR}55`, width: 1, value: valueOf, spanGaps: true },
        { label: 'min', stroke: `${BAND_COLOUR}55`, width: 1, value: valueOf, spanGaps: true },
        { label: 'mean', stroke: BAND_COLOUR, width: 2, value: valueOf, spanGaps: true },
      );
      bands = [{ series: [1, 2], fill: `${BAND_COLOUR}22` }];
    } else {
      for (const curve of set.curves) {
        lines.push(curve);
        series.push({ label: curve.label, stroke: colourOf(curve.colourKey), width: 1.5, value: valueOf, spanGaps: true });
      }
    }
    for (const overlay of overlays) {
      lines.push(overlay);
      series.push({ label: overlay.label, stroke: overlay.colour, width: 2, dash: [6, 4], value: valueOf, spanGaps: true });
    }
    const chartOptions: Omit<uPlot.Options, 'width' | 'height'> = {
      mode: 1,
      series,
      ...(bands ? { bands } : {}),
      axes: [{ ...AXIS_STYLE, label: set.x === 'step' ? 'step' : undefined }, { ...AXIS_STYLE, size: 60, values: (_plot: uPlot, splits: number[]) => splits.map(formatTick) }],
      scales: { x: { time: set.x === 'time', ...(xRange ? { range: () => xRange } : {}) } },
      legend: { show: true, live: true },
      cursor: { sync: { key: 'rankscope-run' } },
    };
    return { options: chartOptions, data: alignCurves(lines) as uPlot.AlignedData };
  }, [set, xRange?.[0], xRange?.[1], overlays]);
  const summary = set.band ? `mean and min–max of ${set.rankCount} ranks` : `${set.rankCount} rank${set.rankCount === 1 ? '' : 's'}`;
  return (
    <section className="panel run-chart" data-testid={testId}>
      <header className="panel-header">
        <span>
          {title} <span className="muted">vs {set.x} · {summary}</span>
        </span>
      </header>
      <UPlotChart options={options} data={data} heightPx={200} testId="run-chart" />
    </section>
  );
}
