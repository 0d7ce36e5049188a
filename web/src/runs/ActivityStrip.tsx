// Rank × time: one row per rank, one cell per time bucket, coloured by the worst level the rank logged
// there (red error, orange warning, green info; dark when silent). A rank that stops logging shows as
// a row that ends early; hung ranks are marked. Drawn on a canvas: 64 ranks × 300 buckets is 19,200 cells.
import { useEffect, useRef } from 'react';
import { LEVEL_COLOURS } from '../charts/palette.ts';
import type { ActivityGrid, ActivityLevel } from './run-data.ts';

const ROW_PX = 14;
/** Width of the rank labels; the GPU strip uses the same so their time columns line up. */
export const STRIP_LABEL_PX = 64;
const COLOURS: Record<ActivityLevel, string> = { error: LEVEL_COLOURS.error, warn: LEVEL_COLOURS.warn, info: LEVEL_COLOURS.info, none: '#161b24' };

export default function ActivityStrip({ grid, hungRanks }: { grid: ActivityGrid; hungRanks: number[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const element = canvas.current;
    if (!element) return;
    const draw = () => {
      const widthPx = Math.max(element.parentElement?.clientWidth ?? 600, 300);
      const heightPx = grid.ranks.length * ROW_PX + 18;
      const ratio = window.devicePixelRatio || 1;
      element.width = widthPx * ratio;
      element.height = heightPx * ratio;
      element.style.width = `${widthPx}px`;
      element.style.height = `${heightPx}px`;
      const context = element.getContext('2d')!;
      context.scale(ratio, ratio);
      context.clearRect(0, 0, widthPx, heightPx);
      const cellPx = (widthPx - STRIP_LABEL_PX) / grid.buckets;
      context.font = '11px monospace';
      context.textBaseline = 'middle';
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
      context.fillStyle = '#9aa4b2';
      const startText = new Date(grid.startS * 1000).toLocaleTimeString();
      const endText = new Date((grid.startS + grid.stepS * (grid.buckets - 1)) * 1000).toLocaleTimeString();
      context.fillText(startText, STRIP_LABEL_PX, grid.ranks.length * ROW_PX + 9);
      context.textAlign = 'right';
      context.fillText(endText, widthPx - 2, grid.ranks.length * ROW_PX + 9);
    };
    draw();
    const observer = new ResizeObserver(draw);
    if (element.parentElement) observer.observe(element.parentElement);
    return () => observer.disconnect();
  }, [grid, hungRanks]);
  return (
    <div className="activity-strip" data-testid="activity-strip" data-ranks={grid.ranks.length} data-error-cells={grid.cells.reduce((sum, row) => sum + row.filter((cell) => cell.level === 'error').length, 0)}>
      <canvas ref={canvas} />
    </div>
  );
}
