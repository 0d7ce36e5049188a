// Matching and captures against what RE2 answers, on both backends: each case runs as compiled
// (V8 where its linear engine takes it, else the Pike VM) and again forced onto the Pike VM, so
// the two can never drift apart.
import assert from 'node:assert/strict';
import test from 'node:test';
import { analyzeRegexLiterals, cachedRegexCount, compileRegex, MAX_CACHED_REGEXES, parseRegex, replaceAll, countMatches } from '../../src/regex/index.ts';
import { compileProgram } from '../../src/regex/program.ts';
import { pikeSearch } from '../../src/regex/pike-vm.ts';
import { LazyDfa } from '../../src/regex/lazy-dfa.ts';

/** pattern, text, expected groups (index 0 is the whole match), or null for no match. */
const CASES: Array<[string, string, (string | undefined)[] | null]> = [
  ['a+b', 'xxaaab', ['aaab']],
  ['(?i)hello', 'say HeLLo', ['HeLLo']],
  ['(?i)γεια', 'ΣΑΣ ΓΕΙΑ', ['ΓΕΙΑ']],
  ['(?i)k', '\u212A', ['\u212A']], // Kelvin sign folds to k, as in RE2
  ['(?i)[k-l]+', 'K\u212AL', ['K\u212AL']],
  ['(?i)Σ', 'ς', ['ς']],
  ['(?P<x>\\d+)-(?P<y>\\w+)', 'id 12-ab!', ['12-ab', '12', 'ab']],
  ['[[:^alpha:]]x', 'ax1x', ['1x']],
  ['[\\D]x', '1ax', ['ax']],
  ['[^\\d\\s]+', '12 ab3', ['ab']],
  ['(?U)a+', 'aaa', ['a']],
  ['(?U)a+?', 'aaa', ['aaa']],
  ['\\pL+', '123 Ωmega', ['Ωmega']],
  ['\\p{Greek}+', 'abc αβγ', ['αβγ']],
  ['\\PL+', 'ab12cd', ['12']],
  ['[^\\pL]', 'abc1', ['1']],
  ['(?m)^b$', 'a\nb\nc', ['b']],
  ['(?m)^.+$', 'x\nyz', ['x']],
  ['^b$', 'a\nb\nc', null],
  ['[0-9a-f]{32}', `x${'ab'.repeat(16)}y`, ['ab'.repeat(16)]],
  ['\\Qa.b\\E', 'axb a.b', ['a.b']],
  ['a\\z', 'ab a', ['a']],
  ['\\Aa', 'ba', null],
  ['\\bfoo\\b', 'afoo foo', ['foo']],
  ['\\Boo', 'foo', ['oo']],
  ['😀.', 'x😀😀', ['😀😀']],
  ['^(.)(.)$', 'a😀', ['a😀', 'a', '😀']],
  ['^.$', '😀', ['😀']],
  ['a.b', 'a\nb', null],
  ['(?s)a.b', 'a\nb', ['a\nb']],
  ['[^a]', '\n', ['\n']], // RE2 negated classes match newline
  ['\\s', '\u00a0', null], // RE2's \s is ASCII
  ['\\s', '\v', null],
  ['[[:space:]]', '\v', ['\v']],
  ['\\w+', 'été', ['t']],
  ['x*', '', ['']],
  ['(a|ab)(c|bcd)(d*)', 'abcd', ['abcd', 'a', 'bcd', '']],
  ['a{2,3}?', 'aaaa', ['aa']],
  ['(a+)(b)?', 'aac', ['aa', 'aa', undefined]],
  ['(?:(a)|b)+', 'ab', ['ab', 'a']], // RE2 keeps the last capture across iterations (V8 would reset it)
  ['\\x41\\101\\x{1F600}', 'AA😀', ['AA😀']],
  ['[\\x{1F600}-\\x{1F64F}]+', 'hi 😀😃!', ['😀😃']],
  ['(?i)straße', 'STRASSE', null],
  ['a|b|', 'c', ['']],
  ['(?i)(?P<level>error|warn)', 'x WARN y', ['WARN', 'WARN']],
];

test('matches and captures agree with RE2 on both backends', () => {
  for (const [pattern, text, expected] of CASES) {
    const compiled = compileRegex(pattern);
    const match = compiled.regexp.exec(text);
    assert.deepEqual(match === null ? null : [...match], expected, `${pattern} (${compiled.engine}) on ${JSON.stringify(text)}`);
    assert.equal(compiled.regexp.test(text), expected !== null, `${pattern}: test()`);
    const program = compileProgram(parseRegex(pattern));
    const slots = pikeSearch(program, text, 0, true);
    const groups = slots === null ? null : Array.from({ length: slots.length / 2 }, (_, g) => (slots[2 * g]! >= 0 ? text.slice(slots[2 * g], slots[2 * g + 1]) : undefined));
    assert.deepEqual(groups, expected, `${pattern} (pike) on ${JSON.stringify(text)}`);
    assert.equal(new LazyDfa(program).matches(text), expected !== null, `${pattern} (dfa) on ${JSON.stringify(text)}`);
  }
});

