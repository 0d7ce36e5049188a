// Colours shared by the charts and the log list, so "error" is the same red everywhere.
import type { Level } from '../logs/log-rows.ts';

export const LEVEL_COLOURS: Record<Level, string> = {
  error: '#f2495c',
  warn: '#ff9830',
  info: '#73bf69',
  debug: '#5794f2',
  unknown: '#8e8e8e',
};

const SERIES_COLOURS = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1', '#ba43a9', '#705da0', '#508642', '#cca300', '#447ebc', '#c15c17'];

export function seriesColour(index: number): string {
  return SERIES_COLOURS[index % SERIES_COLOURS.length];
}

export const AXIS_STYLE = { stroke: '#9aa4b2', grid: { stroke: '#232a36', width: 1 }, ticks: { stroke: '#232a36', width: 1 } };
