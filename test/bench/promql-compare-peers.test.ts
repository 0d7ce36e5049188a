import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareAnswers, type ApiAnswer, type QuerySpec } from '../../bench/promql-compare-peers.ts';

type Step = Record<string, string>;

/** A range answer from per-step choices: `[{a: '1', b: '2'}, …]`, one object per step (time 60·i). */
function matrix(steps: Step[]): ApiAnswer {
  const series = new Map<string, Array<[number, string]>>();
  steps.forEach((step, i) => {
    for (const [name, value] of Object.entries(step)) {
      if (!series.has(name)) series.set(name, []);
      series.get(name)!.push([60 * i, value]);
    }
  });
  return {
    httpStatus: 200,
    status: 'success',
    data: { resultType: 'matrix', result: [...series].map(([name, values]) => ({ metric: { instance: name }, values })) },
  };
}

const range = { startMs: 0, endMs: 120_000, stepMs: 60_000 };
const topk: QuerySpec = { id: 'topk', query: 'topk(2, rate(x[5m]))', range };
const bottomkBy: QuerySpec = { id: 'bottomk', query: 'bottomk by (job) (1, x)', range };
const plain: QuerySpec = { id: 'plain', query: 'rate(x[5m])', range };

const cases: Array<{ name: string; spec: QuerySpec; ours: Step[]; theirs: Step[]; agree: boolean }> = [
  { name: 'identical answers', spec: topk, ours: [{ a: '3', b: '2' }], theirs: [{ a: '3', b: '2' }], agree: true },
  { name: 'a tie for the last place, each side keeping another series', spec: topk, ours: [{ a: '3', b: '2' }, { a: '3', b: '1' }], theirs: [{ a: '3', c: '2' }, { a: '3', b: '1' }], agree: true },
  { name: 'a tie within float tolerance', spec: topk, ours: [{ a: '3', b: '0.8524912280701755' }], theirs: [{ a: '3', c: '0.8524912280701756' }], agree: true },
  { name: 'bottomk by: a tie in one group', spec: bottomkBy, ours: [{ a: '1', c: '5' }], theirs: [{ b: '1', c: '5' }], agree: true },
  { name: 'another series with another value is no tie', spec: topk, ours: [{ a: '3', b: '2' }], theirs: [{ a: '3', c: '2.5' }], agree: false },
  { name: 'a series both chose with different values', spec: topk, ours: [{ a: '3', b: '2' }], theirs: [{ a: '3', b: '2.5' }], agree: false },
  { name: 'a step with fewer series', spec: topk, ours: [{ a: '3', b: '2' }, { a: '3' }], theirs: [{ a: '3', b: '2' }, { a: '3', b: '1' }], agree: false },
  { name: 'a step only one side answers', spec: topk, ours: [{ a: '3', b: '2' }, { a: '3', b: '1' }], theirs: [{ a: '3', b: '2' }], agree: false },
  { name: 'not a topk: a swapped series is a difference', spec: plain, ours: [{ a: '3', b: '2' }], theirs: [{ a: '3', c: '2' }], agree: false },
];

for (const { name, spec, ours, theirs, agree } of cases) {
  test(`compareAnswers: ${name}`, () => {
    const differences = compareAnswers(spec, matrix(ours), matrix(theirs));
    assert.equal(differences.length === 0, agree, differences.join('\n'));
  });
}
