import assert from 'node:assert/strict';
import test from 'node:test';
import { QueryError } from '../../../src/logql/api.ts';
import type { Expr } from '../../../src/logql/syntax/ast.ts';
import { MAX_QUERY_BYTES, parseExpr, parseSelector } from '../../../src/logql/syntax/parser.ts';

function parseError(query: string): string {
  try {
    parseExpr(query);
  } catch (error) {
    assert.ok(error instanceof QueryError, `expected QueryError, got ${String(error)}`);
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(query)} to fail`);
}

test('log query AST', () => {
  const expr = parseExpr('{job="train", rank=~"0|1"} |= "loss" or "Loss" != ip("10.0.0.0/8") | logfmt --strict a, b="c" | loss > 0.5 and step >= 10, t < 2s or size > 1KB | line_format "{{.loss}}" | label_format x=y,z="{{.a}}" | drop __error__, c="d" | keep a | decolorize');
  assert.deepEqual(expr, {
    kind: 'log',
    matchers: [
      { name: 'job', type: '=', value: 'train' },
      { name: 'rank', type: '=~', value: '0|1' },
    ],
    pipeline: [
      { kind: 'lineFilter', op: '|=', values: [{ kind: 'text', value: 'loss' }, { kind: 'text', value: 'Loss' }] },
      { kind: 'lineFilter', op: '!=', values: [{ kind: 'ip', pattern: '10.0.0.0/8' }] },
      { kind: 'logfmt', strict: true, keepEmpty: false, params: [{ label: 'a', expression: 'a' }, { label: 'b', expression: 'c' }] },
      {
        kind: 'labelFilter',
        filter: {
          kind: 'and',
          left: { kind: 'number', name: 'loss', op: '>', value: 0.5 },
          // Loki's grammar gives `,` no precedence: it takes everything to its right, `or` included.
          right: {
            kind: 'and',
            left: { kind: 'number', name: 'step', op: '>=', value: 10 },
            right: {
              kind: 'or',
              left: { kind: 'duration', name: 't', op: '<', valueNs: 2_000_000_000n },
              right: { kind: 'bytes', name: 'size', op: '>', valueBytes: 1000 },
            },
          },
        },
      },
      { kind: 'lineFormat', template: '{{.loss}}' },
      { kind: 'labelFormat', ops: [{ kind: 'rename', dst: 'x', src: 'y' }, { kind: 'template', dst: 'z', template: '{{.a}}' }] },
      { kind: 'drop', labels: [{ name: '__error__' }, { name: 'c', matcher: { name: 'c', type: '=', value: 'd' } }] },
      { kind: 'keep', labels: [{ name: 'a' }] },
      { kind: 'decolorize' },
    ],
  } satisfies Expr);
});

test('metric query AST: ranges, unwrap, offset, aggregation, vector matching, folding', () => {
  const expr = parseExpr(
    'sum by (rank) (avg_over_time({job="train"} | pattern "<_> loss=<loss>" | unwrap duration(loss) | __error__="" [1m] offset 5m)) / on (rank) group_left (node) count_over_time({job="train"}[1m]) > bool 2 * 3',
  );
  assert.equal(expr.kind, 'binary');
  if (expr.kind !== 'binary') return;
  // `>` binds looser than `/`, and `2 * 3` folds to 6.
  assert.equal(expr.op, '>');
  assert.equal(expr.returnBool, true);
  assert.deepEqual(expr.right, { kind: 'literal', value: 6 });
  const division = expr.left;
  assert.equal(division.kind, 'binary');
  if (division.kind !== 'binary') return;
  assert.deepEqual(division.matching, { cardinality: 'many-to-one', on: true, labels: ['rank'], include: ['node'] });
  const sum = division.left;
  assert.equal(sum.kind, 'vectorAggregation');
  if (sum.kind !== 'vectorAggregation' || sum.expr.kind !== 'rangeAggregation') return assert.fail('shape');
  assert.deepEqual(sum.grouping, { without: false, labels: ['rank'] });
  const range = sum.expr.range;
  assert.equal(range.rangeNs, 60_000_000_000n);
  assert.equal(range.offsetNs, 300_000_000_000n);
  assert.deepEqual(range.unwrap, {
    label: 'loss',
    conversion: 'duration',
    postFilters: [{ kind: 'string', matcher: { name: '__error__', type: '=', value: '' } }],
  });
});

test('range written after the selector or after the pipeline is the same range', () => {
  assert.deepEqual(parseExpr('count_over_time({a="b"}[5m] |= "x")'), parseExpr('count_over_time({a="b"} |= "x" [5m])'));
  assert.deepEqual(parseExpr('count_over_time(({a="b"} |= "x")[5m])'), parseExpr('count_over_time({a="b"} |= "x" [5m])'));
});

test('syntax errors carry Loki wording and line/column', () => {
  const table: Array<[string, string]> = [
    ['{foo="bar"', 'parse error at line 1, col 11: syntax error: unexpected $end, expecting } or ,'],
    ['{foo="bar"} |~', 'parse error at line 1, col 15: syntax error: unexpected $end, expecting STRING or ip'],
    ['{a="b"}\n  | json\n  | foo', 'parse error at line 3, col 8: syntax error: unexpected $end'],
    ['min({ foo = "bar" }[5m])', 'parse error at line 0, col 20: syntax error: unexpected RANGE'],
    ['sum(rate({a="b"}[5m])) by (offset)', 'parse error at line 1, col 28: syntax error: unexpected offset, expecting IDENTIFIER or )'],
  ];
  for (const [query, message] of table) assert.equal(parseError(query), message, query);
  try {
    parseExpr('{a="b"}\n  | json\n  | foo');
  } catch (error) {
    assert.ok(error instanceof QueryError);
    assert.equal(error.line, 3);
    assert.equal(error.column, 8);
  }
});

test('parse-time validation', () => {
  const table: Array<[string, string]> = [
    ['{a!="b"}', 'parse error : queries require at least one regexp or equality matcher'],
    ['{a=~"(x"}', 'parse error : error parsing regexp: missing closing ): `^(?s:(x)$`'],
    ['{a="b"} | x=~"[z-a]"', 'parse error : error parsing regexp: invalid character class range: `z-a`'],
    ['{a="b"} | regexp "(\\\\d+)"', 'parse error : invalid regexp parser: at least one named capture must be supplied'],
    ['{a="b"} | pattern "<a><b>"', "parse error : invalid pattern parser: found consecutive capture '<a><b>': invalid expression"],
    ['{a="b"} | label_format x=y, x="{{.z}}"', "parse error : stage '| label_format x=y,x=\"{{.z}}\"' : multiple label name 'x' not allowed in a single format operation"],
    ['rate({a="b"} | label_format __error__=x [1m])', "parse error : stage '| label_format __error__=x' : __error__ cannot be formatted"],
    ['rate({a="b"} | unwrap x [1m]) by (y)', 'parse error : grouping not allowed for rate aggregation'],
    ['count_over_time({a="b"} | unwrap x [1m])', 'parse error : invalid aggregation count_over_time with unwrap'],
    ['max_over_time({a="b"}[1m])', 'parse error : invalid aggregation max_over_time without unwrap'],
    ['topk(0, rate({a="b"}[1m]))', 'parse error : invalid parameter (must be greater than 0) topk(0'],
    ['rate({a="b"}[1m]) and 1', 'parse error : unexpected literal for right leg of logical/set binary operation (and): 1.000000'],
    ['{a="b"} |= "x" + 1', 'parse error : unexpected type for left leg of binary operation (+): *syntax.PipelineExpr'],
    [`{a="${'x'.repeat(MAX_QUERY_BYTES)}"}`, `parse error : input size too long (${MAX_QUERY_BYTES + 6} > ${MAX_QUERY_BYTES})`],
    ['('.repeat(5000) + '1' + ')'.repeat(5000), 'parse error : query nests too deeply (more than 1000 levels)'],
    // Loops build left-deep trees without recursion; their height is bounded too.
    [`${'vector(1)+'.repeat(13000)}vector(1)`, 'parse error : query nests too deeply (more than 1000 levels)'],
    [`{a="b"} | ${'x="y" and '.repeat(3000)}x="y"`, 'parse error : query nests too deeply (more than 1000 levels)'],
    [`{a="b"} | ${'x="y" '.repeat(3000)}`, 'parse error : query nests too deeply (more than 1000 levels)'],
  ];
  for (const [query, message] of table) assert.ok(parseError(query).startsWith(message), `${query.slice(0, 60)}: ${parseError(query)}`);
});

test('parseSelector accepts {} and plain selectors only', () => {
  assert.deepEqual(parseSelector('{}'), []);
  assert.deepEqual(parseSelector('{job="train", rank!="3"}'), [
    { name: 'job', type: '=', value: 'train' },
    { name: 'rank', type: '!=', value: '3' },
  ]);
  assert.throws(() => parseSelector('{a="b"} |= "x"'), /^QueryError: only label matchers are supported$/);
  assert.throws(() => parseSelector('rate({a="b"}[1m])'), /only label matchers are supported/);
  assert.throws(() => parseSelector('{a!="b"}'), /queries require at least one regexp or equality matcher/);
  assert.throws(() => parseSelector('{a="b"'), /unexpected \$end/);
});

test('garbage never escapes as anything but QueryError', () => {
  const fragments = ['{', '}', '(', ')', '[5m]', '[', 'a', '=', '"x"', '`y`', '|', '|=', '!=', '~', ',', 'rate', 'sum', 'by', ' ', '\n',
    '1', '-', '5m', 'unwrap', 'json', 'or', 'and', '>', 'bool', 'on', 'offset', '#', '\\', "'", 'ip', '.', 'label_replace'];
  // Deterministic pseudo-random sequence so a failure reproduces.
  let seed = 12345;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let i = 0; i < 3000; i++) {
    let query = '';
    const length = 1 + random(14);
    for (let j = 0; j < length; j++) query += fragments[random(fragments.length)];
    try {
      parseExpr(query);
    } catch (error) {
      assert.ok(error instanceof QueryError, `${JSON.stringify(query)} threw ${String(error)}`);
    }
  }
});
