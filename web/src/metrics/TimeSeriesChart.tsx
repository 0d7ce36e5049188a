// Metric results (matrix) as a uPlot time series: one line per series, legend with hover values.
import { useMemo } from 'react';
import type uPlot from 'uplot';
import UPlotChart from '../charts/UPlotChart.tsx';
import { AXIS_STYLE, seriesColour } from '../charts/palette.ts';
import { alignSeries, formatValue, type Series } from './metric-data.ts';

/** `rangeS` pins the x axis (seconds); without it uPlot would stretch a lone point across years. */
export default function TimeSeriesChart({ series, rangeS }: { series: Series[]; rangeS?: [number, number] }) {
  const options = useMemo<Omit<uPlot.Options, 'width' | 'height'>>(
    () => ({
      series: [
        {},
        ...series.map((one, index) => ({
          label: one.name,
          stroke: seriesColour(index),
          width: 1.5,
          spanGaps: false,
          points: { show: one.values.length < 60 },
          value: (_plot: uPlot, value: number | null) => (value == null ? '–' : formatValue(value)),
        })),
      ],
      axes: [AXIS_STYLE, { ...AXIS_STYLE, size: 60 }],
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: rangeS ? { time: true, range: (): uPlot.Range.MinMax => [rangeS[0], rangeS[1]] } : { time: true } },
    }),
    [series, rangeS?.[0], rangeS?.[1]],
  );
  const data = useMemo(() => alignSeries(series) as uPlot.AlignedData, [series]);
  return <UPlotChart options={options} data={data} heightPx={280} testId="metric-chart" />;
}
