// A stat panel: each series reduced to one number (Grafana's reducer), coloured by the thresholds.
import type { DataPanel } from '../dashboard-types.ts';
import { reduceSeries, thresholdColour, type PanelSeries } from '../panel-data.ts';
import { formatUnit } from '../units.ts';

export default function StatPanel({ panel, series, heightPx }: { panel: DataPanel; series: PanelSeries[]; heightPx: number }) {
  const { unit, decimals, thresholds, reducer } = panel.display;
  const shown = series.slice(0, 24);
  const perRow = Math.ceil(Math.sqrt(Math.max(1, shown.length)));
  const heightBasedPx = Math.max(14, Math.min(heightPx * 0.55, 64) / perRow);
  return (
    <div className="stat-panel" data-testid="stat-values">
      {shown.map((one, index) => {
        const value = reduceSeries(one.values, reducer);
        const text = formatUnit(value, unit, { decimals });
        // Fit the width too (the panel is a size container): about 0.6 em per character.
        const fontSize = `min(${heightBasedPx}px, ${(160 / Math.max(3, text.length) / perRow).toFixed(1)}cqw)`;
        return (
          <div className="stat-item" key={`${one.name}/${index}`}>
            <span className="stat-value" style={{ color: thresholdColour(value, thresholds), fontSize }}>
              {text}
            </span>
            {shown.length > 1 && <span className="stat-name">{one.name}</span>}
          </div>
        );
      })}
    </div>
  );
}
