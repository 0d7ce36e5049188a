import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Labels } from '../../../src/push/types.ts';
import { hashWithout, LabelSetTable, labelSetHash, sameValues, sameWithout, valuesHash } from '../../../src/promql/engine/label-set-table.ts';
import { sameLabels } from '../../../src/tsdb/series-index.ts';

const cases: Array<{ name: string; a: Labels; b: Labels; same: boolean; on?: string[]; without?: string[] }> = [
  { name: 'equal sets, names in another order', a: { job: 'a', instance: 'x' }, b: { instance: 'x', job: 'a' }, same: true },
  { name: 'one value differs', a: { job: 'a', instance: 'x' }, b: { job: 'a', instance: 'y' }, same: false },
  { name: 'a subset', a: { job: 'a' }, b: { job: 'a', instance: 'x' }, same: false },
  { name: 'a value moved to another name', a: { job: 'a', instance: '' }, b: { job: '', instance: 'a' }, same: false },
  { name: 'name and value boundaries', a: { ab: 'c' }, b: { a: 'bc' }, same: false },
  { name: 'on: equal listed values', a: { job: 'a', instance: 'x', gpu: '0' }, b: { gpu: '0', instance: 'x', job: 'b' }, on: ['instance', 'gpu'], same: true },
  { name: 'on: a missing label equals an empty value', a: { job: 'a' }, b: { job: 'a', gpu: '' }, on: ['job', 'gpu'], same: true },
  { name: 'on: values concatenating alike', a: { x: 'ab', y: 'c' }, b: { x: 'a', y: 'bc' }, on: ['x', 'y'], same: false },
  { name: 'without: the excluded names ignored', a: { __name__: 'm', le: '1', job: 'a' }, b: { __name__: 'n', le: '2', job: 'a' }, without: ['__name__', 'le'], same: true },
  { name: 'without: one more kept label', a: { le: '1', job: 'a' }, b: { le: '1', job: 'a', code: '200' }, without: ['le'], same: false },
];

for (const { name, a, b, same, on, without } of cases) {
  test(`label set equivalence: ${name}`, () => {
    const hash = on ? (l: Labels) => valuesHash(l, on) : without ? (l: Labels) => hashWithout(l, without) : labelSetHash;
    const equal = on ? sameValues(a, b, on) : without ? sameWithout(a, b, without) : sameLabels(a, b);
    assert.equal(equal, same);
    assert.equal(on ? sameValues(b, a, on) : without ? sameWithout(b, a, without) : sameLabels(b, a), same);
    if (same) assert.equal(hash(a), hash(b));
    const table = new LabelSetTable<string>(hash, on ? (x, y) => sameValues(x, y, on) : without ? (x, y) => sameWithout(x, y, without) : sameLabels);
    table.getOrAdd(a, () => 'a');
    assert.equal(table.getOrAdd(b, () => 'b'), same ? 'a' : 'b');
    assert.equal(table.size, same ? 1 : 2);
  });
}

test('label set table: every entry found under colliding hashes, in insertion order', () => {
  const table = new LabelSetTable<number>(() => 7, sameLabels);
  const sets: Labels[] = [{ job: 'a' }, { job: 'b' }, { job: 'a', instance: 'x' }, {}];
  sets.forEach((labels, i) => table.add(labels, i));
  sets.forEach((labels, i) => assert.equal(table.get({ ...labels }), i));
  assert.equal(table.get({ job: 'c' }), undefined);
  assert.deepEqual(table.values(), [0, 1, 2, 3]);
  assert.deepEqual([0, 1, 2, 3].map((i) => table.labelsAt(i)), sets);
});

test('label set hashes are small integers', () => {
  const sets: Labels[] = [{}, { a: 'b' }, { __name__: 'x'.repeat(500), job: '\u00e9\u{1f600}' }];
  for (const labels of sets) {
    const hash = labelSetHash(labels);
    assert.ok(Number.isInteger(hash) && hash >= 0 && hash < 2 ** 30, String(hash));
  }
});
