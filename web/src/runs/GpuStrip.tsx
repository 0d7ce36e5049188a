// Rank × time GPU utilization, drawn under the activity strip on the same time columns: one row per
// rank's GPU, dark slate when idle to bright cyan when busy, background where no sample fell. A rank
// that went silent gets a red tick at its last line, so "dark in the activity strip, bright here" (a
// rank stuck while its GPU spins, the NCCL-deadlock signature) reads at a glance.
import { useEffect, useRef } from 'react';
import { LEVEL_COLOURS } from '../charts/palette.ts';
import { STRIP_LABEL_PX } from './ActivityStrip.tsx';
import { utilizationColour, type GpuGrid } from './run-data.ts';

const ROW_PX = 14;
const NO_SAMPLE_COLOUR = '#161b24';
/** At or above this a cell counts as busy (the verdict's threshold). */
const BUSY_PERCENT = 80;
const IDLE_PERCENT = 10;

export default function GpuStrip({ grid, silentSinceS }: { grid: GpuGrid; silentSinceS: Map<number, number> }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const element = canvas.current;
    if (!element) return;
    const draw = () => {
      const widthPx = Math.max(element.parentElement?.clientWidth ?? 600, 300);
      const heightPx = grid.rows.length * ROW_PX + 18;
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
      grid.rows.forEach((row, index) => {
        const y = index * ROW_PX;
        const silentS = silentSinceS.get(row.rank);
        context.fillStyle = silentS !== undefined ? LEVEL_COLOURS.error : '#9aa4b2';
        context.fillText(row.label, 2, y + ROW_PX / 2);
        grid.cells[index]!.forEach((percent, bucket) => {
          context.fillStyle = percent === null ? NO_SAMPLE_COLOUR : utilizationColour(percent);
          context.fillRect(STRIP_LABEL_PX + bucket * cellPx, y + 1, Math.max(cellPx - 0.5, 0.5), ROW_PX - 2);
        });
        if (silentS !== undefined) {
          const bucket = (silentS - grid.startS) / grid.stepS;
          if (bucket >= 0 && bucket < grid.buckets) {
            context.fillStyle = LEVEL_COLOURS.error;
            context.fillRect(STRIP_LABEL_PX + bucket * cellPx, y, 2, ROW_PX);
          }
        }
      });
      context.fillStyle = '#9aa4b2';
      const startText = new Date(grid.startS * 1000).toLocaleTimeString();
      const endText = new Date((grid.startS + grid.stepS * (grid.buckets - 1)) * 1000).toLocaleTimeString();
      context.textAlign = 'left';
      context.fillText(startText, STRIP_LABEL_PX, grid.rows.length * ROW_PX + 9);
      context.textAlign = 'right';
      context.fillText(endText, widthPx - 2, grid.rows.length * ROW_PX + 9);
    };
    draw();
    const observer = new ResizeObserver(draw);
    if (element.parentElement) observer.observe(element.parentElement);
    return () => observer.disconnect();
  }, [grid, silentSinceS]);
  const cells = grid.cells.flat().filter((percent): percent is number => percent !== null);
  return (
    <div
      className="activity-strip"
      data-testid="gpu-strip"
      data-rows={grid.rows.length}
      data-busy-cells={cells.filter((percent) => percent >= BUSY_PERCENT).length}
      data-idle-cells={cells.filter((percent) => percent < IDLE_PERCENT).length}
    >
      <canvas ref={canvas} />
    </div>
  );
}

/** The colour scale, as a legend beside the panel's title. */
export function UtilizationLegend() {
  return (
    <span className="gpu-legend muted">
      0% <span className="gpu-legend-ramp" style={{ background: `linear-gradient(to right, ${utilizationColour(0)}, ${utilizationColour(50)}, ${utilizationColour(100)})` }} /> 100%
    </span>
  );
}
