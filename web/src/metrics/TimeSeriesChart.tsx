// Metric results (matrix) as a uPlot time series: one line per series, legend with hover values.
import { useMemo } from 'react';
import type uPlot from 'uplot';
import UPlotChart from '../charts/UPlotChart.tsx';
import { AXIS_STYLE, seriesColour } from '../charts/palette.ts';
import { alignSeries, formatValue, type Series } from './metric-data.ts';

export default function TimeSeriesChart({ series }: { series: Series[] }) {
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
      scales: { x: { time: true } },
    }),
    [series],
  );
  const data = useMemo(() => alignSeries(series) as uPlot.AlignedData, [series]);
  return <UPlotChart options={options} data={data} heightPx={280} testId="metric-chart" />;
}
