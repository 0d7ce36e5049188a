// The Go-template engine on its own, as a table of Go text/template cases: a template, its output
// (as Go 1.22+ prints it) or Go's exact error message. Data is generic Go values: maps with field
// access, map[string]string, lists, numbers (int as bigint, float64 as number), funcs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fn, runtimeFn } from '../../src/gotemplate/builtins.ts';
import { TemplateExecError, TemplateLimitError, TemplateParseError } from '../../src/gotemplate/errors.ts';
import { MAX_RANGE_ITERATIONS, MAX_TEMPLATE_DEPTH, Template } from '../../src/gotemplate/template.ts';
import { GoFunc, StringMap, toGoValue, type GoValue } from '../../src/gotemplate/value.ts';

const data: GoValue = {
  A: 'x',
  N: 0n,
  F: 2.5,
  L: [10n, 20n, 30n],
  Empty: [],
  Nil: null,
  Map: { b: '2', a: '1' },
  Labels: StringMap.of({ pod: 'p-1', rank: '3' }),
  Nested: { inner: { v: 'deep' } },
  Add: new GoFunc((a, b) => (a as bigint) + (b as bigint)),
};

const outputs: Array<[template: string, expected: string]> = [
  ['hello', 'hello'],
  ['{{.A}}|{{.Missing}}|{{.Labels.missing}}|{{.Nil}}|{{.Missing.X.Y}}', 'x|<no value>||<no value>|<no value>'],
  ["{{ 1 }} {{ 1.5 }} {{ \"s\" }} {{ true }} {{ 0x10 }} {{ 1e6 }} {{ 'a' }} {{ `r\\n` }}", '1 1.5 s true 16 1e+06 97 r\\n'],
  ['{{ .F }} {{ .L }} {{ .Map }} {{ .Labels }} {{ .Empty }}', '2.5 [10 20 30] map[a:1 b:2] map[pod:p-1 rank:3] []'],
  ['{{ and 1 0 }} {{ or 0 "" "x" }} {{ and 1 2 }} {{ or 0 "" }}', '0 x 2 '],
  ['{{ or true (index .L 5) }} {{ and false (index .L 5) }}', 'true false'],
  ['{{ not "" }} {{ not .L }}', 'true false'],
  ['{{ len "héllo" }} {{ len .L }} {{ len .Map }} {{ len .Labels }}', '6 3 2 2'],
  ['{{ index .L 1 }} {{ index .Nested "inner" "v" }} {{ index .Labels "pod" }} {{ index "abc" 1 }}', '20 deep p-1 98'],
  ['{{ slice "abcdef" 1 3 }} {{ slice .L 1 }} {{ slice .L }}', 'bc [20 30] [10 20 30]'],
  ['{{ print 1 2 "a" 3 }}|{{ println 1 "a" }}|', '1 2a3|1 a\n|'],
  ['{{ printf "%5.2f|%-3d|%x|%q|%v|%s|%03d|%+d|%t|%c|%e|%g" 3.14159 7 255 "hi" .L .A 5 3 true 65 1234.5678 0.000012 }}', ' 3.14|7  |ff|"hi"|[10 20 30]|x|005|+3|true|A|1.234568e+03|1.2e-05'],
  ['{{ printf "%d %s" 1.5 2 }}|{{ printf "%s" }}|{{ printf "%d" 1 2 }}', '%!d(float64=1.5) %!s(int=2)|%!s(MISSING)|1%!(EXTRA int=2)'],
  ['{{ eq 1 2 1 }} {{ ne "a" "b" }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt 1.5 2.5 }} {{ ge "b" "a" }} {{ eq .Nil nil }}', 'true true true true false true true'],
  [`{{ html "<a href='x'>&</a>" }}`, '&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;'],
  [`{{ js "it's \\"q\\" <b>" }}`, `it\\'s \\"q\\" \\u003Cb\\u003E`],
  ['{{ urlquery "a b&c=d/é" }}', 'a+b%26c%3Dd%2F%C3%A9'],
  ['{{ call .Add 2 3 }}', '5'],
  ['{{ if .N }}n{{ else if .A }}a{{ else }}none{{ end }}', 'a'],
  ['{{ range $i, $v := .L }}{{ $i }}:{{ $v }};{{ end }}', '0:10;1:20;2:30;'],
  ['{{ range $k, $v := .Map }}{{ $k }}={{ $v }},{{ end }}{{ range .Labels }}{{ . }},{{ end }}', 'a=1,b=2,p-1,3,'],
  ['{{ range .Empty }}x{{ else }}empty{{ end }}{{ range .Nil }}x{{ end }}', 'empty'],
  ['{{ range .L }}{{ if eq . 20 }}{{ continue }}{{ end }}{{ if eq . 30 }}{{ break }}{{ end }}{{ . }}{{ end }}', '10'],
  ['{{ range 3 }}{{ . }}{{ end }}', '012'],
  ['{{ with .A }}[{{ . }}]{{ else }}none{{ end }}{{ with .Missing }}x{{ else }}-{{ end }}', '[x]-'],
  ['{{ with .Missing }}a{{ else with .A }}b{{ . }}{{ end }}', 'bx'],
  ['{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}', '2'],
  ['{{ if $v := .A }}{{ $v }}{{ else }}{{ $v }}-{{ end }}', 'x'],
  ['{{ range .L }}{{ $.A }}{{ end }}', 'xxx'],
  ['{{ .A | printf "%s-%s" "p" }}', 'p-x'],
  ['{{ (index .Nested "inner").v }} {{ .Nested.inner.v }}', 'deep deep'],
  ['a {{- /* a comment */ -}} b', 'ab'],
  ['{{ 1 }}  {{- 2 -}}  {{ 3 }}', '123'],
  // A trim marker reaches the text on the other side of a control boundary: into the body of the
  // if/range/define it opens, and past the {{end}}/{{else}} that closes one.
  ['{{ if true -}}\n  hi {{- end }}|{{ if true }}a{{ end -}}\n  b', 'hi|ab'],
  ['{{ range .L -}}\n  {{ . }}\n{{- end }}', '102030'],
  ['{{ if false }}x{{ else -}}\n  y{{ end }}', 'y'],
  ['{{ define "d" -}}\n  body\n{{- end -}}\n[{{ template "d" }}]', '[body]'],
  ['{{ define "T" }}<{{ . }}>{{ end }}{{ template "T" .A }}{{ template "T" 5 }}{{ template "T" }}', '<x><5><<no value>>'],
  ['{{ block "B" .A }}default {{ . }}{{ end }}', 'default x'],
  ['{{ define "T" }}{{ $ }}{{ end }}{{ $y := 1 }}{{ template "T" .F }}', '2.5'],
];

