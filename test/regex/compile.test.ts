// Matching and captures against what RE2 answers, on both backends: each case runs as compiled
// (V8 where its linear engine takes it, else the Pike VM) and again forced onto the Pike VM, so
// the two can never drift apart.
import assert from 'node:assert/strict';
import test from 'node:test';
import { analyzeRegexLiterals, cachedRegexCount, compileCaptureSubset, compileRegex, MAX_CACHED_REGEXES, parseRegex, replaceAll, countMatches } from '../../src/regex/index.ts';
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

test('a capture subset matches as the full regex does and gives each kept group the same value', () => {
  /** pattern, the names kept (in any order), texts. */
  const table: Array<[string, string[], string[]]> = [
    ['step (?P<step>[0-9]+)/(?P<total>[0-9]+)', ['step'], ['step 12/100 loss', 'step /100', 'x step 1/2 step 3/4', '']],
    ['step (?P<step>[0-9]+)/(?P<total>[0-9]+)', ['total', 'step'], ['step 12/100', 'step 12/']],
    ['(?P<a>x)?(?P<b>y)', ['a', 'b'], ['y', 'xy', 'zz']],
    ['(?:(?P<a>a)|b)+', ['a'], ['ab', 'ba', 'bbb', 'c']], // RE2 keeps the last value a loop set: Pike VM
    ['(?:(?P<a>a)|(?P<b>b))+', ['b'], ['ab', 'ba', 'aaa']], // without `a` V8 may run it
    ['(?P<outer>(?P<inner>[0-9]+)-(x))', ['inner'], ['12-x', '1-y']],
    ['(?P<outer>(?P<inner>[0-9]+)-(x))', ['outer', 'inner'], ['12-x']],
    ['(?i)(?P<w>ΣΑΣ)(.)', ['w'], ['σας!', 'ςας😀']],
    ['(?P<l>\\pL+)(\\d)', ['l'], ['ab1', 'Ωmega2', '12']],
    ['(?m)^(?P<k>\\w+)=(?P<v>.*)$', ['v'], ['a\nk=v1\nz', 'nope']],
    ['(?P<hex>[0-9a-f]{32})', ['hex'], [`x${'ab'.repeat(16)}y`, 'abc']],
    ['(?P<tail>z+)$', ['tail'], [`${'a'.repeat(5000)}zz`, 'a'.repeat(5000)]], // long texts see the DFA first
    ['(?P<a>x)', ['missing'], ['x']],
  ];
  for (const [pattern, names, texts] of table) {
    const full = compileRegex(pattern);
    const subset = compileCaptureSubset(pattern, names);
    assert.ok(subset.groupNames.length <= names.length, pattern);
    for (const text of texts) {
      const want = full.regexp.exec(text);
      const got = subset.regexp.captures(text);
      const where = `${pattern} on ${JSON.stringify(text)}`;
      assert.equal(got === null, want === null, where);
      if (want === null || got === null) continue;
      assert.equal(got[0], want[0], where);
      for (const name of names) {
        const index = subset.parsed.captureNames.indexOf(name);
        assert.equal(index < 0 ? undefined : got[index], want.groups?.[name], `${where}, group ${name}`);
      }
    }
  }
});

test('a capture subset drops the unread groups, and with them what kept a regex off V8', () => {
  assert.equal(compileRegex('(?:(?P<a>a)|(?P<b>b))+').engine, 'pike');
  const subset = compileCaptureSubset('(?:(?P<a>a)|(?P<b>b))+', []);
  assert.equal(subset.engine, 'v8');
  assert.equal(subset.groupCount, 0);
  assert.deepEqual(compileCaptureSubset('(a)(?P<y>b)(?P<z>c)', ['z']).parsed.captureNames, [undefined, 'z']);
  // A repeated name keeps its first group only (Loki refuses such a regexp parser anyway).
  const dup = compileCaptureSubset('(?P<dup>a)|(?P<dup>b)', ['dup']);
  assert.deepEqual(dup.parsed.captureNames, [undefined, 'dup']);
  assert.deepEqual(Array.from(dup.regexp.captures('b') ?? []), ['b', undefined]);
  // Subsets and plain regexes of the same text are cached apart.
  assert.equal(compileRegex('(?P<y>b)(?P<z>c)').groupCount, 2);
  assert.equal(compileCaptureSubset('(?P<y>b)(?P<z>c)', ['y']).groupCount, 1);
  assert.equal(compileCaptureSubset('(?P<y>b)(?P<z>c)', ['z', 'y']).groupCount, 2);
  assert.notEqual(compileCaptureSubset('(?P<y>b)(?P<z>c)', ['y']), compileRegex('(?P<y>b)(?P<z>c)'));
});
