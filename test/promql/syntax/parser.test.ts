// The PromQL parser as a table: queries that parse (checked by printing them back) and queries that
// fail with Prometheus' message and position.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpr } from '../../../src/promql/syntax/parser.ts';
import { formatExpr } from '../../../src/promql/syntax/printer.ts';
import { PromQLParseError } from '../../../src/promql/syntax/errors.ts';

const valid: Array<[query: string, printed: string]> = [
  ['foo', 'foo'],
  ['foo{a="b", c!="d", e=~"f.*", g!~"h"}', 'foo{a="b", c!="d", e=~"f.*", g!~"h"}'],
  ['{__name__=~"job:.*"}', '{__name__=~"job:.*"}'],
  ['{"metric.name", "a.b"="c"}', '{__name__="metric.name", "a.b"="c"}'],
  ['foo{a="b",}', 'foo{a="b"}'],
  ['sum by (a) (rate(foo[5m]))', 'sum by (a) (rate(foo[5m]))'],
  ['sum(rate(foo[5m])) without (a)', 'sum without (a) (rate(foo[5m]))'],
  ['SUM(foo) BY (job)', 'sum by (job) (foo)'],
  ['topk(3, foo)', 'topk(3, foo)'],
  ['count_values("v", foo)', 'count_values("v", foo)'],
  ['quantile(0.9, foo)', 'quantile(0.9, foo)'],
  ['limitk(2, foo)', 'limitk(2, foo)'],
  ['limit_ratio(0.5, foo)', 'limit_ratio(0.5, foo)'],
  ['foo offset 5m', 'foo offset 5m'],
  ['foo offset -1h30m', 'foo offset -1h30m'],
  ['foo[1h30m]', 'foo[1h30m]'],
  ['foo[500ms]', 'foo[500ms]'],
  ['foo @ 1600000000', 'foo @ 1600000000.000'],
  ['foo @ start()', 'foo @ start()'],
  ['foo[5m] @ end() offset 1m', 'foo[5m] @ end() offset 1m'],
  ['rate(foo[5m])[30m:1m]', 'rate(foo[5m])[30m:1m]'],
  ['max_over_time(foo[1h:])', 'max_over_time(foo[1h:])'],
  ['a + on(b) group_left(c) d', 'a + on (b) group_left (c) d'],
  ['a + ignoring() b', 'a + b'],
  ['sum by () (x)', 'sum(x)'],
  ['a > bool ignoring(x) b', 'a > bool ignoring (x) b'],
  ['a and b or c unless d', 'a and b or c unless d'],
  ['-2 ^ 2', '-2 ^ 2'],
  ['-foo', '-foo'],
  ['0x1F', '31'],
  ['1e3', '1000'],
  ['.5', '0.5'],
  ['Inf', '+Inf'],
  ['-inf', '-Inf'],
  ['NaN', 'NaN'],
  ['"a\\tb"', '"a\\tb"'],
  ['`raw\\n`', '"raw\\\\n"'],
  ["'single'", '"single"'],
  ['foo # a comment\n + bar', 'foo + bar'],
  ['label_replace(up, "a", "$1", "b", "(.*)")', 'label_replace(up, "a", "$1", "b", "(.*)")'],
  ['histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))', 'histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))'],
  ['changes(foo[26m+4m])', 'changes(foo[30m])'],
  ['time() - 1h', 'time() - 3600'],
];

const invalid: Array<[query: string, message: string]> = [
  ['', '1:1: parse error: no expression found in input'],
  ['*test', '1:1: parse error: unexpected <op:*>'],
  ['1 +', '1:4: parse error: unexpected end of input'],
  ['1 offset 1d', '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
  ['a - on(b) ignoring(c) d', '1:11: parse error: unexpected <ignoring>'],
  ['{', '1:2: parse error: unexpected end of input inside braces'],
  ['}', "1:1: parse error: unexpected character: '}'"],
  ['((1)', '1:5: parse error: unclosed left parenthesis'],
  ['((1)))', "1:6: parse error: unexpected right parenthesis ')'"],
  ['{}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
  ['{a=~".*"}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
  ['foo{a}', '1:6: parse error: unexpected "}" in label matching, expected label matching operator'],
  ['foo{a=1}', '1:7: parse error: unexpected number "1" in label matching, expected string'],
  ['foo{a="b" c="d"}', '1:11: parse error: unexpected identifier "c" in label matching, expected "," or "}"'],
  ['x{__name__="y"}', '1:1: parse error: metric name must not be set twice: "x" or "y"'],
  ['foo[5mm]', '1:5: parse error: bad number or duration syntax: "5mm"'],
  ['foo[5m1h]', '1:5: parse error: not a valid duration string: "5m1h"'],
  ['"unterminated', '1:1: parse error: unterminated quoted string'],
  ['foo + bool bar', '1:1: parse error: bool modifier can only be used on comparison operators'],
  ['1 == 1', '1:1: parse error: comparisons between scalars must use BOOL modifier'],
  ['1 and 1', '1:1: parse error: set operator "and" not allowed in binary scalar expression'],
  ['foo + on(x) 1', '1:1: parse error: vector matching only allowed between instant vectors'],
  ['foo and on(bar) group_left(baz) bar', '1:1: parse error: no grouping allowed for "and" operation'],
  ['foo * on(a) group_left(a) bar', '1:1: parse error: label "a" must not occur in ON and GROUP clause at once'],
  ['foo[5m] + 1', '1:1: parse error: binary expression must contain only scalar and instant vector types'],
  ['-"s"', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"'],
  ['rate(foo)', '1:6: parse error: expected type range vector in call to function "rate", got instant vector'],
  ['abs(foo[5m])', '1:5: parse error: expected type instant vector in call to function "abs", got range vector'],
  ['label_replace(x, "a")', '1:1: parse error: expected 5 argument(s) in call to "label_replace", got 2'],
  ['round(x, 1, 2)', '1:1: parse error: expected at most 2 argument(s) in call to "round", got 3'],
  ['label_join(x, "a")', '1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 2'],
  ['unknown_fn(x)', '1:1: parse error: unknown function with name "unknown_fn"'],
  ['topk(foo)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1'],
  ['count_values(1, foo)', '1:14: parse error: expected type string in aggregation parameter, got scalar'],
  ['sum(foo[5m])', '1:5: parse error: expected type instant vector in aggregation expression, got range vector'],
  ['sum(foo) offset 5m', '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
  ['foo offset 5m offset 1m', '1:1: parse error: offset may not be set multiple times'],
  ['foo @ 1 @ 2', '1:1: parse error: @ <timestamp> may not be set multiple times'],
  ['foo offset 1m [5m]', '1:1: parse error: no offset modifiers allowed before range'],
  ['sum(foo)[5m]', '1:1: parse error: ranges only allowed for vector selectors'],
  ['foo[5m][10m:]', '1:1: parse error: subquery is only allowed on instant vector, got matrix'],
  ['sum without (a) (x) by (b)', '1:21: parse error: unexpected <by>'],
  ['foo\n  + on(', '2:8: parse error: unclosed left parenthesis'],
];

test('valid PromQL parses and prints back', () => {
  for (const [query, printed] of valid) assert.equal(formatExpr(parseExpr(query)), printed, query);
});

test('invalid PromQL fails with Prometheus message and position', () => {
  for (const [query, message] of invalid) {
    assert.throws(() => parseExpr(query), (error: unknown) => {
      assert.ok(error instanceof PromQLParseError, `${query}: ${String(error)}`);
      assert.equal(error.message, message, query);
      return true;
    });
  }
});
