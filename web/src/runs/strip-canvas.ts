// The canvas both rank × time strips draw on (activity, GPU utilization): sized to its container at
// the device's pixel ratio, redrawn on resize, one row of ROW_PX per rank after a STRIP_LABEL_PX label
// column, and the first and last bucket's times under the rows. Sharing the geometry keeps the two
// strips' time columns aligned.
import { useEffect, useRef, type DependencyList } from 'react';

export const ROW_PX = 14;
/** Width of the rank labels. */
export const STRIP_LABEL_PX = 64;
const AXIS_COLOUR = '#9aa4b2';

export interface StripGeometry {
  rows: number;
  buckets: number;
  startS: number;
  stepS: number;
}

/** Draws the strip's rows with `drawRows(context, cellPx, widthPx)`; returns the canvas ref. */
export function useStripCanvas(geometry: StripGeometry, drawRows: (context: CanvasRenderingContext2D, cellPx: number, widthPx: number) => void, deps: DependencyList) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const element = canvas.current;
    if (!element) return;
    const draw = () => {
      const widthPx = Math.max(element.parentElement?.clientWidth ?? 600, 300);
      const heightPx = geometry.rows * ROW_PX + 18;
      const ratio = window.devicePixelRatio || 1;
      element.width = widthPx * ratio;
      element.height = heightPx * ratio;
      element.style.width = `${widthPx}px`;
      element.style.height = `${heightPx}px`;
      const context = element.getContext('2d')!;
      context.scale(ratio, ratio);
      context.clearRect(0, 0, widthPx, heightPx);
      context.font = '11px monospace';
      context.textBaseline = 'middle';
      drawRows(context, (widthPx - STRIP_LABEL_PX) / geometry.buckets, widthPx);
      context.fillStyle = AXIS_COLOUR;
      const startText = new Date(geometry.startS * 1000).toLocaleTimeString();
      const endText = new Date((geometry.startS + geometry.stepS * (geometry.buckets - 1)) * 1000).toLocaleTimeString();
      context.textAlign = 'left';
      context.fillText(startText, STRIP_LABEL_PX, geometry.rows * ROW_PX + 9);
      context.textAlign = 'right';
      context.fillText(endText, widthPx - 2, geometry.rows * ROW_PX + 9);
    };
    draw();
    const observer = new ResizeObserver(draw);
    if (element.parentElement) observer.observe(element.parentElement);
    return () => observer.disconnect();
  }, deps);
  return canvas;
}
