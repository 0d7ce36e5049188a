// RE2 syntax as a table: what RE2 (Go's regexp/syntax) accepts, and what it rejects with which
// message and where. The messages are Go's, since Loki and Prometheus show them verbatim.
import assert from 'node:assert/strict';
import test from 'node:test';
import { parseRegex, RegexSyntaxError } from '../../src/regex/index.ts';
import { checkRegex } from '../../src/logql/syntax/regex-syntax.ts';

const VALID = [
  'abc', 'a|b|', '(?i)abc', '(?s).', '(?m)^a$', '(?U)a+', '(?i-s:a.)', '(?im-sU)x', '(?)', '(?:a)', '(?P<name>a)', '(?<name>a)', '(?P<1x>a)',
  '(?P<a>x)(?P<a>y)', // Go allows a repeated name
  '[\\D]x', '[[:^alpha:]]', '[[:alpha:][:digit:]_]', '[^\\S\\n]', '\\pL', '\\PL', '\\p{Greek}', '\\p{^Greek}', '\\P{^Lu}', '[\\p{Lu}\\d]', '\\p{Any}',
  'a{0}', 'a{1000}', 'a{2,}', 'a{0,1000}', '(a{10}){100}', 'a{,5}', '{', 'a{1,x}', 'x{01}', '\\Qa.b*\\E', '\\Q', '\\Qab', 'a\\z', '\\Aa', '\\bx\\B',
  '\\x41\\x{10FFFF}\\101\\0\\a\\f\\t\\n\\v\\r', '[\\x00-\\x{10FFFF}]', '[]a]', '[^]a]', '[a-]', '[-a]', '^*', 'a*?', 'a+?', 'a??', 'a{2}?',
  '😀+', '[😀-😂]', '(?i)σ', '\\.\\*\\\\', 'a(?i)*',
];

test('valid RE2 parses', () => {
  for (const pattern of VALID) {
    assert.doesNotThrow(() => parseRegex(pattern), `${pattern} should parse`);
    assert.equal(checkRegex(pattern).error, undefined, `${pattern}: the LogQL checker agrees`);
  }
});

