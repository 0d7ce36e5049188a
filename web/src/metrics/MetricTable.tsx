// Metric results as a table: one row per series with its last, min, max and mean.
import { formatValue, summarise, type Series } from './metric-data.ts';
import { seriesColour } from '../charts/palette.ts';

export default function MetricTable({ series }: { series: Series[] }) {
  const rows = summarise(series);
  return (
    <table className="metric-table" data-testid="metric-table">
      <thead>
        <tr>
          <th>Series</th>
          <th>Last</th>
          <th>Min</th>
          <th>Max</th>
          <th>Mean</th>
          <th>Points</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row, index) => (
          <tr key={row.name}>
            <td>
              <span className="swatch" style={{ background: seriesColour(index) }} />
              {row.name}
            </td>
            <td>{formatValue(row.last)}</td>
            <td>{formatValue(row.min)}</td>
            <td>{formatValue(row.max)}</td>
            <td>{formatValue(row.mean)}</td>
            <td>{row.points}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
