import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelsHash, LabelSetMap, SeriesIndex } from '../../src/tsdb/series-index.ts';
import type { Labels, MetricLabelMatcher } from '../../src/tsdb/types.ts';

const series: Labels[] = [
  { __name__: 'up', job: 'node', instance: 'a' },
  { __name__: 'up', job: 'node', instance: 'b' },
  { __name__: 'up', job: 'dcgm', instance: 'a' },
  { __name__: 'gpu_util', job: 'dcgm', instance: 'a', gpu: '0' },
  { __name__: 'gpu_util', job: 'dcgm', instance: 'a', gpu: '1' },
];

const index = new SeriesIndex();
series.forEach((labels, id) => index.add(id + 1, labels));

const m = (name: string, type: MetricLabelMatcher['type'], value: string): MetricLabelMatcher => ({ name, type, value });

const cases: Array<[string, MetricLabelMatcher[], number[]]> = [
  ['equality', [m('__name__', '=', 'up')], [1, 2, 3]],
  ['intersection', [m('__name__', '=', 'up'), m('job', '=', 'node')], [1, 2]],
  ['regex, anchored', [m('job', '=~', 'd.*')], [3, 4, 5]],
  ['regex not anchored at the end does not match a prefix', [m('job', '=~', 'dc')], []],
  ['negative equality subtracts', [m('__name__', '=', 'up'), m('instance', '!=', 'a')], [2]],
  ['label absent matches empty', [m('job', '=', 'dcgm'), m('gpu', '=', '')], [3]],
  ['label present', [m('gpu', '!=', '')], [4, 5]],
  ['only empty-matching matchers start from all series', [m('gpu', '!~', '1')], [1, 2, 3, 4]],
  ['(?i) flag', [m('job', '=~', '(?i)NODE')], [1, 2]],
  ['no match', [m('__name__', '=', 'missing')], []],
];

for (const [name, matchers, expected] of cases) {
  test(`series index: ${name}`, () => assert.deepEqual(index.select(matchers), expected));
}

test('series index: label names and values are sorted; removal updates postings', () => {
  assert.deepEqual(index.labelNames(), ['__name__', 'gpu', 'instance', 'job']);
  assert.deepEqual(index.labelValues('job'), ['dcgm', 'node']);
  assert.deepEqual(index.labelValues('gpu', [1, 2, 4]), ['0']);
  const copy = new SeriesIndex();
  series.forEach((labels, id) => copy.add(id + 1, labels));
  copy.remove(new Set([4, 5]));
  assert.deepEqual(copy.labelNames(), ['__name__', 'instance', 'job']);
  assert.deepEqual(copy.select([m('job', '=', 'dcgm')]), [3]);
});

test('label-set map: order-independent hash, collisions verified by comparing labels', () => {
  assert.equal(labelsHash({ a: '1', b: '2' }), labelsHash({ b: '2', a: '1' }));
  assert.notEqual(labelsHash({ a: '1', b: '2' }), labelsHash({ a: '12' }));
  const map = new LabelSetMap<{ labels: Labels; n: number }>();
  const x = { labels: { a: '1' }, n: 1 };
  const y = { labels: { a: '2' }, n: 2 };
  map.add(x, 42);
  map.add(y, 42); // forced collision
  assert.equal(map.get({ a: '1' }, 42), x);
  assert.equal(map.get({ a: '2' }, 42), y);
  assert.equal(map.get({ a: '3' }, 42), undefined);
  assert.equal(map.get({ a: '1', b: '' }, 42), undefined, 'an extra label is another set');
  map.delete(x, 42);
  assert.equal(map.get({ a: '1' }, 42), undefined);
  assert.equal(map.get({ a: '2' }, 42), y);
  assert.equal(map.size, 1);
});
