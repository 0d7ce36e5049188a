import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expositionFormatOf, parseExposition, parseSampleValue } from '../../src/push/exposition-parse.ts';
import { histogramSamples, writeFamily } from '../../src/push/exposition-text.ts';

test('Prometheus text 0.0.4: families, labels with escapes, timestamps in ms, special values', () => {
  const text = [
    '# HELP http_requests_total Requests served.\\nBy code.',
    '# TYPE http_requests_total counter',
    'http_requests_total{method="post",code="200"} 1027 1395066363000',
    'http_requests_total{method="post",code="400"}    3 1395066363000',
    '',
    '# A free comment',
    'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
    'metric_without_timestamp_and_labels 12.47',
    'something_weird{problem="division by zero"} +Inf -3982045',
    '# TYPE rpc_duration_seconds summary',
    'rpc_duration_seconds{quantile="0.5"} 4773',
    'rpc_duration_seconds_sum 1.7560473e+07',
    'rpc_duration_seconds_count 2693',
    '  indented_gauge NaN',
    '{"my.dotted.metric", "le.x"="1"} 2',
  ].join('\n');
  const parsed = parseExposition(text);
  assert.equal(parsed.families.get('http_requests_total')?.type, 'counter');
  assert.equal(parsed.families.get('http_requests_total')?.help, 'Requests served.\nBy code.');
  const byName = (name: string) => parsed.samples.filter((sample) => sample.name === name);
  assert.deepEqual(byName('http_requests_total').map((s) => [s.labels, s.value, s.timestampMs]), [
    [{ method: 'post', code: '200' }, 1027, 1395066363000],
    [{ method: 'post', code: '400' }, 3, 1395066363000],
  ]);
  assert.deepEqual(byName('msdos_file_access_time_seconds')[0]!.labels, { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
  assert.equal(byName('something_weird')[0]!.value, Infinity);
  assert.equal(byName('something_weird')[0]!.timestampMs, -3982045);
  assert.deepEqual(['rpc_duration_seconds', 'rpc_duration_seconds_sum', 'rpc_duration_seconds_count'].map((name) => byName(name)[0]!.family), Array(3).fill('rpc_duration_seconds'));
  assert.ok(Number.isNaN(byName('indented_gauge')[0]!.value));
  assert.deepEqual(byName('my.dotted.metric')[0]!.labels, { 'le.x': '1' });
  assert.equal(byName('http_requests_total')[1]!.line, 4);
});

test('OpenMetrics 1.0: seconds timestamps, exemplars, _created, units and the required # EOF', () => {
  const text = [
    '# TYPE acme_http_router_request_seconds histogram',
    '# UNIT acme_http_router_request_seconds seconds',
    '# HELP acme_http_router_request_seconds Latency though all of ACME\'s HTTP request router.',
    'acme_http_router_request_seconds_bucket{path="/api/v1",le="0.1"} 25 # {trace_id="KOO5S4vxi0o"} 0.067 1.605e9',
    'acme_http_router_request_seconds_bucket{path="/api/v1",le="+Inf"} 27',
    'acme_http_router_request_seconds_sum{path="/api/v1"} 3.9',
    'acme_http_router_request_seconds_count{path="/api/v1"} 27',
    'acme_http_router_request_seconds_created{path="/api/v1"} 1.6e9',
    '# TYPE jobs counter',
    'jobs_total 4 1.5',
    'jobs_created 1.4',
    '# EOF',
  ].join('\n') + '\n';
  const parsed = parseExposition(text, 'openmetrics-text');
  assert.equal(parsed.families.get('acme_http_router_request_seconds')?.unit, 'seconds');
  const bucket = parsed.samples[0]!;
  assert.deepEqual(bucket.exemplar, { labels: { trace_id: 'KOO5S4vxi0o' }, value: 0.067, timestampMs: 1.605e12 });
  assert.equal(bucket.family, 'acme_http_router_request_seconds');
  const jobs = parsed.samples.filter((sample) => sample.family === 'jobs');
  assert.deepEqual(jobs.map((sample) => [sample.name, sample.value, sample.timestampMs]), [['jobs_total', 4, 1500], ['jobs_created', 1.4, undefined]]);
  assert.equal(expositionFormatOf('application/openmetrics-text; version=1.0.0; charset=utf-8'), 'openmetrics-text');
  assert.equal(expositionFormatOf('text/plain; version=0.0.4'), 'prometheus-text');
});

test('bad input names the line and what was wrong', () => {
  const cases: Array<[string, RegExp, ('prometheus-text' | 'openmetrics-text')?]> = [
    ['ok 1\nbad{a="1" 2\n', /: line 2: expected "," or "}" in the label set/],
    ['m{a="1",a="2"} 1', /: line 1: label "a" appears twice/],
    ['m{a="x\\q"} 1', /: line 1: invalid escape "\\q"/],
    ['m 1 2 3', /: line 1: unexpected "3" where the line should end/],
    ['m one', /: line 1: invalid sample value "one"/],
    ['m 1 1.5', /: line 1: invalid timestamp "1\.5" \(integer milliseconds\)/],
    ['# TYPE m bogus\nm 1', /: line 1: unknown metric type "bogus" for m/],
    ['m 1\n# TYPE m gauge\n', /: line 2: TYPE line for m after its samples/],
    ['m{a="unterminated} 1', /: line 1: line feed inside a quoted label value|: line 1: unterminated quoted label value/],
    ['m 1 # {a="b"} 1', /: line 1: unexpected "#" after the sample \(exemplars need OpenMetrics\)/],
    ['m 1\n', /: line 2: missing "# EOF"/, 'openmetrics-text'],
    ['m 1\n\n# EOF\n', /: line 2: empty line/, 'openmetrics-text'],
    ['# EOF\nm 1\n', /: line 2: content after "# EOF"/, 'openmetrics-text'],
    ['{} 1', /: line 1: a sample needs a metric name/],
  ];
  for (const [text, pattern, format] of cases) assert.throws(() => parseExposition(text, format), pattern, text);
});

test('what our writer writes, the parser reads back', () => {
  const lines: string[] = [];
  writeFamily(lines, 'q_seconds', 'histogram', 'Query "time"\nin seconds.', histogramSamples({ route: 'a\\b"c\nd' }, [[0.5, 3]], 1.25, 4));
  writeFamily(lines, 'up', 'gauge', 'Up.', [{ labels: {}, value: NaN }, { labels: { job: 'x' }, value: -Infinity }]);
  const parsed = parseExposition(lines.join('\n') + '\n');
  assert.equal(parsed.families.get('q_seconds')?.help, 'Query "time"\nin seconds.');
  assert.deepEqual(parsed.samples.map((sample) => [sample.name, sample.labels, sample.value, sample.family]).slice(0, 4), [
    ['q_seconds_bucket', { route: 'a\\b"c\nd', le: '0.5' }, 3, 'q_seconds'],
    ['q_seconds_bucket', { route: 'a\\b"c\nd', le: '+Inf' }, 4, 'q_seconds'],
    ['q_seconds_sum', { route: 'a\\b"c\nd' }, 1.25, 'q_seconds'],
    ['q_seconds_count', { route: 'a\\b"c\nd' }, 4, 'q_seconds'],
  ]);
  assert.ok(Number.isNaN(parsed.samples[4]!.value));
  assert.equal(parsed.samples[5]!.value, -Infinity);
});

test('sample values follow Go float syntax', () => {
  const cases: Array<[string, number | undefined]> = [
    ['1', 1], ['-1.5e3', -1500], ['.5', 0.5], ['1.', 1], ['0x1F', 31], ['Inf', Infinity], ['+inf', Infinity], ['-Inf', -Infinity],
    ['1_000', undefined], ['', undefined], ['1e', undefined], ['--1', undefined], ['abc', undefined],
  ];
  for (const [token, expected] of cases) assert.equal(parseSampleValue(token), expected, token);
  assert.ok(Number.isNaN(parseSampleValue('NaN')!));
});
