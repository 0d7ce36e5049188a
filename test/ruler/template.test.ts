// Alert templates render as Prometheus renders them: the cases below are Prometheus's documented
// outputs for its template functions and Go's text/template and fmt rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandAlertTemplate, humanize, humanize1024, humanizeDuration, humanizePercentage, humanizeTimestamp } from '../../src/ruler/template-functions.ts';
import { checkAlertTemplate } from '../../src/ruler/template-functions.ts';
import { TemplateParseError } from '../../src/gotemplate/errors.ts';

const data = {
  labels: { pod: 'trainer-3', rank: '3', job: 'llm', node: 'gpu-node-1.example.com:9100' },
  value: 1234567.5,
  externalLabels: { cluster: 'c1' },
  externalURL: 'http://rankscope.example:3100/base',
  ruleName: 'Slow',
};

const cases: Array<[template: string, expected: string]> = [
  ['plain text, no actions', 'plain text, no actions'],
  ['rank {{ $labels.rank }} on {{ .Labels.pod }}', 'rank 3 on trainer-3'],
  ['{{ $value }}', '1.2345675e+06'],
  ['{{ .Value }}', '1.2345675e+06'],
  ['{{ $value | humanize }}', '1.235M'],
  ['{{ humanize1024 1048576 }}', '1Mi'],
  ['{{ humanizeDuration 3725 }}', '1h 2m 5s'],
  ['{{ humanizePercentage 0.0567 }}', '5.67%'],
  ['{{ printf "%.2f" $value }}', '1234567.50'],
  ['{{ printf "%d|%5s|%-4s|%q|%x|%05.1f" 42 "ab" "c" "x" 255 3.14159 }}', '42|   ab|c   |"x"|ff|003.1'],
  ['{{ printf "%s" }}', '%!s(MISSING)'],
  ['{{ if gt $value 1000.0 }}big{{ else if gt $value 1.0 }}mid{{ else }}small{{ end }}', 'big'],
  ['{{ if lt $value 10.0 }}small{{ else }}not small{{ end }}', 'not small'],
  ['{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}', 'job=llm;node=gpu-node-1.example.com:9100;pod=trainer-3;rank=3;'],
  ['{{ range $labels }}{{ . }},{{ end }}', 'llm,gpu-node-1.example.com:9100,trainer-3,3,'],
  ['a   {{- " x " -}}   b', 'a x b'],
  ['{{ toUpper "abc" }} {{ toLower "DeF" }} {{ title "hello world" }}', 'ABC def Hello World'],
  ['{{ reReplaceAll "trainer-(.*)" "rank $1" $labels.pod }}', 'rank 3'],
  ['{{ match "^trainer" $labels.pod }}', 'true'],
  ['{{ $externalLabels.cluster }} {{ $externalURL }} {{ pathPrefix }}', 'c1 http://rankscope.example:3100/base /base'],
  ['[{{ .Labels.missing }}]', '[]'],
  ['{{ with $labels.rank }}R{{ . }}{{ end }}{{ with $labels.missing }}no{{ else }}none{{ end }}', 'R3none'],
  ['{{ $x := 5 }}{{ $x }} {{ len $labels }} {{ 1000000.0 }} {{ 0.00001 }} {{ 123456.0 }}', '5 4 1e+06 1e-05 123456'],
  ['{{ stripPort $labels.node }} {{ stripDomain $labels.node }}', 'gpu-node-1.example.com gpu-node-1:9100'],
  ['{{ "3600" | parseDuration }}', '<error expanding template: error executing template __alert_Slow: template: __alert_Slow:1:12: executing "__alert_Slow" at <parseDuration>: error calling parseDuration: not a valid duration string: "3600">'],
  ['{{ "1h" | parseDuration }}', '3600'],
  ['{{ and "a" "" }}|{{ or "" "b" }}|{{ not true }}|{{ eq $labels.rank "1" "3" }}|{{ ne 1 2 }}', '|b|false|true|true'],
  ['{{/* a comment */}}x{{ index $labels "pod" }}', 'xtrainer-3'],
  ['{{ (printf "%s-%s" "a" "b") | toUpper }}', 'A-B'],
  ['{{ "}}" }}|{{ printf "%s" "{{x}}" }}', '}}|{{x}}'],
  ['{{ nope }}', '<error expanding template: error parsing template __alert_Slow: template: __alert_Slow:1: function "nope" not defined>'],
  ['{{ $labels.pod', '<error expanding template: error parsing template __alert_Slow: template: __alert_Slow:1: unclosed action>'],
  ['{{ if true }}unterminated', '<error expanding template: error parsing template __alert_Slow: template: __alert_Slow:1: unexpected EOF>'],
  ['{{ if gt $value 1000 }}x{{ end }}', '<error expanding template: error executing template __alert_Slow: template: __alert_Slow:1:6: executing "__alert_Slow" at <gt>: error calling gt: incompatible types for comparison>'],
  ['{{ define "pod" }}pod {{ .pod }}{{ end }}{{ template "pod" $labels }} at {{ $value | humanize }}', 'pod trainer-3 at 1.235M'],
  ['{{ $x := 0 }}{{ range $i, $k := args "a" "b" "c" }}{{ if eq $i "arg1" }}{{ continue }}{{ end }}{{ $k }}{{ end }}', 'ac'],
  ['{{ with query "up" }}{{ . | first | value }}{{ end }}', '<error expanding template: error executing template __alert_Slow: template: __alert_Slow:1:8: executing "__alert_Slow" at <query>: error calling query: query is not supported in rankscope alert templates; put the value in the rule expression>'],
];

