// Differential test against RE2 itself (Google's RE2 compiled to WebAssembly, re2-wasm, kept as a
// test oracle only): for every pattern and text, the match position and every capture must equal
// RE2's, on the engine compileRegex picks, on the Pike VM forced, and (match or not) on the lazy DFA.
// re2-wasm leaks its heap per compiled regex, so the table stays under ~100 patterns.
import assert from 'node:assert/strict';
import test from 'node:test';
import { RE2 } from 're2-wasm';
import { compileRegex, parseRegex } from '../../src/regex/index.ts';
import { LazyDfa } from '../../src/regex/lazy-dfa.ts';
import { pikeSearch } from '../../src/regex/pike-vm.ts';
import { compileProgram } from '../../src/regex/program.ts';

const PATTERNS = [
  'a', 'ab|cd', 'a*', 'a+?', 'a{2,3}', 'a{2,3}?', '(a|ab)(c|bcd)(d*)', '(a+)(b)?', '(?:(a)|b)+', '(a*)+', '(a|b)*?c', '(?:x(a)?)+',
  '^abc', 'abc$', '^$', '(?m)^b', '(?m)c$', '(?m)^$', '\\Aab', 'ab\\z', '\\bword\\b', '\\Bor\\B', '(?s)a.c', 'a.c', '[^a]+', '[^\\n]+',
  '(?i)hello', '(?i)k', '(?i)[k-m]+', '(?i)σ+', '(?i)straße', '(?i)[^a-z]+', '(?i)\\w+', '\\d+', '\\D+', '\\s+', '\\S+', '\\W+',
  '[[:alpha:]]+', '[[:^alpha:]]+', '[[:punct:]]+', '[\\D\\s]+', '\\pL+', '\\PL+', '\\p{Greek}+', '\\p{Lu}\\p{Ll}+', '(?i)\\p{Lu}+',
  '[\\p{Han}\\d]+', '.', '..', '^.$', '(.)(.)', '😀+', '[😀-😂]', '\\x{1F600}', '(?U)a+', '(?U)a+?', '(?U)(a|ab)(c|bcd)?',
  '(?P<k>\\w+)=(?P<v>[^ ]*)', 'loss=(\\d+\\.\\d+)', '(\\w+=\\S+\\s?)+$', '[a-f0-9]{8}', '(x{1,2}){3}', '(?:ab){2,}', 'a{0}b',
  '(|a)+', '(a|)+', '()*', '(a?)*b', '((a)|b)*', '(a)|b', 'x*y*z*', '[a-]+', '[]a]+', '\\Q.*\\E+', '(?i)(?-i:a)A', '(?i:a)b',
];

const TEXTS = [
  '', 'a', 'aaa', 'ab', 'abcd', 'abbcd', 'xabcabc', 'b', 'aab', 'ac', 'abc', 'a\nb\nc', '\n\n', 'a word here', 'sword words',
  'HeLLo hello', '\u212A k K', 'ΣΑΣ σς', 'STRASSE straße', 'x-1_y é ü Ω', '日本語123', 'k=v loss=2.31 a=b', 'deadbeef01', '😀😁😂x',
  'a😀b', 'xxyyzz', '.*.*', 'AaBb',
];
// Past 4096 characters a V8-run regex is first checked by the lazy DFA: long texts cover that path.
const LONG_TEXTS = ['x'.repeat(5000) + ' abcd word', 'x y\n'.repeat(1500), 'a😀b '.repeat(1200) + 'Ωmega 123'];
TEXTS.push(...LONG_TEXTS);

function rangesOf(match: ArrayLike<string | undefined> | null): (string | undefined)[] | null {
  return match === null ? null : Array.from(match);
}

test('every pattern matches every text as RE2 does', () => {
  let compared = 0;
  for (const pattern of PATTERNS) {
    const oracle = new RE2(pattern, 'u');
    const compiled = compileRegex(pattern);
    const program = compileProgram(parseRegex(pattern));
    const dfa = new LazyDfa(program);
    for (const text of TEXTS) {
      const expected = oracle.exec(text) as RegExpExecArray | null;
      const what = `${pattern} on ${JSON.stringify(text)}`;
      const ours = compiled.regexp.exec(text);
      assert.deepEqual(rangesOf(ours), rangesOf(expected), `${what} (${compiled.engine})`);
      // re2-wasm counts the index in code points; ours is in UTF-16 units, as String offsets are.
      const expectedIndex = expected === null ? undefined : [...text].slice(0, expected.index).join('').length;
      assert.equal(ours?.index, expectedIndex, `${what} (${compiled.engine}): index`);
      const slots = pikeSearch(program, text, 0, true);
      const pike = slots === null ? null : Array.from({ length: slots.length / 2 }, (_, g) => (slots[2 * g]! >= 0 ? text.slice(slots[2 * g], slots[2 * g + 1]) : undefined));
      assert.deepEqual(pike, rangesOf(expected), `${what} (pike)`);
      assert.equal(dfa.matches(text), expected !== null, `${what} (dfa)`);
      compared++;
    }
  }
  assert.equal(compared, PATTERNS.length * TEXTS.length);
});
