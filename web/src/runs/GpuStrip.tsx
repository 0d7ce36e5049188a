// Rank × time GPU utilization, drawn under the activity strip on the same time columns: one row per
// rank's GPU, dark slate when idle to bright cyan when busy, background where no sample fell. A rank
// that went silent gets a red tick at its last line, so "dark in the activity strip, bright here" (a
// rank stuck while its GPU spins, the NCCL-deadlock signature) reads at a glance.
import { LEVEL_COLOURS } from '../charts/palette.ts';
import { utilizationColour, type GpuGrid } from './run-data.ts';
import { ROW_PX, STRIP_LABEL_PX, useStripCanvas } from './strip-canvas.ts';

const NO_SAMPLE_COLOUR = '#161b24';
/** At or above this a cell counts as busy (the verdict's threshold). */
const BUSY_PERCENT = 80;
const IDLE_PERCENT = 10;

export default function GpuStrip({ grid, silentSinceS }: { grid: GpuGrid; silentSinceS: Map<number, number> }) {
  const canvas = useStripCanvas(
    { rows: grid.rows.length, buckets: grid.buckets, startS: grid.startS, stepS: grid.stepS },
    (context, cellPx) => {
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
    },
    [grid, silentSinceS],
  );
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
