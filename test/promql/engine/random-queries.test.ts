// Robustness: queries generated from a small PromQL grammar (fixed seed) over floats, a classic
// histogram, a native histogram and a staleness marker, run as instant and range queries. Every one
// must either answer or fail with a PromQL error (parse or execution); any other exception is a bug.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PromQLEngine, PromQLParseError, PromQLQueryError } from '../../../src/promql/index.ts';
import { MemorySource } from '../memory-source.ts';

function generator(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
}

function dataset(): MemorySource {
  const source = new MemorySource();
  for (let t = 0; t < 900_000; t += 15_000) {
    source.append({ __name__: 'foo', a: 'x', le: '1' }, t, t / 1000);
    source.append({ __name__: 'foo', a: 'y', le: '+Inf' }, t, (2 * t) / 1000);
    source.append({ __name__: 'bar_total', a: 'x' }, t, t % 120_000);
    if (t % 60_000 === 0) {
      source.appendHistogram({ __name__: 'h', a: 'x' }, t, {
        schema: 0,
        zeroThreshold: 0.001,
        zeroCount: 1,
        count: 4 + t / 1000,
        sum: 10,
        positiveSpans: [{ offset: 0, length: 2 }],
        positiveBuckets: [1, 2 + t / 1000],
        negativeSpans: [],
        negativeBuckets: [],
      });
    }
  }
  source.append({ __name__: 'foo', a: 'x', le: '1' }, 450_000, NaN, true);
  return source;
}

function queryGenerator(random: () => number): () => string {
  const pick = <T,>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const selector = (): string => pick(['foo', 'bar_total', 'h', '{a="x"}', 'foo{le=~".+"}', 'nothing', '{__name__=~"foo|h"}']);
  const instantFunctions = ['abs', 'ceil', 'sort', 'sort_desc', 'timestamp', 'absent', 'histogram_count', 'histogram_sum', 'exp', 'sgn'];
  const rangeFunctions = ['rate', 'increase', 'delta', 'irate', 'idelta', 'deriv', 'changes', 'resets', 'avg_over_time', 'sum_over_time', 'max_over_time',
    'last_over_time', 'count_over_time', 'stddev_over_time', 'mad_over_time', 'present_over_time', 'absent_over_time', 'first_over_time'];
  const vector = (depth: number): string => {
    if (depth > 3) return selector();
    switch (Math.floor(random() * 11)) {
      case 0:
        return selector() + pick(['', ' offset 1m', ' @ 300', ' @ end()', ' offset -2m', ' smoothed']);
      case 1:
        return `${pick(instantFunctions)}(${vector(depth + 1)})`;
      case 2:
        return `${pick(rangeFunctions)}(${selector()}[${pick(['1m', '5m', '30s', '1h'])}]${pick(['', ' anchored', ' smoothed', ' offset 1m'])})`;
      case 3:
        return `${pick(rangeFunctions)}((${vector(depth + 1)})[${pick(['5m', '2m'])}:${pick(['', '30s', '1m'])}])`;
      case 4:
        return `${pick(['sum', 'avg', 'max', 'min', 'count', 'group', 'stddev'])} by (${pick(['a', 'le', '__name__', ''])}) (${vector(depth + 1)})`;
      case 5:
        return `${vector(depth + 1)} ${pick(['+', '-', '*', '/', '%', '^', '>', '== bool', 'and', 'or', 'unless', 'atan2', '</'])} ${pick(['', 'on(a) ', 'ignoring(le) '])}${vector(depth + 1)}`;
      case 6:
        return `${vector(depth + 1)} ${pick(['+', '>', '/', '>/'])} ${pick(['1', '0', 'NaN', '-Inf', 'scalar(foo)', 'time()'])}`;
      case 7:
        return `${pick(['topk', 'bottomk', 'limitk', 'quantile', 'limit_ratio'])}(${pick(['1', '0.5', '2', 'scalar(bar_total)'])}, ${vector(depth + 1)})`;
      case 8:
        return `histogram_quantile(${pick(['0.5', '0.99', '2'])}, ${vector(depth + 1)})`;
      case 9:
        return `label_replace(${vector(depth + 1)}, "b", "$1", "a", "(.*)")`;
      default:
        return `count_values("v", ${vector(depth + 1)})`;
    }
  };
  return () => vector(0);
}

test('generated queries answer or fail with a PromQL error, never crash', async () => {
  const engine = new PromQLEngine(dataset(), { timeoutMs: 10_000 });
  const next = queryGenerator(generator(7));
  let answered = 0;
  for (let n = 0; n < 600; n++) {
    const query = next();
    try {
      await engine.instantQuery('t', query, 600_000);
      await engine.rangeQuery('t', query, 0, 900_000, 30_000);
      answered++;
    } catch (error) {
      assert.ok(error instanceof PromQLQueryError || error instanceof PromQLParseError, `${query}: ${(error as Error).stack}`);
    }
  }
  // The grammar mostly builds valid queries; if almost none answer, the generator or engine broke.
  assert.ok(answered > 300, `only ${answered} of 600 generated queries answered`);
});
