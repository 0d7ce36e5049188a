// A table panel: one row per series, a column per label and the reduced value (for an instant
// query, the value), coloured by the thresholds when there are steps.
import type { DataPanel } from '../dashboard-types.ts';
import { reduceSeries, thresholdColour, type PanelSeries } from '../panel-data.ts';
import { formatUnit } from '../units.ts';

export default function TablePanel({ panel, series }: { panel: DataPanel; series: PanelSeries[] }) {
  const { unit, decimals, thresholds, reducer } = panel.display;
  const columns: string[] = [];
  for (const one of series) for (const name of Object.keys(one.labels)) if (name !== '__name__' && !columns.includes(name)) columns.push(name);
  const coloured = thresholds.length > 1;
  return (
    <div className="table-panel">
      <table data-testid="table-panel">
        <thead>
          <tr>
            {columns.map((name) => (
              <th key={name}>{name}</th>
            ))}
            <th className="dash-numeric">Value</th>
          </tr>
        </thead>
        <tbody>
          {series.map((one, index) => {
            const value = reduceSeries(one.values, reducer);
            return (
              <tr key={`${one.name}/${index}`}>
                {columns.map((name) => (
                  <td key={name}>{one.labels[name] ?? ''}</td>
                ))}
                <td className="dash-numeric" style={coloured ? { color: thresholdColour(value, thresholds) } : undefined}>
                  {formatUnit(value, unit, { decimals })}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
