// One engine, a function table per context: LogQL's line_format/label_format table (Loki's functions
// and its sprig subset) and Prometheus's alert-template table differ where Loki and Prometheus
// differ, and share Go's builtins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTINS } from '../../src/gotemplate/builtins.ts';
import { createFunctionTable } from '../../src/logql/template/functions.ts';
import { compileTemplate, TemplateParseError } from '../../src/logql/template/template.ts';
import { alertTemplateFunctions, expandAlertTemplate } from '../../src/ruler/template-functions.ts';

const logqlTable = createFunctionTable(() => ({ line: 'the line', timestampNs: 0n }));
const alertTable = alertTemplateFunctions('http://example/');

// function, in LogQL's table, in the alert table
const membership: Array<[name: string, logql: boolean, alerts: boolean]> = [
  ['__line__', true, false],
  ['__timestamp__', true, false],
  ['ToUpper', true, false],
  ['regexReplaceAll', true, false],
  ['alignLeft', true, false],
  ['repeat', true, false],
  ['fromJson', true, false],
  ['unixEpochMillis', true, false],
  ['humanize', false, true],
  ['humanizeDuration', false, true],
  ['humanizeTimestamp', false, true],
  ['reReplaceAll', false, true],
  ['match', false, true],
  ['safeHtml', false, true],
  ['toUpper', false, true],
  ['externalURL', false, true],
  ['pathPrefix', false, true],
  ['sortByLabel', false, true],
  ['query', false, true],
  ['title', true, true],
];

test('each context has its own functions', () => {
  for (const [name, inLogql, inAlerts] of membership) {
    assert.equal(name in logqlTable, inLogql, `${name} in LogQL's table`);
    assert.equal(name in alertTable, inAlerts, `${name} in the alert table`);
  }
  // Go's builtins live in the engine, not in either table.
  for (const name of Object.keys(BUILTINS)) {
    assert.ok(!(name in logqlTable) && !(name in alertTable), `${name} is a builtin, not a context function`);
  }
});

const render = (source: string): string => compileTemplate('line', source).execute({ get: (n) => ({ a: 'x' })[n], all: () => ({ a: 'x' }), line: 'the line', timestampNs: 0n });
const expand = (source: string): string => expandAlertTemplate(source, { labels: { a: 'x' }, value: 1234, externalLabels: {}, externalURL: 'http://example/', ruleName: 'R' });

test('a template renders in the context it was written for and fails to parse in the other', () => {
  assert.equal(render('{{ __line__ }}'), 'the line');
  assert.equal(expand('{{ __line__ }}'), '<error expanding template: error parsing template __alert_R: template: __alert_R:1: function "__line__" not defined>');
  assert.equal(expand('{{ humanize $value }}'), '1.234k');
  assert.throws(() => render('{{ humanize 1234 }}'), (error: unknown) => error instanceof TemplateParseError && error.message === 'template: line:1: function "humanize" not defined');
  // The builtins and fmt are one implementation for both.
  assert.equal(render('{{ printf "%05.1f|%v" 3.14159 .a }}{{ if eq .a "x" }}!{{ end }}'), '003.1|x!');
  assert.equal(expand('{{ printf "%05.1f|%v" 3.14159 .Labels.a }}{{ if eq $labels.a "x" }}!{{ end }}'), '003.1|x!');
});
