// The one duration parser, as a table: config files and request parameters take a number of
// seconds, a Prometheus duration or a Go duration; LogQL's grammars stay strict where Loki is.
import assert from 'node:assert/strict';
import test from 'node:test';
import { formatDurationMs, parseDurationMs, parseGoDuration, parseLokiDuration, parsePrometheusDuration } from '../../src/duration/duration.ts';
import { serverConfigSchema } from '../../src/server/config.ts';
import { rulerConfigSchema } from '../../src/ruler/config.ts';
import { parseRuleFile } from '../../src/ruler/rule-file.ts';

const CONFIG_DURATIONS: Array<[text: string, ms: number]> = [
  ['0', 0],
  ['30', 30_000], // plain seconds, as docs/config.md promises
  ['1.5', 1_500],
  ['.25', 250],
  [' 45 ', 45_000],
  ['500ms', 500],
  ['90s', 90_000],
  ['5m', 300_000],
  ['1h30m', 5_400_000],
  ['7d', 604_800_000],
  ['168h', 604_800_000],
  ['2w', 1_209_600_000],
  ['1y', 31_536_000_000],
  ['1.5h', 5_400_000], // Go's grammar: fractions
  ['1h0.5m', 3_630_000],
  ['1500us', 2], // rounded to the millisecond
  ['30m1h', 5_400_000], // Go takes units in any order
];

const BAD_DURATIONS = ['', ' ', '7x', 'h', '1h 30m', '-1h', '-5', '1e3', 'five minutes', '1h-30m', '1d1d1'];

test('config and parameter durations: seconds, Prometheus or Go', () => {
  for (const [text, ms] of CONFIG_DURATIONS) assert.equal(parseDurationMs(text), ms, JSON.stringify(text));
  for (const bad of BAD_DURATIONS) {
    assert.throws(() => parseDurationMs(bad), /duration/, JSON.stringify(bad));
  }
  assert.throws(() => parseDurationMs('-1h'), /must not be negative/);
  assert.throws(() => parseDurationMs('7x'), /not a valid duration string: "7x" \(expected a number of seconds or a duration such as 500ms/);
});

test('LogQL grammars keep Loki\'s strictness', () => {
  const S = 1_000_000_000n;
  assert.equal(parsePrometheusDuration('1h30m'), 5400n * S);
  assert.throws(() => parsePrometheusDuration('30'), /not a valid duration string/); // [30] is not a range
  assert.throws(() => parsePrometheusDuration('1.5h'), /unknown unit/);
  assert.equal(parseGoDuration('-1.5h'), -5400n * S);
  assert.throws(() => parseGoDuration('1d'), /unknown unit "d"/);
  assert.equal(parseLokiDuration('1d'), 86_400n * S);
  assert.equal(parseLokiDuration('1.5h'), 5400n * S);
});

test('durations print as Prometheus does', () => {
  const table: Array<[number, string]> = [
    [0, '0s'],
    [500, '500ms'],
    [5_400_000, '1h30m'],
    [604_800_000, '1w'],
    [691_200_000, '8d'],
    [31_536_000_000, '1y'],
  ];
  for (const [ms, text] of table) assert.equal(formatDurationMs(ms), text);
});

test('every config section and rule files read plain seconds', () => {
  const server = serverConfigSchema.parse({ store: { retention_period: '86400' } });
  assert.equal(server.store.retention_period, 86_400_000);
  const ruler = rulerConfigSchema.parse({ poll_interval: '10', evaluation_interval: 30 }); // YAML `30` is a number
  assert.equal(parseDurationMs(ruler.poll_interval), 10_000);
  assert.equal(parseDurationMs(ruler.evaluation_interval), 30_000);
  const groups = parseRuleFile('groups:\n  - name: g\n    interval: 30\n    rules:\n      - alert: A\n        expr: sum(rate({job="x"}[1m])) > 0\n        for: 90\n', 'rules.yaml');
  assert.equal(groups[0]?.intervalMs, 30_000);
  assert.equal(groups[0]?.rules[0]?.forMs, 90_000);
  assert.throws(() => rulerConfigSchema.parse({ poll_interval: 'soon' }), /duration/);
});
