import assert from 'node:assert/strict';
import test from 'node:test';
import { parseExpr } from '../../../src/logql/syntax/parser.ts';
import { DEFAULT_MAX_CHARS_PER_LINE, formatQuery } from '../../../src/logql/syntax/prettier.ts';
import { exprToString } from '../../../src/logql/syntax/printer.ts';

test('exprToString gives Loki canonical forms', () => {
  const table: Array<[string, string]> = [
    ['{ job = "train" , rank=~"0|1" }', '{job="train", rank=~"0|1"}'],
    ['{a="b"} != "x" or "y" |= "p" or ip("::1")', '{a="b"} != "x" != "y" |= "p" or ip("::1")'],
    ['{a="b"} | logfmt --keep-empty --strict x', '{a="b"} | logfmt --strict --keep-empty x="x"'],
    ['{a="b"} | json x, y="a.b[0]"', '{a="b"} | json x="x",y="a.b[0]"'],
    ['{a="b"} | x=5 and y>=1.50 or z<-2', '{a="b"} | ( ( x==5 , y>=1.5 ) or z<-2 )'],
    ['{a="b"} | d > 90s | d < 1h | d != 250ms | s >= 10GB | s < 2.5KiB', '{a="b"} | d>1m30s | d<1h0m0s | d!=250ms | s>=10GB | s<2560B'],
    ['{a="b"} | msg=~"\\\\d+" | msg=~"foo|bar" | msg!~".*"', '{a="b"} | msg=~`\\d+` | msg=~"foo|bar" | msg!~".*"'],
    ['{a="b"} | ip=ip("10.0.0.0/8") | ip!=ip("::1")', '{a="b"} | ip=ip("10.0.0.0/8") | ip!=ip("::1")'],
    ['{a="b"} | line_format "{{.a}}\\t\\u00e9" | label_format x=y, z="{{.x}}"', '{a="b"} | line_format "{{.a}}\\té" | label_format x=y,z="{{.x}}"'],
    ['rate({a="b"}[90s] offset 1h)', 'rate({a="b"}[1m30s] offset 1h0m0s)'],
    ['quantile_over_time(0.99, {a="b"} | unwrap bytes(x) | __error__="" [1w]) by (c)', 'quantile_over_time(0.99,{a="b"} | unwrap bytes(x) | __error__=""[1w]) by (c)'],
    ['sum by (a, b) (rate({a="b"}[1d]))', 'sum by (a,b)(rate({a="b"}[1d]))'],
    ['sum by () (rate({a="b"}[1d]))', 'sum(rate({a="b"}[1d]))'],
    ['topk(5, rate({a="b"}[1m])) without (c)', 'topk without (c)(5,rate({a="b"}[1m]))'],
    ['rate({a="b"}[1m]) > bool on (x) group_right (y) rate({a="b"}[1m])', '(rate({a="b"}[1m]) > bool on (x) group_right (y) rate({a="b"}[1m]))'],
    ['1 + 2 * 3 ^ 2', '19'],
    ['1e6', '1e+06'],
    ['vector(1) or rate({a="b"}[1m])', '(vector(1.000000) or rate({a="b"}[1m]))'],
    ['label_replace(rate({a="b"}[1m]), "dst", "$1", "src", "(.*)")', 'label_replace(rate({a="b"}[1m]),"dst","$1","src","(.*)")'],
  ];
  for (const [query, canonical] of table) {
    const printed = exprToString(parseExpr(query));
    assert.equal(printed, canonical, query);
    // The canonical form parses back to the same tree.
    assert.deepEqual(parseExpr(printed), parseExpr(query), printed);
  }
});

test('formatQuery keeps short queries on one line and splits long ones', () => {
  assert.equal(formatQuery('sum(rate({job="train"}[1m]))'), 'sum(rate({job="train"}[1m]))');
  assert.equal(DEFAULT_MAX_CHARS_PER_LINE, 100);
  const long = 'sum by (rank) (count_over_time({job="train", namespace="research"} |= "loss" | logfmt | loss > 2 and step > 100 [1m]))';
  assert.equal(
    formatQuery(long),
    [
      // The inner call fits in 100 characters once on its own line, so it stays whole.
      'sum by (rank)(',
      '  count_over_time({job="train", namespace="research"} |= "loss" | logfmt | ( loss>2 , step>100 )[1m])',
      ')',
    ].join('\n'),
  );
  assert.equal(
    formatQuery('{job="train"} |= "a" |= "b" | json', 20),
    ['{job="train"}', '  |= "a" |= "b"', '  | json'].join('\n'),
  );
  assert.throws(() => formatQuery('sum(rate({job="train"}'), /parse error at line 1, col 23/);
});

test('pretty form never changes what the query means, where Loki prettier would', () => {
  const table: Array<[string, string]> = [
    // Parentheses a split operand needs are kept.
    ['10 / (count_over_time({job="postgres"}[5m]) / 2)', ['  10', '/', '  (', '      count_over_time(', '        {job="postgres"} [5m]', '      )', '    /', '      2', '  )'].join('\n')],
    // `on ()` and `without ()` / `by ()` on range aggregations are kept.
    ['rate({a="b"}[1m]) / on () rate({a="b"}[1m])', ['  rate({a="b"}[1m])', '/ on () ', '  rate({a="b"}[1m])'].join('\n')],
    ['max_over_time({app="foo"} | unwrap bar [5m]) by ()', ['max_over_time(', '  {app="foo"}', '    | unwrap bar [5m]', ') by ()'].join('\n')],
    ['max without () (count_over_time({a="b"}[5h]))', ['max without ()(', '  count_over_time(', '    {a="b"} [5h]', '  )', ')'].join('\n')],
  ];
  for (const [query, pretty] of table) {
    assert.equal(formatQuery(query, 20), pretty, query);
    assert.deepEqual(parseExpr(pretty), parseExpr(query), query);
  }
  // `ignoring ()` with a group modifier is printed, unlike Loki's String().
  const grouped = 'rate({a="b"}[1m]) * ignoring () group_left rate({a="b"}[1m])';
  assert.deepEqual(parseExpr(exprToString(parseExpr(grouped))), parseExpr(grouped));
});

