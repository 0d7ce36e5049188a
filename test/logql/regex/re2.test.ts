import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRe2, re2FullMatch, re2Test, RegexSyntaxError } from '../../../src/logql/regex/re2.ts';
import { analyzeRegexLiterals } from '../../../src/logql/regex/literals.ts';

test('RE2 syntax: (?i), \\d, named groups, POSIX classes, \\Q…\\E, \\z', () => {
  const cases: Array<[string, string, boolean]> = [
    ['(?i)error', 'An ERROR happened', true],
    ['(?i)γεια', 'ΣΑΣ ΓΕΙΑ', true],
    ['\\d+ms', 'took 25ms', true],
    ['^[[:alpha:]]+$', 'abcXYZ', true],
    ['^[[:alpha:]]+$', 'abc1', false],
    ['\\Qa.b\\E', 'axb', false],
    ['\\Qa.b\\E', 'a.b', true],
    ['end\\z', 'the end', true],
    ['(?s)a.b', 'a\nb', true],
    ['a.b', 'a\nb', false],
    ['\\s', '\u00a0', false], // RE2's \s is ASCII only
    ['[^[:space:]]x', ' ax', true],
  ];
  for (const [pattern, text, expected] of cases) {
    assert.equal(re2Test(compileRe2(pattern), text), expected, `${pattern} on ${JSON.stringify(text)}`);
  }
  const named = compileRe2('(?P<method>\\w+) (?P<path>/\\S*)');
  assert.deepEqual(named.groupNames, ['method', 'path']);
  assert.equal(named.regexp.exec('GET /api')?.groups?.path, '/api');
  assert.equal(re2FullMatch('foo|bar', 'foo'), true);
  assert.equal(re2FullMatch('foo|bar', 'foobar'), false);
});

test('bad RE2 syntax is a RegexSyntaxError naming the problem', () => {
  assert.throws(() => compileRe2('(unclosed'), (e: Error) => e instanceof RegexSyntaxError && /missing closing \)/.test(e.message));
  assert.throws(() => compileRe2('a**'), (e: Error) => e instanceof RegexSyntaxError && /nested repetition/.test(e.message));
  assert.throws(() => compileRe2('(?P<x>a)(?P<x>b)'), /duplicate capture group name/);
  assert.throws(() => compileRe2('\\8'), /invalid escape/);
});

test('hostile patterns run in linear time on huge inputs', () => {
  const hostile = ['(a+)+b', '(a|aa)*c', '(a*)*$x', '(?i)(a+)+b', '(\\w+\\s?)+z'];
  const text = 'a'.repeat(100_000);
  for (const pattern of hostile) {
    const started = performance.now();
    assert.equal(re2Test(compileRe2(pattern), text), false);
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs < 2000, `${pattern} took ${elapsedMs.toFixed(0)} ms`);
  }
});

test('literal analysis finds alternations and required substrings', () => {
  assert.deepEqual(analyzeRegexLiterals('error|fail'), { alternatives: ['error', 'fail'], caseInsensitive: false, required: undefined });
  assert.deepEqual(analyzeRegexLiterals('(?i)(error|fail)').alternatives, ['error', 'fail']);
  assert.equal(analyzeRegexLiterals('(?i)(error|fail)').caseInsensitive, true);
  assert.equal(analyzeRegexLiterals('loss=\\d+\\.\\d+').required, 'loss=');
  assert.equal(analyzeRegexLiterals('a?bcd*').required, 'bc');
  assert.equal(analyzeRegexLiterals('x.y').alternatives, undefined);
});

test('a character outside the BMP (an emoji) is one character, as in RE2', () => {
  assert.equal(re2Test(compileRe2('^a.b$'), 'a😀b'), true);
  assert.equal(re2Test(compileRe2('^a..b$'), 'a😀b'), false);
  assert.equal(re2Test(compileRe2('^a[^x]b$'), 'a😀b'), true);
  assert.equal(re2Test(compileRe2('^a\\Sb$'), 'a😀b'), true);
  assert.equal(compileRe2('^(?P<c>.)b').regexp.exec('😀b')?.groups?.c, '😀');
});