const errors: Array<[template: string, error: RegExp | string]> = [
  ['{{ end }}', 'template: t:1: unexpected {{end}}'],
  ['{{ if true }}x', 'template: t:1: unexpected EOF'],
  ['{{ .A', 'template: t:1: unclosed action'],
  ['line one\n{{ nosuch }}', 'template: t:2: function "nosuch" not defined'],
  ['{{ $x }}', 'template: t:1: undefined variable "$x"'],
  ['{{ $x := 1 }}{{ define "T" }}{{ $x }}{{ end }}', 'template: t:1: undefined variable "$x"'],
  ['{{ break }}', 'template: t:1: {{break}} outside {{range}}'],
  ['{{ if }}x{{ end }}', 'template: t:1: missing value for if'],
  ['a\nb\n{{ with }}x{{ end }}', 'template: t:3: missing value for with'],
  ['{{ }}', 'template: t:1: missing value for command'],
  ['{{ (  ) }}', 'template: t:1: missing value for parenthesized pipeline'],
  ['{{ .A.B }}', 'template: t:1:3: executing "t" at <.A.B>: can\'t evaluate field B in type string'],
  ['\n  {{ index .L 5 }}', 'template: t:2:5: executing "t" at <index>: error calling index: index out of range: 5'],
  ['{{ len }}', 'template: t:1:3: executing "t" at <len>: wrong number of args for len: want 1 got 0'],
  ['{{ printf 1 }}', 'template: t:1:10: executing "t" at <1>: wrong type for value; expected string; got int'],
  ['{{ eq 1 "a" }}', 'template: t:1:3: executing "t" at <eq>: error calling eq: incompatible types for comparison'],
  ['{{ .A 1 }}', 'template: t:1:3: executing "t" at <.A>: A is not a method but has arguments'],
  ['{{ template "nope" }}', 'template: t:1:12: executing "t" at <{{template "nope"}}>: template "nope" not defined'],
  ['{{ template "nope" .A -}} ', 'template: t:1:12: executing "t" at <{{template "nope" .A}}>: template "nope" not defined'],
  ['{{ call .A }}', 'template: t:1:3: executing "t" at <call>: error calling call: non-function of type string'],
  ['{{ range .A }}{{ end }}', /^template: t:1:\d+: executing "t" at <.*>: range can't iterate over x$/],
];

function render(source: string, dot: GoValue = data): string {
  return new Template('t', source).execute(dot);
}

test('Go text/template cases render as Go renders them', () => {
  for (const [source, expected] of outputs) assert.equal(render(source), expected, source);
});

test("errors carry Go's message and position", () => {
  for (const [source, expected] of errors) {
    assert.throws(
      () => render(source),
      (error: unknown) => {
        assert.ok(error instanceof TemplateParseError || error instanceof TemplateExecError, `${source}: ${String(error)}`);
        if (typeof expected === 'string') assert.equal(error.message, expected, source);
        else assert.match(error.message, expected, source);
        return true;
      },
      source,
    );
  }
});

test('execution is bounded: output size, range iterations, template depth', () => {
  assert.throws(() => new Template('t', '{{ range 20 }}x{{ end }}', { maxOutputChars: 10 }).execute(null), TemplateLimitError);
  assert.throws(() => render(`{{ range ${MAX_RANGE_ITERATIONS + 1} }}{{ end }}`), TemplateLimitError);
  assert.throws(() => render('{{ range 1000 }}{{ range 1001 }}{{ end }}{{ end }}'), (error: unknown) => error instanceof TemplateLimitError && /iterations/.test(error.message));
  assert.throws(
    () => render('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}'),
    (error: unknown) => error instanceof TemplateExecError && error.message.endsWith(`exceeded maximum template depth (${MAX_TEMPLATE_DEPTH})`),
  );
});

test('a context table extends and may replace builtins; functions can run templates of the set', () => {
  const functions = {
    shout: fn(['string'], (s: string) => `${s.toUpperCase()}!`),
    len: fn(['any'], () => 'mine'),
    // Helm's include, as the deploy renderer will define it.
    include: runtimeFn(['string', 'any'], (runtime, [name, dot]) => runtime.executeTemplate(name as string, dot!)),
    tpl: runtimeFn(['string', 'any'], (runtime, [source, dot]) => runtime.executeSource('tpl', source as string, dot!)),
  };
  const template = new Template('chart', '{{ define "name" }}{{ .A }}-app{{ end }}{{ include "name" . | shout }} {{ len .L }} {{ tpl "{{ .A }}{{ .F }}" . }}', { functions });
  assert.equal(template.execute(data), 'X-APP! mine x2.5');
  assert.throws(() => new Template('plain', '{{ shout "a" }}'), /function "shout" not defined/);
  // More sources join the set (a chart's _helpers.tpl), as Go's t.New(name).Parse does.
  template.addSource('_helpers.tpl', '{{ define "helper" }}h={{ . }}{{ end }}');
  assert.equal(template.executeTemplate('helper', 'v'), 'h=v');
  assert.deepEqual(template.templateNames(), ['_helpers.tpl', 'chart', 'helper', 'name']);
  assert.equal(template.execute({ A: 'a', F: 1n, L: [] }), 'A-APP! mine a1');
  const tplDefines = new Template('t', '{{ tpl "{{ define \\"own\\" }}o{{ end }}{{ template \\"own\\" }}{{ template \\"name\\" . }}" . }}', { functions });
  tplDefines.addSource('names', '{{ define "name" }}n{{ end }}');
  assert.equal(tplDefines.execute(data), 'on');
});

test('variables a context pre-declares are visible everywhere in the main template', () => {
  const template = new Template('t', '{{ $labels.pod }}/{{ range .L }}{{ $value }}{{ end }}', { variables: ['$labels', '$value'] });
  assert.equal(template.execute(data, { labels: StringMap.of({ pod: 'p' }), value: 1.5 }), 'p/1.51.51.5');
  assert.throws(() => new Template('t', '{{ define "d" }}{{ $value }}{{ end }}', { variables: ['$value'] }), /undefined variable "\$value"/);
});

test('parsed YAML/JSON data is generic Go data: nested maps, lists, numbers as float64 (how a chart sees .Values)', () => {
  const dot = toGoValue({ Values: { replicas: 3, image: { tag: 'v1' }, ports: [{ name: 'http', port: 3100 }], enabled: false, big: 2e7 }, Release: { Name: 'rs' } });
  const source = '{{ .Release.Name }}:{{ .Values.image.tag }} x{{ .Values.replicas }}{{ range .Values.ports }} {{ .name }}={{ .port }}{{ end }}{{ if not .Values.enabled }} off{{ end }} {{ .Values.big }} [{{ .Values.nope }}]';
  assert.equal(new Template('chart', source).execute(dot), 'rs:v1 x3 http=3100 off 2e+07 [<no value>]');
});
