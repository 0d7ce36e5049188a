// Rank × time: one row per rank, one cell per time bucket, coloured by the worst level the rank logged
// there (red error, orange warning, green info; dark when silent). A rank that stops logging shows as
// a row that ends early; hung ranks are marked. Drawn on a canvas: 64 ranks × 300 buckets is 19,200 cells.
import { LEVEL_COLOURS } from '../charts/palette.ts';
import type { ActivityGrid, ActivityLevel } from './run-data.ts';
import { ROW_PX, STRIP_LABEL_PX, useStripCanvas } from './strip-canvas.ts';

const COLOURS: Record<ActivityLevel, string> = { error: LEVEL_COLOURS.error, warn: LEVEL_COLOURS.warn, info: LEVEL_COLOURS.info, none: '#161b24' };

export default function ActivityStrip({ grid, hungRanks }: { grid: ActivityGrid; hungRanks: number[] }) {
  const canvas = useStripCanvas(
    { rows: grid.ranks.length, buckets: grid.buckets, startS: grid.startS, stepS: grid.stepS },
    (context, cellPx) => {
      grid.ranks.forEach((rank, row) => {
        const y = row * ROW_PX;
        const hung = hungRanks.includes(rank);
        context.fillStyle = hung ? LEVEL_COLOURS.error : '#9aa4b2';
        const label = `rank ${rank}`;
        context.fillText(label, 2, y + ROW_PX / 2);
        if (hung) {
          // A pause sign as two bars: the ⏸ glyph is missing from common monospace fonts.
          const x = 2 + context.measureText(label).width + 4;
          context.fillRect(x, y + 3, 2, ROW_PX - 6);
          context.fillRect(x + 4, y + 3, 2, ROW_PX - 6);
        }
        grid.cells[row]!.forEach((cell, bucket) => {
          context.fillStyle = COLOURS[cell.level];
          context.fillRect(STRIP_LABEL_PX + bucket * cellPx, y + 1, Math.max(cellPx - 0.5, 0.5), ROW_PX - 2);
        });
      });
    },
    [grid, hungRanks],
  );
  return (
    <div className="activity-strip" data-testid="activity-strip" data-ranks={grid.ranks.length} data-error-cells={grid.cells.reduce((sum, row) => sum + row.filter((cell) => cell.level === 'error').length, 0)}>
      <canvas ref={canvas} />
    </div>
  );
}
