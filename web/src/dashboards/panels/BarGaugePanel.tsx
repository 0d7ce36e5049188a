// A bar gauge panel: one horizontal bar per series, its length the reduced value between min and
// max, its colour the threshold step reached, so a rank far from the others stands out.
import type { DataPanel } from '../dashboard-types.ts';
import { reduceSeries, thresholdColour, type PanelSeries } from '../panel-data.ts';
import { formatUnit } from '../units.ts';

export default function BarGaugePanel({ panel, series }: { panel: DataPanel; series: PanelSeries[] }) {
  const { unit, decimals, thresholds, reducer } = panel.display;
  const rows = series.map((one) => ({ name: one.name, value: reduceSeries(one.values, reducer) }));
  const finite = rows.map((row) => row.value).filter((value): value is number => value !== null && Number.isFinite(value));
  const min = panel.display.min ?? Math.min(0, ...finite);
  const max = panel.display.max ?? Math.max(min + 1, ...finite);
  return (
    <div className="bargauge-panel" data-testid="bargauge-rows">
      {rows.map((row, index) => {
        const fraction = row.value === null ? 0 : Math.min(1, Math.max(0, (row.value - min) / (max - min || 1)));
        const colour = thresholdColour(row.value, thresholds);
        return (
          // display: contents: the name column is as wide as the longest name across all rows.
          <div className="bargauge-row" key={`${row.name}/${index}`} data-testid="bargauge-row">
            <span className="bargauge-name" title={row.name}>
              {row.name}
            </span>
            <span className="bargauge-track">
              <span className="bargauge-fill" style={{ width: `${fraction * 100}%`, background: colour }} />
            </span>
            <span className="bargauge-value" style={{ color: colour }}>
              {formatUnit(row.value, unit, { decimals })}
            </span>
          </div>
        );
      })}
    </div>
  );
}
