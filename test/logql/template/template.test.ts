import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, TemplateExecError, TemplateParseError } from '../../../src/logql/template/template.ts';
import { QueryLimitError } from '../../../src/logql/api.ts';

function render(source: string, labels: Record<string, string>, line = 'the line', timestampNs = 1_600_000_000_123_000_000n): string {
  return compileTemplate('line', source).execute({ get: (n) => labels[n], all: () => labels, line, timestampNs });
}

test('Go template basics: fields, pipelines, if/else, range, variables, trim markers', () => {
  assert.equal(render('{{.a}}-{{.missing}}-{{.b}}', { a: 'x', b: 'y' }), 'x--y');
  assert.equal(render('{{ .a | ToUpper | printf "%s!" }}', { a: 'hi' }), 'HI!');
  assert.equal(render('{{if eq .level "error"}}E{{else if eq .level "warn"}}W{{else}}I{{end}}', { level: 'warn' }), 'W');
  assert.equal(render('{{ $x := .a }}{{ $x }}{{ $x }}', { a: 'z' }), 'zz');
  assert.equal(render('a  {{- .a -}}  b', { a: 'X' }), 'aXb');
  assert.equal(render('{{/* comment */}}ok', {}), 'ok');
  assert.equal(render('{{ range $i, $v := fromJson .j }}{{$i}}={{$v}};{{ end }}', { j: '[1,"two"]' }), '0=1;1=two;');
  assert.equal(render('{{ __line__ | len }}', {}, 'abcd'), '4');
});

test("Loki's and sprig's functions", () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['{{ Replace .a "o" "0" -1 }}', { a: 'foo' }, 'f00'],
    ['{{ regexReplaceAll "(\\\\d+)ms" .a "${1} millis" }}', { a: 'took 25ms' }, 'took 25 millis'],
    ['{{ .a | duration }}', { a: '1m30s' }, '90'],
    ['{{ .a | bytes }}', { a: '2KiB' }, '2048'],
    ['{{ mulf 1000 1000 }}', {}, '1e+06'],
    ['{{ add 1 2 "3" }}', {}, '6'],
    ['{{ div 7 2 }} {{ divf 7 2 }}', {}, '3 3.5'],
    ['{{ trunc 3 .a }}|{{ substr 1 3 .a }}', { a: 'abcdef' }, 'abc|bc'],
    ['{{ alignLeft 5 .a }}|{{ alignRight 5 .a }}', { a: 'ab' }, 'ab   |   ab'],
    ['{{ __timestamp__ | date "2006-01-02T15:04:05.000Z07:00" }}', {}, '2020-09-13T12:26:40.123Z'],
    ['{{ __timestamp__ | unixEpochMillis }}', {}, '1600000000123'],
    ['{{ unixToTime "1600000000" | date "2006-01-02" }}', {}, '2020-09-13'],
    ['{{ toDate "2006-01-02" "2021-03-04" | unixEpoch }}', {}, '1614816000'],
    ['{{ b64dec "aGVsbG8" }}', {}, 'hello'],
    ['{{ urlencode "a b&c" }}', {}, 'a+b%26c'],
    ['{{ default "none" .missing }}', {}, 'none'],
    ['{{ printf "%05.1f|%-4s|%d" 3.14159 "ab" 42 }}', {}, '003.1|ab  |42'],
    ['{{ count "a" "banana" }}', {}, '3'],
  ];
  for (const [source, labels, expected] of cases) assert.equal(render(source, labels), expected, source);
});

test("errors carry Go's wording and position", () => {
  assert.throws(() => compileTemplate('line', '{{.a | nosuch}}'), (e: Error) => e instanceof TemplateParseError && e.message === 'template: line:1: function "nosuch" not defined');
  assert.throws(
    () => render('{{.foo | now}}', { foo: 'x' }),
    (e: Error) => e instanceof TemplateExecError && e.message === 'template: line:1:9: executing "line" at <now>: wrong number of args for now: want 0 got 1',
  );
  assert.throws(() => render('{{.foo Replace "foo"}}', { foo: 'x' }), /foo is not a method but has arguments/);
  assert.throws(() => render('{{ trunc .a "x" }}', { a: '3' }), /wrong type for value; expected int; got string/);
});

test('labels are a map[string]string: a missing label reads as "" however it is read', () => {
  assert.equal(render('[{{ index . "missing" }}][{{ $.missing }}][{{ .missing }}]{{ len . }}', { a: 'x' }), '[][][]1');
  assert.equal(render('{{ range $k, $v := . }}{{ $k }}={{ $v }} {{ end }}', { b: '2', a: '1' }), 'a=1 b=2 ');
  assert.equal(render('{{ define "lvl" }}<{{ . }}>{{ end }}{{ template "lvl" .level }}', { level: 'warn' }), '<warn>');
});

test('a template past the engine limits fails the query (400), not the line', () => {
  assert.throws(() => render('{{ repeat 600000000 "ab" }}', {}), (e: Error) => e instanceof QueryLimitError && /template repeat would build 1200000000 characters/.test(e.message));
  assert.throws(() => render('{{ range 2000000 }}{{ end }}', {}), QueryLimitError);
});
