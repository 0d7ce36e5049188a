import assert from 'node:assert/strict';
import test from 'node:test';
import { parsePattern, patternFilterError, patternParserError } from '../../../src/logql/syntax/pattern-syntax.ts';
import { checkRegex, isSimplifiableLabelRegex } from '../../../src/logql/syntax/regex-syntax.ts';

test('RE2 errors use Go messages', () => {
  const table: Array<[string, string]> = [
    ['\\q', 'error parsing regexp: invalid escape sequence: `\\q`'],
    ['a**', 'error parsing regexp: invalid nested repetition operator: `**`'],
    ['*a', 'error parsing regexp: missing argument to repetition operator: `*`'],
    ['(a', 'error parsing regexp: missing closing ): `(a`'],
    ['a)', 'error parsing regexp: unexpected ): `a)`'],
    ['[a', 'error parsing regexp: missing closing ]: `[a`'],
    ['(?=a)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`'],
    ['a{1001}', 'error parsing regexp: invalid repeat count: `{1001}`'],
    ['\\1', 'error parsing regexp: invalid escape sequence: `\\1`'],
  ];
  for (const [pattern, message] of table) assert.equal(checkRegex(pattern).error, message, pattern);
  for (const valid of ['(?i)error', '(?P<rank>\\d+)', '[[:alpha:]_-]+', '\\pL\\p{Greek}', 'a{2,5}?', '\\Qa.b\\E', '[^\\]]', '\\x{1F600}']) {
    assert.equal(checkRegex(valid).error, undefined, valid);
  }
  assert.equal(checkRegex('('.repeat(2000) + ')'.repeat(2000)).error?.startsWith('error parsing regexp: expression nests too deeply'), true);
});

test('empty-match detection for selector validation', () => {
  for (const pattern of ['', '.*', 'a*', '(a|)', 'x?', '(?:a)?b*', '^$']) assert.equal(checkRegex(pattern).matchesEmpty, true, pattern);
  for (const pattern of ['.+', 'a', 'a|b', '\\d+', '[a-z]']) assert.equal(checkRegex(pattern).matchesEmpty, false, pattern);
  assert.deepEqual(checkRegex('(?P<a>x)(y)(?<b>z)').captureNames, ['a', 'b']);
});

test('label regexes Loki reduces to string comparisons', () => {
  for (const pattern of ['foo', 'foo|bar', '.*', '.+', '(?i)foo', 'foo.*', '.*foo.*', 'b(ar|uzz)', '"']) {
    assert.equal(isSimplifiableLabelRegex(pattern), true, pattern);
  }
  for (const pattern of ['\\w.*', '\\d+', 'a+', '.*foo.*bar', 'fo[o]']) assert.equal(isSimplifiableLabelRegex(pattern), false, pattern);
});

test('pattern expressions', () => {
  assert.deepEqual(parsePattern('<ip> - <_> [<ts>]'), [
    { kind: 'capture', name: 'ip' },
    { kind: 'literal', text: ' - ' },
    { kind: 'capture', name: '_' },
    { kind: 'literal', text: ' [' },
    { kind: 'capture', name: 'ts' },
    { kind: 'literal', text: ']' },
  ]);
  assert.equal(patternParserError('<a> <b>'), undefined);
  assert.equal(patternParserError('<_> x'), 'at least one capture is required');
  assert.equal(patternParserError('<a> <a>'), 'duplicate capture name (a): invalid expression');
  assert.equal(patternFilterError('<_> foo <_>'), undefined);
  assert.equal(patternFilterError('<foo>'), "named captures are not allowed: found '<foo>'");
});
