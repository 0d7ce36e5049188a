// The training-run page's pure data shaping, without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RankSeries } from '../../web/src/api/training-client.ts';
import { activityGrid, alignCurves, curvesOf, formatDuration, gpuGrid, MAX_RANK_LINES, pointNumber, sharedXRange, utilizationColour } from '../../web/src/runs/run-data.ts';

const series = (rank: number, points: RankSeries['points'], x: 'step' | 'time' = 'step'): RankSeries => ({ name: 'loss', rank, x, points });

test('a few ranks are drawn one line each, in rank order; many become a mean with a min–max band', () => {
  const few = curvesOf([series(1, [[1, 2], [2, 1.5]]), series(0, [[1, 3], [2, 'NaN']])]);
  assert.deepEqual(few.curves.map((curve) => curve.label), ['rank 0', 'rank 1']);
  assert.ok(Number.isNaN(few.curves[0]!.ys[1]!));
  assert.equal(few.band, undefined);
  const many = curvesOf(Array.from({ length: MAX_RANK_LINES + 1 }, (_, rank) => series(rank, [[10, rank], [20, rank * 2], [30, rank === 0 ? '+Inf' : 1]])));
  assert.equal(many.rankCount, MAX_RANK_LINES + 1);
  assert.deepEqual(many.band!.xs, [10, 20, 30]);
  assert.deepEqual(many.band!.min, [0, 0, 1]);
  assert.deepEqual(many.band!.max, [8, 16, 1]);
  assert.equal(many.band!.mean[0], 4);
  assert.equal(many.band!.mean[2], 1, 'non-finite values are left out of the band');
});

test('curves align on every x any of them has; times become Unix seconds', () => {
  assert.deepEqual(alignCurves([{ xs: [1, 3], ys: [10, 30] }, { xs: [2, 3], ys: [20, NaN] }]), [[1, 2, 3], [10, null, 30], [null, 20, null]]);
  const timed = curvesOf([series(0, [['2026-12-06T10:00:00.5Z', 1]], 'time')]);
  assert.equal(timed.x, 'time');
  assert.equal(timed.curves[0]!.xs[0], Date.UTC(2026, 11, 6, 10) / 1000 + 0.5);
  assert.deepEqual(['NaN', '+Inf', '-Inf', 2].map((value) => pointNumber(value as never)), [NaN, Infinity, -Infinity, 2]);
});

test('panels share the x range of their kind: steps with steps, times with times', () => {
  const steps = curvesOf([series(0, [[5, 1], [50, 1]])]);
  const moreSteps = curvesOf([series(0, [[1, 1], [40, 1]])]);
  const times = curvesOf([series(0, [[1_800_000_000, 1]], 'time')]);
  assert.deepEqual(sharedXRange([steps, moreSteps, times], 'step'), [1, 50]);
  assert.deepEqual(sharedXRange([steps, times], 'time'), [1_800_000_000, 1_800_000_001]);
  assert.equal(sharedXRange([steps], 'time'), undefined);
});

test('activity: a rank × time grid of the worst level per interval', () => {
  const grid = activityGrid(
    [
      { metric: { rank: '1', level: 'info' }, values: [[100, '5'], [110, '3']] },
      { metric: { rank: '1', level: 'error' }, values: [[110, '1']] },
      { metric: { rank: '0', level: 'warning' }, values: [[120, '2']] },
      { metric: { level: 'info' }, values: [[100, '9']] },
    ],
    100,
    120,
    10,
  );
  assert.deepEqual(grid.ranks, [0, 1]);
  assert.equal(grid.buckets, 3);
  assert.deepEqual(grid.cells[0]!.map((cell) => cell.level), ['none', 'none', 'warn']);
  assert.deepEqual(grid.cells[1]!.map((cell) => [cell.level, cell.lines]), [['info', 5], ['error', 4], ['none', 0]]);
});

test('durations read as people say them', () => {
  assert.deepEqual([4.25, 38, 125, 7384, undefined].map(formatDuration), ['4.3 s', '38 s', '2 min 5 s', '2 h 3 min', '–']);
});

test('GPU strip: rows per rank (and GPU when a rank has several) on the activity grid\'s buckets; no sample is null, not 0', () => {
  const grid = gpuGrid(
    [
      { rank: 1, gpu: '1', uuid: 'GPU-b', host: 'n0', points: [[100, 97], [110, 0]] },
      { rank: 0, gpu: '3', uuid: 'GPU-d', host: 'n0', points: [[100, 100], [130, 50], [500, 99]] },
      { rank: 0, gpu: '2', uuid: 'GPU-c', host: 'n0', points: [[90, 12]] },
    ],
    100,
    130,
    10,
  );
  assert.equal(grid.buckets, 4);
  assert.deepEqual(grid.rows.map((row) => row.label), ['rank 0/g2', 'rank 0/g3', 'rank 1']);
  assert.deepEqual(grid.cells, [
    [null, null, null, null],
    [100, null, null, 50],
    [97, 0, null, null],
  ]);
});

test('utilization colours run from dark (idle) to bright (busy), clamped', () => {
  assert.equal(utilizationColour(0), '#223048');
  assert.equal(utilizationColour(100), '#5fe0ff');
  assert.equal(utilizationColour(250), utilizationColour(100));
  assert.equal(utilizationColour(-5), utilizationColour(0));
  const brightness = (colour: string) => [1, 3, 5].reduce((sum, i) => sum + parseInt(colour.slice(i, i + 2), 16), 0);
  assert.ok(brightness(utilizationColour(30)) < brightness(utilizationColour(60)));
});
