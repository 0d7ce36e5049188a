// Series points: sorted on read, thinned to a budget on read, bounded in memory on long runs (halved,
// non-finite values always kept), and the axis fixed by a series' first point.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_POINTS_PER_SERIES, packDecimal, PointSeries, RunSeries, unpackDecimal } from '../../src/training/series-store.ts';

test('points come back in x order and thinned evenly to the budget, first and last kept', () => {
  const series = new PointSeries('step');
  for (const step of [3, 1, 2, 5, 4]) series.add(step, step * 10);
  assert.deepEqual(series.points(100), [[1, 10], [2, 20], [3, 30], [4, 40], [5, 50]]);
  assert.deepEqual(series.points(3), [[1, 10], [3, 30], [5, 50]]);
});

test('a long series stays bounded and keeps its non-finite values', () => {
  const series = new PointSeries('step');
  const total = MAX_POINTS_PER_SERIES * 3;
  for (let step = 0; step < total; step++) series.add(step, step === total - 7 ? Number.NaN : 1);
  assert.ok(series.length <= MAX_POINTS_PER_SERIES, `${series.length} points kept`);
  assert.ok(series.length >= MAX_POINTS_PER_SERIES / 2);
  const points = series.points(Number.MAX_SAFE_INTEGER);
  assert.deepEqual(points[0], [0, 1]);
  assert.ok(points.some(([step, value]) => step === total - 7 && Number.isNaN(value)), 'the NaN point is kept');
});

test('a series is keyed by step or by time from its first point', () => {
  const run = new RunSeries();
  run.add('loss', 0, 1, 1e18, 2.5);
  run.add('loss', 0, undefined, 2e18, 2.4);
  run.add('lr', 0, undefined, 1e18, 1e-4);
  run.add('lr', 0, 7, 2e18, 2e-4);
  assert.equal(run.get('loss', 0)!.axis, 'step');
  assert.deepEqual(run.get('loss', 0)!.points(10), [[1, 2.5]], 'a step series ignores stepless points');
  assert.equal(run.get('lr', 0)!.axis, 'time');
  assert.deepEqual(run.get('lr', 0)!.points(10), [[1e18, 1e-4], [2e18, 2e-4]]);
  assert.deepEqual(run.names(), ['loss', 'lr']);
  assert.deepEqual(run.ranksOf('loss'), [0]);
});

test('a thinned series still answers the API default of 5,000 points per rank, and holds no more than the cap', () => {
  const series = new PointSeries('step');
  for (let step = 0; step < 1_000_000; step++) {
    series.add(step, step / 1e6);
    if (step === MAX_POINTS_PER_SERIES * 4 || step === 999_999) {
      assert.ok(series.length >= 5000 && series.length <= MAX_POINTS_PER_SERIES, `${series.length} points kept after ${step + 1}`);
      const points = series.points(5000);
      assert.equal(points.length, 5000);
      assert.deepEqual(points[0], [0, 0]);
      assert.ok(points.every(([x, value], i) => value === x / 1e6 && (i === 0 || x > points[i - 1]![0])), 'in step order, each value at its step');
    }
  }
});

test('values and steps stored narrow come back exactly; a point that does not fit widens its series, keeping the others (table)', () => {
  const values = [0, 1, -1, 8.7983, 1.5e-7, 1.50e-07, 43770, 63.35, 2.09543922808, 0.1 + 0.2, -0, 1e-20, 123456789.5, 2 ** 27, -(2 ** 27) + 1, 3.14159, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5e-324, 1e300];
  for (const value of values) {
    const packed = packDecimal(value);
    if (packed === packed) assert.ok(Object.is(unpackDecimal(packed), value), `${value} packs to ${packed}`);
  }
  assert.equal(unpackDecimal(packDecimal(8.7983)), 8.7983);
  assert.ok(Number.isNaN(packDecimal(2.09543922808)), 'too many digits: wide');
  assert.ok(Number.isNaN(packDecimal(-0)), '-0 is kept wide');
  for (const axis of ['step', 'time'] as const) {
    for (const widenAt of [-1, 0, 5, 70, 2000]) {
      const series = new PointSeries(axis);
      const want: Array<[number, number]> = [];
      for (let i = 0; i < 3000; i++) {
        const x = axis === 'time' ? 1.7676e18 + i * 256 : i === widenAt ? i + 0.5 : i;
        const value = i === widenAt ? values[i % values.length]! * 1.0000001 : values[i % values.length]!;
        series.add(x, value);
        want.push([x, value]);
      }
      assert.deepEqual(series.points(1e6), want, `${axis}, widened at ${widenAt}`);
    }
  }
});