test('alert templates render like Prometheus', () => {
  for (const [template, expected] of cases) {
    assert.equal(expandAlertTemplate(template, data), expected, `template ${JSON.stringify(template)}`);
  }
});

test('humanize functions follow Prometheus formatting', () => {
  const table: Array<[(v: unknown) => string, unknown, string]> = [
    [humanize, 0, '0'],
    [humanize, 1, '1'],
    [humanize, 1234, '1.234k'],
    [humanize, 0.001234, '1.234m'],
    [humanize, 1e-9, '1n'],
    [humanize, -12345678, '-12.35M'],
    [humanize, Infinity, '+Inf'],
    [humanize1024, 1, '1'],
    [humanize1024, 1536, '1.5ki'],
    [humanize1024, 1073741824, '1Gi'],
    [humanizeDuration, 0, '0s'],
    [humanizeDuration, 1.5, '1.5s'],
    [humanizeDuration, 0.25, '250ms'],
    [humanizeDuration, 60, '1m 0s'],
    [humanizeDuration, 2 * 86400 + 5, '2d 0h 0m 5s'],
    [humanizeDuration, -3725, '-1h 2m 5s'],
    [humanizePercentage, 1, '100%'],
    [humanizePercentage, 0.123456, '12.35%'],
    [humanizeTimestamp, 1435065584.128, '2015-06-23 13:19:44.128 +0000 UTC'],
    [humanize, '2048', '2.048k'],
  ];
  for (const [fn, input, expected] of table) assert.equal(fn(input), expected, `${fn.name}(${String(input)})`);
});

test('rule-file checks report the template problem and its offset', () => {
  assert.throws(() => checkAlertTemplate('ok {{ end }}'), (error: unknown) => error instanceof TemplateParseError && error.offset === 3 && error.message === 'unexpected {{end}}');
  assert.throws(() => checkAlertTemplate('{{ "unterminated }}'), TemplateParseError);
  assert.throws(() => checkAlertTemplate('{{ | x }}'), TemplateParseError);
  assert.throws(() => checkAlertTemplate('{{ $nope }}'), /undefined variable "\$nope"/);
  checkAlertTemplate('{{ define "x" }}{{ .pod }}{{ end }}{{ template "x" $labels }}');
  // As in Prometheus, $labels and the rest are variables of the main template, not of a define.
  assert.throws(() => checkAlertTemplate('{{ define "x" }}{{ $labels.pod }}{{ end }}'), /undefined variable "\$labels"/);
});