test('modes wrap the pattern as Loki and Prometheus do', () => {
  assert.equal(compileRegex('foo|bar', 'matcher').regexp.test('foo'), true);
  assert.equal(compileRegex('foo|bar', 'matcher').regexp.test('foobar'), false);
  assert.equal(compileRegex('a.b', 'matcher').regexp.test('a\nb'), true); // ^(?s:…)$
  assert.equal(compileRegex('a.b', 'anchored').regexp.test('a\nb'), false); // ^(?:…)$
  assert.equal(compileRegex('(?i)(.|.)*Z', 'matcher').regexp.test('/var/log/z'), true);
});

test('both backends are used, and named groups come back by name', () => {
  assert.equal(compileRegex('(?i)err(or)?').engine, 'v8');
  assert.equal(compileRegex('\\pL').engine, 'pike');
  assert.equal(compileRegex('(?m)a$').engine, 'pike');
  assert.equal(compileRegex('[a-f]{32}').engine, 'pike');
  for (const pattern of ['(?P<method>\\w+) (?P<path>/\\S*)', '(?P<method>\\w+) (?P<path>/\\pL*)']) {
    const compiled = compileRegex(pattern);
    assert.deepEqual(compiled.groupNames, ['method', 'path']);
    assert.deepEqual({ ...compiled.regexp.exec('GET /api')?.groups }, { method: 'GET', path: '/api' }, compiled.engine);
  }
});

test('Go replace-all and find-all', () => {
  const table: Array<[string, string, string, string]> = [
    ['a*', 'baaac', 'X', 'XbXcX'],
    ['(?P<k>\\w+)=(\\d+)', 'a=1 b=2', '${k}:$2', 'a:1 b:2'],
    ['(\\w+)', 'hi', '$1x', ''], // $1x names group "1x": none, so empty
    ['(\\w+)', 'hi', '${1}x', 'hix'],
    ['o', 'foo', '$$', 'f$$'],
    ['\\pL', 'a1b', '_', '_1_'],
  ];
  for (const [pattern, text, replacement, expected] of table) {
    assert.equal(replaceAll(compileRegex(pattern), text, replacement, false), expected, `${pattern} on ${text}`);
  }
  assert.equal(replaceAll(compileRegex('a'), 'aba', '$1', true), '$1b$1');
  assert.equal(countMatches(compileRegex('a*'), 'baaac'), 3);
  assert.equal(countMatches(compileRegex('\\d'), 'a1b22'), 3);
});

test('literal analysis reads the same tree', () => {
  assert.deepEqual(analyzeRegexLiterals('error|fail'), { alternatives: ['error', 'fail'], caseInsensitive: false, required: undefined });
  assert.deepEqual(analyzeRegexLiterals('(?i)(error|fail)'), { alternatives: ['error', 'fail'], caseInsensitive: true, required: undefined });
  assert.deepEqual(analyzeRegexLiterals('(?i)error-42'), { alternatives: ['error-42'], caseInsensitive: true, required: 'error-42' });
  assert.equal(analyzeRegexLiterals('loss=\\d+\\.\\d+').required, 'loss=');
  assert.equal(analyzeRegexLiterals('a?bcd*').required, 'bc');
  assert.equal(analyzeRegexLiterals('x(abc)+y').required, 'abc');
  assert.equal(analyzeRegexLiterals('\\Qa.b\\E').alternatives?.[0], 'a.b');
  assert.deepEqual(analyzeRegexLiterals('x.y'), { caseInsensitive: false });
  assert.deepEqual(analyzeRegexLiterals('ab|c.d'), { caseInsensitive: false });
  assert.deepEqual(analyzeRegexLiterals('(?i)a(?-i)b'), { caseInsensitive: false });
  assert.deepEqual(analyzeRegexLiterals('(oops'), { caseInsensitive: false });
});

test('1,500 distinct patterns compile and run; the cache stays bounded', () => {
  for (let i = 0; i < 1500; i++) {
    const compiled = compileRegex(i % 2 === 0 ? `^x${i}[a-f]{20}\\pL$` : `(?i)y${i}(.|.)*z`);
    assert.equal(compiled.regexp.test(i % 2 === 0 ? `x${i}${'a'.repeat(20)}é` : `Y${i}..Z`), true, `pattern ${i}`);
  }
  assert.ok(cachedRegexCount() <= MAX_CACHED_REGEXES);
});

test('a capture inside a loop runs on V8 only when every iteration sets it', () => {
  const table: Array<[string, 'v8' | 'pike']> = [
    ['(\\w+=\\S+\\s?)+$', 'v8'], // the group is the whole body: same answer on both
    ['(?i)(.|.)*Z', 'v8'],
    ['(?:(a)|b)+', 'pike'], // a branch may skip the group
    ['(?:x(a)?)+', 'pike'], // an optional group
    ['(a*)*', 'pike'], // an empty iteration
    ['(?:a|b)+', 'v8'], // no capture at all
    ['(?:(a)+b)*', 'v8'],
  ];
  for (const [pattern, engine] of table) assert.equal(compileRegex(pattern).engine, engine, pattern);
});
