// A time series panel: one uPlot line per series over the dashboard's range, the y axis in the
// panel's unit, and a compact legend under it (click a name to show only that series).
import { useMemo, useState } from 'react';
import type uPlot from 'uplot';
import UPlotChart from '../../charts/UPlotChart.tsx';
import { AXIS_STYLE, seriesColour } from '../../charts/palette.ts';
import type { DataPanel } from '../dashboard-types.ts';
import { alignPanelSeries, stackColumns, type PanelSeries } from '../panel-data.ts';
import type { QueryWindow } from '../dashboard-client.ts';
import { formatUnit } from '../units.ts';

const LEGEND_HEIGHT_PX = 22;
const TOOLTIP_ROWS = 10;

interface Hover {
  /** Cursor position in the panel, px. */
  leftPx: number;
  topPx: number;
  /** Index into the aligned x array. */
  index: number;
  /** Plot width, to flip the tooltip left of the cursor past the middle. */
  widthPx: number;
}

function clockOf(seconds: number): string {
  const date = new Date(seconds * 1000);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export default function TimeSeriesPanel({ panel, series, window, heightPx }: { panel: DataPanel; series: PanelSeries[]; window: QueryWindow | undefined; heightPx: number }) {
  const [solo, setSolo] = useState<string | null>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  const { unit, decimals, min, max, stacked } = panel.display;
  const options = useMemo<Omit<uPlot.Options, 'width' | 'height'>>(
    () => ({
      series: [
        {},
        ...series.map((one, index) => ({
          label: one.name,
          stroke: seriesColour(index),
          // Stacked areas are filled; otherwise a light fill reads well under a few lines, and under
          // many it turns into a muddy block.
          ...(stacked ? { fill: `${seriesColour(index)}55` } : series.length <= 3 ? { fill: `${seriesColour(index)}14` } : {}),
          width: 1.5,
          spanGaps: false,
          show: solo === null || solo === one.name,
          points: { show: one.values.length < 12 },
          value: (_plot: uPlot, value: number | null) => formatUnit(value, unit, { decimals }),
        })),
      ],
      axes: [
        AXIS_STYLE,
        {
          ...AXIS_STYLE,
          // As wide as the longest tick label ("68.6 GiB", "1.5 k req/s"), about 7 px a character.
          size: (_plot: uPlot, values: string[] | undefined) => Math.max(40, ...(values ?? []).map((text) => text.length * 7.5 + 24)),
          // Whole-number panels (counts of GPUs, errors) get whole-number ticks, not 0.5 steps rounded twice.
          ...(decimals === 0 ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000, 1_000_000] } : {}),
          values: (_plot: uPlot, ticks: number[]) => ticks.map((tick) => formatUnit(tick, unit, { decimals })),
        },
      ],
      // Each stacked area fills down to the one below it, not to zero.
      ...(stacked ? { bands: series.slice(1).map((_one, index) => ({ series: [index + 2, index + 1] as [number, number] })) } : {}),
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      // A tooltip with every series' value at the cursor, as Grafana's "multi" tooltip.
      hooks: {
        setCursor: [
          (plot: uPlot) => {
            const { idx, left, top } = plot.cursor;
            if (idx === null || idx === undefined || left === undefined || left < 0 || top === undefined) setHover(null);
            else setHover({ leftPx: plot.over.offsetLeft + left, topPx: plot.over.offsetTop + top, index: idx, widthPx: plot.over.clientWidth + plot.over.offsetLeft });
          },
        ],
      },
      scales: {
        x: window ? { time: true, range: (): uPlot.Range.MinMax => [window.startS, window.endS] } : { time: true },
        // Grafana's auto range unless the panel pins min or max (a loss curve should not be squashed onto 0).
        y: min === undefined && max === undefined ? {} : { range: (_plot: uPlot, dataMin: number, dataMax: number): uPlot.Range.MinMax => [min ?? dataMin, max ?? (dataMax === dataMin ? (dataMax ?? 0) + 1 : dataMax)] },
      },
    }),
    [series, window?.startS, window?.endS, unit, decimals, min, max, solo, stacked],
  );
  const values = useMemo(() => alignPanelSeries(series), [series]);
  const data = useMemo(() => (stacked ? stackColumns(values) : values) as uPlot.AlignedData, [values, stacked]);
  const rows =
    hover === null
      ? []
      : series
          .map((one, index) => ({ name: one.name, colour: seriesColour(index), value: values[index + 1]![hover.index] ?? null }))
          .filter((row) => row.value !== null && (solo === null || solo === row.name))
          .sort((a, b) => (b.value ?? 0) - (a.value ?? 0));
  const time = hover === null ? undefined : values[0][hover.index];
  return (
    <div className="ts-panel" onMouseLeave={() => setHover(null)}>
      <UPlotChart options={options} data={data} heightPx={Math.max(60, heightPx - LEGEND_HEIGHT_PX)} testId="panel-chart" />
      {hover !== null && time !== undefined && rows.length > 0 && (
        <div
          className="ts-tooltip"
          data-testid="panel-tooltip"
          style={{ top: Math.max(0, hover.topPx - 10), ...(hover.leftPx > hover.widthPx / 2 ? { right: `calc(100% - ${hover.leftPx - 12}px)` } : { left: hover.leftPx + 12 }) }}
        >
          <div className="ts-tooltip-time">{clockOf(time)}</div>
          {rows.slice(0, TOOLTIP_ROWS).map((row) => (
            <div className="ts-tooltip-row" key={row.name}>
              <span className="ts-swatch" style={{ background: row.colour }} />
              <span className="ts-tooltip-name">{row.name}</span>
              <span className="ts-tooltip-value">{formatUnit(row.value, unit, { decimals })}</span>
            </div>
          ))}
          {rows.length > TOOLTIP_ROWS && <div className="muted">and {rows.length - TOOLTIP_ROWS} more</div>}
        </div>
      )}
      <div className="ts-legend" style={{ height: LEGEND_HEIGHT_PX }}>
        {series.map((one, index) => (
          <button key={`${one.refId}/${one.name}/${index}`} className={solo !== null && solo !== one.name ? 'ts-legend-item dim' : 'ts-legend-item'} onClick={() => setSolo(solo === one.name ? null : one.name)} title={one.name}>
            <span className="ts-swatch" style={{ background: seriesColour(index) }} />
            {one.name}
          </button>
        ))}
      </div>
    </div>
  );
}
