// A heatmap of Prometheus histogram buckets: time across, one band per bucket (`le`) up the side,
// each cell shaded by the observations in that bucket and step. Drawn on a canvas sized to the panel.
import { useEffect, useMemo, useRef } from 'react';
import type { DataPanel } from '../dashboard-types.ts';
import { heatmapFromBuckets, trimEmptyBuckets, type PanelSeries } from '../panel-data.ts';
import { formatUnit } from '../units.ts';

const AXIS_LEFT_PX = 64;
const AXIS_BOTTOM_PX = 18;

/** Dark to orange, like Grafana's "Oranges" scheme on a dark theme. */
function shade(fraction: number): string {
  if (fraction <= 0) return '#161c28';
  const t = Math.sqrt(Math.min(1, fraction));
  const r = Math.round(60 + t * (255 - 60));
  const g = Math.round(35 + t * (152 - 35));
  const b = Math.round(20 + t * (48 - 20));
  return `rgb(${r}, ${g}, ${b})`;
}

export default function HeatmapPanel({ panel, series, heightPx }: { panel: DataPanel; series: PanelSeries[]; heightPx: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const heatmap = useMemo(() => trimEmptyBuckets(heatmapFromBuckets(series)), [series]);
  const unit = panel.display.unit === '' ? 's' : panel.display.unit;

  useEffect(() => {
    const element = canvas.current!;
    const draw = () => {
      const widthPx = element.parentElement!.clientWidth;
      const ratio = globalThis.devicePixelRatio || 1;
      element.width = widthPx * ratio;
      element.height = heightPx * ratio;
      element.style.width = `${widthPx}px`;
      element.style.height = `${heightPx}px`;
      const context = element.getContext('2d')!;
      context.scale(ratio, ratio);
      context.clearRect(0, 0, widthPx, heightPx);
      const { timesS, upperBounds, counts, maxCount } = heatmap;
      const plotWidth = widthPx - AXIS_LEFT_PX;
      const plotHeight = heightPx - AXIS_BOTTOM_PX;
      if (timesS.length === 0 || upperBounds.length === 0 || plotWidth <= 0) return;
      const cellWidth = plotWidth / timesS.length;
      const cellHeight = plotHeight / upperBounds.length;
      counts.forEach((row, bucket) => {
        row.forEach((count, time) => {
          context.fillStyle = shade(maxCount === 0 ? 0 : count / maxCount);
          context.fillRect(AXIS_LEFT_PX + time * cellWidth, plotHeight - (bucket + 1) * cellHeight, Math.max(1, cellWidth - 1), Math.max(1, cellHeight - 1));
        });
      });
      context.fillStyle = '#9aa4b2';
      context.font = '11px Inter, system-ui, sans-serif';
      context.textBaseline = 'middle';
      const labelEvery = Math.max(1, Math.ceil(14 / cellHeight));
      upperBounds.forEach((bound, bucket) => {
        if (bucket % labelEvery !== 0) return;
        context.fillText(Number.isFinite(bound) ? `≤ ${formatUnit(bound, unit)}` : '+Inf', 2, plotHeight - (bucket + 0.5) * cellHeight);
      });
      context.textBaseline = 'alphabetic';
      const ticks = Math.max(2, Math.floor(plotWidth / 110));
      for (let tick = 0; tick < ticks; tick++) {
        const index = Math.round((tick / (ticks - 1)) * (timesS.length - 1));
        const date = new Date(timesS[index]! * 1000);
        const withSeconds = timesS[timesS.length - 1]! - timesS[0]! < 600;
        const text = `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}${withSeconds ? `:${String(date.getSeconds()).padStart(2, '0')}` : ''}`;
        context.fillText(text, Math.min(widthPx - 50, AXIS_LEFT_PX + index * cellWidth), heightPx - 4);
      }
    };
    draw();
    const observer = new ResizeObserver(draw);
    observer.observe(element.parentElement!);
    return () => observer.disconnect();
  }, [heatmap, heightPx, unit]);

  return (
    <div className="heatmap-panel" data-testid="heatmap" data-buckets={heatmap.upperBounds.length} data-max-count={heatmap.maxCount}>
      <canvas ref={canvas} />
    </div>
  );
}
