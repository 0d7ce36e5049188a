// `| json` as Loki flattens a line, and the fast paths against the plain one: the walk over a block's
// bytes (no decoded line) and the hinted walk (only the labels a query reads) must give the labels and
// errors the full walk of the decoded line gives, line by line, including odd lines.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonParserStage } from '../../../src/logql/log/json-parser.ts';
import { LabelsBuilder, type PipelineEntry } from '../../../src/logql/log/labels-builder.ts';

const STREAM = { job: 'x', level: 'stream-level' };

function run(needed: Set<string> | null, line: string, raw: boolean): Array<[string, string]> {
  const stage = jsonParserStage([], needed);
  const entry: PipelineEntry = { timestampNs: 0n, line: raw ? '' : line, labels: new LabelsBuilder(STREAM) };
  if (raw) {
    // The line in the middle of a block, as a scan sees it: the bytes around it must not be read.
    const before = Buffer.from('{"prev":1}  ');
    const bytes = Buffer.concat([before, Buffer.from(line), Buffer.from('}"tail":"x"} ]')]);
    assert.ok(stage.processRaw);
    stage.processRaw(entry, bytes, before.length, before.length + Buffer.byteLength(line));
  } else {
    stage.process(entry);
  }
  return entry.labels.entries();
}

test('lines flatten as Loki flattens them', () => {
  const table: Array<[line: string, labels: Record<string, string>]> = [
    ['{"a":1,"b":{"c":"x","d":{"e":true}},"f":[1,2],"g":null}', { a: '1', b_c: 'x', b_d_e: 'true', g: '' }],
    ['{"level":"info","msg":"caf\\u00e9 \\"q\\"\\n"}', { level_extracted: 'info', msg: 'café "q"\n' }],
    ['{"9x":1,"a-b":2," c ":3,"é":4}', { _9x: '1', a_b: '2', c: '3', _: '4' }],
    ['{"n":1.5e3,"m":-0.25}', { n: '1.5e3', m: '-0.25' }],
    ['  {"a":"x"} trailing', { a: 'x' }],
    ['not json', { __error__: 'JSONParserErr', __error_details__: "Value looks like object, but can't find closing '}' symbol" }],
    ['\u00a0{"a":1}', { __error__: 'JSONParserErr', __error_details__: "Value looks like object, but can't find closing '}' symbol" }],
    ['{"a":tru}', { __error__: 'JSONParserErr', __error_details__: 'Unknown value type at offset 5' }],
    ['{"é":"x","a":tru}', { __error__: 'JSONParserErr', __error_details__: 'Unknown value type at offset 13' }],
    ['{"a":"open', { __error__: 'JSONParserErr', __error_details__: 'Value is string, but can\'t find closing \'"\' symbol' }],
    ['{"a":[1,2}', { __error__: 'JSONParserErr', __error_details__: "Value is array, but can't find closing ']' symbol" }],
    ['{"a":}', { __error__: 'JSONParserErr', __error_details__: 'Unexpected end of JSON input' }],
  ];
  for (const [line, expected] of table) {
    const got = Object.fromEntries(run(null, line, false).filter(([name]) => name !== 'job' && !(name === 'level' && !('level' in expected))));
    assert.deepEqual(got, expected, line);
  }
});

const LINES = [
  '{"ts":"2026-01-05T08:00:48.548Z","level":"info","event":"train_metrics","rank":4,"loss":8.69,"lr":1.5e-06}',
  '{"level":"info","a":{"b":"x","c":{"d":1}},"n":1.5e3}',
  '{"ts":"t","lev\\u0065l":"warn","arr":[1,{"q":[2]}],"ok":true,"none":null}',
  '{"x":"1","level":"error","bad":tru}',
  '{"level":"error","x":-0.5E-2,"y":false}',
  '{"x":"unterminated, "level":"debug"}',
  '{"9lives":"cat","level":"info","  ":"spaces","a-b":"dash"}',
  '{"x":01,"level":"info"}',
  '{"level":"info","x":"\\q"}',
  '{"level":"info"} trailing',
  '{"level":"info","level":"dup","a":{"b":"y"},"a_b":"z"}',
  '{"msg":"caf\u00e9 \u{1F600}","k\u00e9y":"v","loss":"\uFFFD"}',
  '{"event":"train_metrics","loss":""}',
  '{}',
  '',
  '   ',
  '{',
  '{"a":{"b":{"c":',
  '[1,2]',
  '{"tab":"a\tb","nl":"a\\nb"}',
  '{"__error__":"boom","loss":1}',
  '{"job":"from-line","job_extracted":"again"}',
];
const NEEDED_SETS = [['level'], ['event', 'loss'], ['a_b', 'a_c_d', 'n'], ['job', 'job_extracted'], ['_9lives', 'k_y', 'msg', 'ok', 'none']];

test('the walk over raw block bytes gives what the walk of the decoded line gives', () => {
  for (const line of LINES) {
    for (const needed of [null, ...NEEDED_SETS.map((names) => new Set([...names, '__error__', '__error_details__']))]) {
      assert.deepEqual(run(needed, line, true), run(needed, line, false), JSON.stringify(line));
    }
  }
});

test('a hinted walk stores exactly the needed labels the full walk stores', () => {
  for (const line of LINES) {
    const full = run(null, line, false);
    for (const names of NEEDED_SETS) {
      const needed = new Set([...names, '__error__', '__error_details__']);
      const keep = ([name]: [string, string]) => needed.has(name) || Object.hasOwn(STREAM, name);
      assert.deepEqual(run(needed, line, true).filter(keep), full.filter(keep), `${[...needed]} on ${JSON.stringify(line)}`);
    }
  }
});
