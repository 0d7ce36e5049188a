// Step vs value (e.g. loss) per rank as an XY line chart, from fields parsed out of log lines.
import { useMemo, useState } from 'react';
import type uPlot from 'uplot';
import UPlotChart from '../charts/UPlotChart.tsx';
import { AXIS_STYLE } from '../charts/palette.ts';
import { colourOf, type LogRow } from '../logs/log-rows.ts';
import { alignSeries, formatValue } from './metric-data.ts';
import { xySeries, type XYFields } from './xy-data.ts';

export default function XYChart({ rows, fields }: { rows: LogRow[]; fields: XYFields }) {
  const [y, setY] = useState(fields.ys[0]);
  const yField = fields.ys.includes(y) ? y : fields.ys[0];
  const series = useMemo(() => xySeries(rows, fields.x, yField), [rows, fields.x, yField]);
  const options = useMemo<Omit<uPlot.Options, 'width' | 'height'>>(
    () => ({
      mode: 1,
      series: [
        { label: fields.x, value: (_plot: uPlot, value: number | null) => (value == null ? '–' : String(value)) },
        ...series.map((one) => ({
          label: one.name,
          stroke: colourOf(one.name),
          width: 1.5,
          spanGaps: true,
          value: (_plot: uPlot, value: number | null) => (value == null ? '–' : formatValue(value)),
        })),
      ],
      axes: [{ ...AXIS_STYLE, label: fields.x }, { ...AXIS_STYLE, label: yField, size: 60 }],
      scales: { x: { time: false } },
      legend: { show: true, live: true },
    }),
    [series, fields.x, yField],
  );
  const data = useMemo(() => alignSeries(series) as uPlot.AlignedData, [series]);
  return (
    <section className="panel" data-testid="xy-chart">
      <header className="panel-header">
        <span>
          {yField} vs {fields.x}, per rank ({series.length} curves)
        </span>
        {fields.ys.length > 1 && (
          <select value={yField} onChange={(event) => setY(event.target.value)} aria-label="Y field">
            {fields.ys.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        )}
      </header>
      <UPlotChart options={options} data={data} heightPx={240} />
    </section>
  );
}
