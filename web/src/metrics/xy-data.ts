// Step-vs-value curves read from log lines: a `pattern`/`regexp`/`logfmt`/`json` stage (or structured
// metadata) yields labels like step and loss; each rank gets one curve. Pure.
import type { LogRow } from '../logs/log-rows.ts';
import type { Series } from './metric-data.ts';

const X_FIELDS = ['step', 'global_step', 'iteration', 'iter', 'it', 'batch', 'epoch'];
const PREFERRED_Y = ['loss', 'train_loss', 'lm_loss', 'val_loss', 'lr', 'grad_norm'];

export interface XYFields {
  x: string;
  ys: string[];
}

function numericFields(row: LogRow): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const source of [row.parsed, row.structuredMetadata]) {
    for (const [name, text] of Object.entries(source)) {
      if (text === '' || name === '__error__') continue;
      const value = Number(text);
      if (Number.isFinite(value)) fields[name] = value;
    }
  }
  return fields;
}

/** Which field is the x axis and which can be plotted against it; undefined when rows hold no curve. */
export function detectXYFields(rows: LogRow[]): XYFields | undefined {
  const counts = new Map<string, number>();
  const sample = rows.length > 2000 ? rows.slice(0, 2000) : rows;
  for (const row of sample) for (const name of Object.keys(numericFields(row))) counts.set(name, (counts.get(name) ?? 0) + 1);
  const x = X_FIELDS.find((name) => (counts.get(name) ?? 0) >= 2);
  if (x === undefined) return undefined;
  const ys = [...counts.keys()].filter((name) => name !== x && (counts.get(name) ?? 0) >= 2 && !X_FIELDS.includes(name) && name !== 'rank');
  if (ys.length === 0) return undefined;
  ys.sort((a, b) => {
    const rankA = PREFERRED_Y.indexOf(a);
    const rankB = PREFERRED_Y.indexOf(b);
    return (rankA < 0 ? 99 : rankA) - (rankB < 0 ? 99 : rankB) || a.localeCompare(b);
  });
  return { x, ys };
}

/** One series per lane (rank), points sorted by x; `timesS` carries x so the chart aligner can be reused. */
export function xySeries(rows: LogRow[], x: string, y: string): Series[] {
  const byLane = new Map<string, Array<[number, number]>>();
  for (const row of rows) {
    const fields = numericFields(row);
    if (fields[x] === undefined || fields[y] === undefined) continue;
    let points = byLane.get(row.lane);
    if (!points) byLane.set(row.lane, (points = []));
    points.push([fields[x], fields[y]]);
  }
  return [...byLane.entries()]
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([lane, points]) => {
      points.sort((a, b) => a[0] - b[0]);
      return { name: lane, labels: {}, timesS: points.map((p) => p[0]), values: points.map((p) => p[1]) };
    });
}