const INVALID: Array<[pattern: string, message: string, position: number]> = [
  ['(a', 'missing closing ): `(a`', 0],
  ['x(a(b)', 'missing closing ): `x(a(b)`', 1],
  ['a)', 'unexpected ): `a)`', 1],
  [')', 'unexpected ): `)`', 0],
  ['a**', 'invalid nested repetition operator: `**`', 1],
  ['a*?+', 'invalid nested repetition operator: `*?+`', 1],
  ['x{2}{3}', 'invalid nested repetition operator: `{2}{3}`', 1],
  ['*a', 'missing argument to repetition operator: `*`', 0],
  ['(+)', 'missing argument to repetition operator: `+`', 1],
  ['a|?', 'missing argument to repetition operator: `?`', 2],
  ['{2}', 'missing argument to repetition operator: `{2}`', 0],
  ['a{1001}', 'invalid repeat count: `{1001}`', 1],
  ['a{2,1}', 'invalid repeat count: `{2,1}`', 1],
  ['(a{100}){100}', 'invalid repeat count: `{100}`', 8],
  ['((a{10}){10}){11}', 'invalid repeat count: `{11}`', 13],
  ['\\1', 'invalid escape sequence: `\\1`', 0],
  ['(a)\\1', 'invalid escape sequence: `\\1`', 3],
  ['\\8', 'invalid escape sequence: `\\8`', 0],
  ['\\q', 'invalid escape sequence: `\\q`', 0],
  ['\\C', 'invalid escape sequence: `\\C`', 0],
  ['\\Z', 'invalid escape sequence: `\\Z`', 0],
  ['\\xZZ', 'invalid escape sequence: `\\xZZ`', 0],
  ['\\x{110000}', 'invalid escape sequence: `\\x{110000`', 0],
  ['\\x{}', 'invalid escape sequence: `\\x{}`', 0],
  ['[\\b]', 'invalid escape sequence: `\\b`', 1],
  ['\\é', 'invalid escape sequence: `\\é`', 0],
  ['a\\', 'trailing backslash at end of expression: ``', 1],
  ['(?=a)', 'invalid or unsupported Perl syntax: `(?=`', 0],
  ['(?!a)', 'invalid or unsupported Perl syntax: `(?!`', 0],
  ['(?<=a)b', 'invalid named capture: `(?<=a)b`', 0],
  ['(?<!a>b)', 'invalid named capture: `(?<!a>`', 0],
  ['(?P=n)', 'invalid or unsupported Perl syntax: `(?P`', 0],
  ['(?x)', 'invalid or unsupported Perl syntax: `(?x`', 0],
  ['(?i', 'invalid or unsupported Perl syntax: `(?i`', 0],
  ['(?-)', 'invalid or unsupported Perl syntax: `(?-)`', 0],
  ['(?i-)', 'invalid or unsupported Perl syntax: `(?i-)`', 0],
  ['(?P<>a)', 'invalid named capture: `(?P<>`', 0],
  ['(?P<a-b>x)', 'invalid named capture: `(?P<a-b>`', 0],
  ['(?P<name', 'invalid named capture: `(?P<name`', 0],
  ['[a', 'missing closing ]: `[a`', 0],
  ['x[]', 'missing closing ]: `[]`', 1],
  ['[z-a]', 'invalid character class range: `z-a`', 1],
  ['[[:foo:]]', 'invalid character class range: `[:foo:]`', 1],
  ['\\pX', 'invalid character class range: `\\pX`', 0],
  ['\\p{Klingon}', 'invalid character class range: `\\p{Klingon}`', 0],
  ['\\p{Greek', 'invalid character class range: `\\p{Greek`', 0],
  ['[\\p{Nope}]', 'invalid character class range: `\\p{Nope}`', 1],
  [`${'('.repeat(1001)}${')'.repeat(1001)}`, `expression nests too deeply: \`${'('.repeat(1001)}${')'.repeat(1001)}\``, 1000],
  ['(?:[a-z]{1000}){1}x{1000}y{1000}z{1000}.{1000}(a{1000}b{1000}c{1000}d{1000}e{1000}f{1000}g{1000}h{1000}i{1000}j{1000}k{1000}l{1000}m{1000}n{1000}o{1000}p{1000}q{1000}r{1000}s{1000}t{1000})', 'expression too large', 0],
];

test('invalid RE2 fails with Go\'s message and the position of the fault', () => {
  for (const [pattern, message, position] of INVALID) {
    assert.throws(
      () => parseRegex(pattern),
      (error: unknown) => {
        assert.ok(error instanceof RegexSyntaxError, `${pattern}: a RegexSyntaxError`);
        assert.ok(error.message.startsWith(`error parsing regexp: ${message}`), `${pattern}: got ${error.message}`);
        assert.equal(error.position, position, `${pattern}: position`);
        return true;
      },
    );
    const check = checkRegex(pattern);
    assert.equal(check.error, (() => { try { parseRegex(pattern); } catch (e) { return (e as Error).message; } return undefined; })(), `${pattern}: the LogQL checker gives the same message`);
    assert.equal(check.errorPosition, position);
  }
});

test('the tree carries flags, captures and names', () => {
  const parsed = parseRegex('(?i)a(?P<x>b)(c)(?-i:D)');
  assert.equal(parsed.captureCount, 2);
  assert.deepEqual(parsed.captureNames, [undefined, 'x', undefined]);
  assert.equal(parsed.root.kind, 'concat');
  const subs = parsed.root.kind === 'concat' ? parsed.root.subs : [];
  assert.deepEqual(subs[0], { kind: 'literal', codePoint: 0x61, foldCase: true });
  assert.deepEqual(subs[3], { kind: 'literal', codePoint: 0x44, foldCase: false });
  const ungreedy = parseRegex('(?U)a+b+?').root;
  assert.ok(ungreedy.kind === 'concat');
  assert.deepEqual(ungreedy.subs.map((node) => node.kind === 'repeat' && node.greedy), [false, true]);
  // (?m) turns ^ $ into line anchors; \A \z stay text anchors.
  const multiline = parseRegex('(?m)^\\A$\\z').root;
  assert.ok(multiline.kind === 'concat');
  assert.deepEqual(multiline.subs.map((node) => node.kind === 'assert' && node.assertion), ['beginLine', 'beginText', 'endLine', 'endText']);
});
