// fmt.Sprintf as templates' printf runs it: one implementation for LogQL and alert templates. Each
// row is Go's output for the same format and Go values (int as bigint, float64 as number).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goSprint, goSprintf, goSprintln } from '../../src/gotemplate/sprintf.ts';
import { formatGoFloat, type GoValue } from '../../src/gotemplate/value.ts';

const cases: Array<[format: string, args: GoValue[], expected: string]> = [
  ['%v %v %v %v %v', [1, 1e6, 123456, 0.0001, 0.00001], '1 1e+06 123456 0.0001 1e-05'],
  ['%v|%f|%v|%6.2f|', [Infinity, -Infinity, NaN, NaN], '+Inf|-Inf|NaN|   NaN|'],
  ['%.2f|%8.3f|%-8.3f|%08.3f', [3.14159, 3.14159, 3.14159, -3.14159], '3.14|   3.142|3.142   |-003.142'],
  ['%+d|% d|%05d|%d', [5n, 5n, -42n, -7n], '+5| 5|-0042|-7'],
  ['%x %X %#x %x %b %o', [255n, 255n, 255n, 'hi', 5n, 8n], 'ff FF 0xff 6869 101 10'],
  ['%q %q', ['a"b', 65n], '"a\\"b" \'A\''],
  ['%e|%E|%g|%.3g|%G|%g', [1234.5678, 1234.5678, 1234.5678, 1234.5678, 1e-7, 2.5], '1.234568e+03|1.234568E+03|1234.5678|1.23e+03|1E-07|2.5'],
  ['%s|%d|%d|%v|%t|%t', [1n, 'x', null, null, true, 'no'], '%!s(int=1)|%!d(string=x)|%!d(<nil>)|<nil>|true|%!t(string=no)'],
  ['%c|%5s|%-5s|%.2s', [0x4e16n, 'ab', 'ab', 'héllo'], '世|   ab|ab   |hé'],
  ['%T %T %T %T %T %T', [1n, 1.5, 'a', [], null, { a: 1n }], 'int float64 string []interface {} <nil> map[string]interface {}'],
  ['%v %v', [[1n, 'a'], { b: 1n, a: 'x' }], '[1 a] map[a:x b:1]'],
  ['100%% %d %d', [1n], '100% 1 %!d(MISSING)'],
  ['%d', [1n, 'x', 2.5], '1%!(EXTRA string=x, float64=2.5)'],
  ['abc%', [], 'abc%!(NOVERB)'],
];

test('printf verbs, flags, widths and precisions print as Go prints them', () => {
  for (const [format, args, expected] of cases) assert.equal(goSprintf(format, args), expected, `${format} ${JSON.stringify(args, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`);
});

test('print and println space their operands as fmt.Sprint and fmt.Sprintln do', () => {
  assert.equal(goSprint([1n, 2n, 'a', 3n, 1.5]), '1 2a3 1.5');
  assert.equal(goSprintln([1n, 'a']), '1 a\n');
});

test('%v of a float64 is strconv\'s shortest form, in %e form below 1e-4 and from 1e6 on', () => {
  const table: Array<[number, string]> = [[1, '1'], [0.5, '0.5'], [1e21, '1e+21'], [999999, '999999'], [1e-7, '1e-07'], [0.0001, '0.0001'], [-0, '-0'], [1234567.5, '1.2345675e+06']];
  for (const [value, expected] of table) assert.equal(formatGoFloat(value), expected, String(value));
});
