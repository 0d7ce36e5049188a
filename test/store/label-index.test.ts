import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LabelIndex } from '../../src/store/label-index.ts';
import { compileMatcher } from '../../src/store/label-matcher.ts';
import type { LabelMatcher } from '../../src/store/types.ts';

const matcher = (name: string, type: LabelMatcher['type'], value: string): LabelMatcher => ({ name, type, value });

/**
 * Streams of a training job: `pod` has more distinct values than a name keeps in a map (so its
 * postings are hash chains), `node` and `rank` few; `extra` is on some streams only.
 */
function jobIndex(streams: number): LabelIndex {
  const index = new LabelIndex();
  for (let s = 0; s < streams; s++) {
    const labels: Record<string, string> = { namespace: 'training', pod: `job-${s >> 3}-worker-${s & 7}`, node: `node-${s % 5}`, rank: String(s & 7) };
    if (s % 100 === 0) labels.extra = 'yes';
    index.note({ id: `id-${s}`, labels }, BigInt(s), BigInt(s) + 10n);
  }
  return index;
}

const STREAMS = 3000;
const index = jobIndex(STREAMS);
const expected = (keep: (s: number) => boolean): string[] => {
  const ids: string[] = [];
  for (let s = 0; s < STREAMS; s++) if (keep(s)) ids.push(`id-${s}`);
  return ids;
};

const cases: Array<[string, LabelMatcher[], (s: number) => boolean]> = [
  ['no matchers: every stream', [], () => true],
  ['equality on a low-cardinality name', [matcher('node', '=', 'node-3')], (s) => s % 5 === 3],
  ['equality on a high-cardinality name', [matcher('pod', '=', 'job-17-worker-5')], (s) => s === 17 * 8 + 5],
  ['equality on a value no stream has', [matcher('pod', '=', 'job-17-worker-9')], () => false],
  ['regex on a high-cardinality name', [matcher('pod', '=~', 'job-1[0-2]-worker-.*')], (s) => s >> 3 >= 10 && s >> 3 <= 12],
  ['negative regex on a high-cardinality name', [matcher('pod', '!~', 'job-.*-worker-[0-6]')], (s) => (s & 7) === 7],
  ['intersection of two names', [matcher('rank', '=', '3'), matcher('node', '=~', 'node-[01]')], (s) => (s & 7) === 3 && s % 5 <= 1],
  ['a name only some streams carry', [matcher('extra', '=', 'yes')], (s) => s % 100 === 0],
  ['!= matches streams without the label', [matcher('extra', '!=', 'yes'), matcher('rank', '=', '0')], (s) => s % 100 !== 0 && (s & 7) === 0],
  ['empty-matching regex keeps streams without the label', [matcher('extra', '=~', 'yes|'), matcher('node', '=', 'node-0')], (s) => s % 5 === 0],
  ['an unknown name matches nothing', [matcher('absent', '=', 'x')], () => false],
  ['an unknown name with != matches everything', [matcher('absent', '!=', 'x'), matcher('node', '=', 'node-4')], (s) => s % 5 === 4],
];

for (const [name, matchers, keep] of cases) {
  test(`label index: ${name}`, () => {
    assert.deepEqual([...index.match(matchers.map(compileMatcher))].sort(), expected(keep).sort());
  });
}

test('label index: streams are found by id, keep their widest time range, and are added once', () => {
  const small = new LabelIndex();
  const info = { id: 'a', labels: { job: 'x' } };
  assert.equal(small.timeRange('a'), undefined);
  assert.ok(small.add(info));
  assert.ok(!small.add({ id: 'a', labels: { job: 'x' } }));
  assert.equal(small.timeRange('a'), undefined, 'no entry noted yet');
  small.note(info, 50n, 60n);
  small.note({ id: 'a', labels: { job: 'x' } }, 40n, 55n);
  small.note(info, 52n, 70n);
  assert.deepEqual(small.timeRange('a'), { minTimeNs: 40n, maxTimeNs: 70n });
  assert.equal(small.info('a'), info);
  assert.equal(small.info('b'), undefined);
  assert.equal(small.size, 1);
  assert.deepEqual([...small.match([compileMatcher(matcher('job', '=', 'x'))])], ['a']);
  assert.equal(index.size, STREAMS);
  for (const s of [0, 1, 1023, 1024, 2999]) assert.deepEqual(index.timeRange(`id-${s}`), { minTimeNs: BigInt(s), maxTimeNs: BigInt(s) + 10n });
});

test('label index: serialized and read back, it answers the same', () => {
  const copy = LabelIndex.deserialize(index.serialize());
  assert.equal(copy.size, STREAMS);
  assert.equal(copy.version, STREAMS);
  for (const [, matchers] of cases) {
    const compiled = matchers.map(compileMatcher);
    assert.deepEqual([...copy.match(compiled)].sort(), [...index.match(compiled)].sort());
  }
  assert.deepEqual(copy.info('id-7'), index.info('id-7'));
});
