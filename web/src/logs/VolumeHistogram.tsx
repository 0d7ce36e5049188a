// Stacked bars of log lines per bucket, by level. Dragging across it zooms the time range.
import { useMemo } from 'react';
import uPlot from 'uplot';
import UPlotChart from '../charts/UPlotChart.tsx';
import { AXIS_STYLE, LEVEL_COLOURS } from '../charts/palette.ts';
import { STACK_ORDER, type VolumeBuckets } from './volume-data.ts';

export interface VolumeHistogramProps {
  buckets: VolumeBuckets;
  onZoom(fromMs: number, toMs: number): void;
}

export default function VolumeHistogram({ buckets, onZoom }: VolumeHistogramProps) {
  const present = STACK_ORDER.filter((level) => buckets.counts[level].some((count) => count > 0));
  // uPlot has no stacking: each level is drawn as the running total up to it, tallest first, so the
  // shorter bars paint over it and every band shows its own share.
  const data = useMemo(() => {
    const running = new Array<number>(buckets.timesS.length).fill(0);
    const stacked = present.map((level) => {
      buckets.counts[level].forEach((count, i) => (running[i] += count));
      return running.slice();
    });
    return [buckets.timesS, ...stacked.reverse()] as uPlot.AlignedData;
  }, [buckets, present.join(',')]);

  const options = useMemo<Omit<uPlot.Options, 'width' | 'height'>>(() => {
    const drawOrder = present.slice().reverse();
    const bars = uPlot.paths.bars!({ size: [0.9, 40], align: 0 });
    return {
      series: [
        {},
        ...drawOrder.map((level) => ({
          label: level,
          stroke: LEVEL_COLOURS[level],
          fill: LEVEL_COLOURS[level],
          paths: bars,
          points: { show: false },
          // The legend shows this level's own count, not the running total the bar is drawn at.
          value: (_plot: uPlot, _value: number | null, _series: number, index: number | null) =>
            index == null ? '–' : String(buckets.counts[level][index] ?? 0),
        })),
      ],
      axes: [AXIS_STYLE, { ...AXIS_STYLE, size: 50 }],
      scales: { x: { time: true } },
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      hooks: {
        setSelect: [
          (plot: uPlot) => {
            const { left, width } = plot.select;
            if (width < 3) return;
            const fromS = plot.posToVal(left, 'x');
            const toS = plot.posToVal(left + width, 'x');
            plot.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            onZoom(Math.round(fromS * 1000), Math.round(toS * 1000));
          },
        ],
      },
    };
  }, [buckets, present.join(','), onZoom]);

  return <UPlotChart options={options} data={data} heightPx={120} testId="volume-histogram" />;
}
