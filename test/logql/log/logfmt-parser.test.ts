// `| logfmt` as Loki reads a line, and the fast paths against the plain one: the scan over a block's
// bytes (no decoded line) and the hinted parser (only the labels a query reads) must give the labels
// and errors the full parse of the decoded line gives, line by line, including odd lines.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpr } from '../../../src/logql/syntax/parser.ts';
import type { LogExpr, LogfmtParserStage } from '../../../src/logql/syntax/ast.ts';
import { logfmtParserStage, scanLogfmt } from '../../../src/logql/log/logfmt-parser.ts';
import { LabelsBuilder, type PipelineEntry } from '../../../src/logql/log/labels-builder.ts';

function stageOf(text: string): LogfmtParserStage {
  const stage = (parseExpr(`{job="x"} ${text}`) as LogExpr).pipeline[0]!;
  assert.equal(stage.kind, 'logfmt');
  return stage as LogfmtParserStage;
}

const STREAM = { job: 'x', level: 'stream-level' };

test('pairs and errors as go-logfmt reads them', () => {
  const table: Array<[line: string, strict: boolean, pairs: Array<[string, string | null]>, error?: string]> = [
    ['a=1 b="x y" c', false, [['a', '1'], ['b', 'x y'], ['c', null]]],
    ['a= b="" c=3', false, [['a', null], ['b', null], ['c', '3']]],
    ['msg="say \\"hi\\"\\n" path=/a/b', false, [['msg', 'say "hi"\n'], ['path', '/a/b']]],
    ['u="\\u00e9t\\u00e9" k\u00e9y=v\u00e4l', false, [['u', 'été'], ['k\u00e9y', 'v\u00e4l']]],
    ['a=1 =2 b"c=3 d=4', false, [['a', '1'], ['d', '4']]],
    ['a=x=y b=2', false, [['b', '2']]],
    ['a="unterminated b=2', false, []],
    ['a="bad \\q escape" b=2', false, [['b', '2']]],
    ['  \t a=1\t\tb=2  ', false, [['a', '1'], ['b', '2']]],
    ['a="x"b=2', false, [['a', 'x'], ['b', '2']]],
    ['a=1 =2', true, [['a', '1']], "logfmt syntax error at pos 5 : unexpected '='"],
    // Positions count bytes: é is two.
    ['é=1 b"=2', true, [['é', '1']], `logfmt syntax error at pos 7 : unexpected '"'`],
    ['a=x=y', true, [], "logfmt syntax error at pos 4 : unexpected '='"],
    ['a="open', true, [], 'logfmt syntax error at pos 8 : unterminated quoted value'],
    ['a="\\q"', true, [], 'logfmt syntax error at pos 7 : invalid quoted value'],
    ['a=1 \uFFFD=2', true, [['a', '1']], 'logfmt syntax error at pos 8 : invalid key'],
  ];
  for (const [line, strict, pairs, error] of table) {
    const scan = scanLogfmt(line, strict);
    assert.deepEqual(scan.pairs.map((p) => [p.key, p.value]), pairs, line);
    assert.equal(scan.error, error, line);
  }
});

/** Lines with everything the scanner branches on: escapes, unicode, duplicates, empties, junk. */
const LINES = [
  'level=info msg="hello world" duration=12ms',
  'level=info level=error status=200',
  'status=500 status="" status=404',
  'grad-norm=1 grad_norm=2 grad.norm=3',
  'grad\u00a0norm=4 grad_norm\u3000=5',
  ' \u00a0level=spaced',
  'level=\u00e9t\u00e9 msg="caf\u00e9 \\u00e9" emoji=\u{1F600} k\u{1F600}y=1',
  'msg="tab\\there" x="quote\\"inside" y="back\\\\slash"',
  'a= b="" c d=',
  '9lives=cat _under=1 __error__=boom',
  'level="unterminated status=1',
  'a=x=y level=warn b"c=1 =2',
  'replacement=\uFFFD \uFFFDkey=1 level=\uFFFDbad',
  '',
  '{"not":"logfmt"}',
  'level=info job=from-line job_extracted=again',
  'x="\\u00zz" level=debug',
  'a=1\tb=2\nc=3',
  // Where a query that reads one label starts its scan: quotes, keys that sanitize to __error__, keys
  // that end in the label's run, the run in values, a tqdm line.
  'msg="level=x y" level=z',
  'a=1 ..error..=boom level=2 status=3',
  'xlevel=1 level_=2 level\u00a0=3 level=4',
  'msg=level=3 level level= level=5',
  'grad_norm grad_norm= xgrad_norm=1 grad-norm=0 grad_norm=2.19]',
  '[rank1]:Training:   0%|   | 1/1000000 [00:45<103:58:41,  2.67it/s, loss=8.851, grad_norm=2.19]',
  'status=1 error=x status=2 terror=3',
  'nolabel here at all',
];

const CONFIGS = ['| logfmt', '| logfmt --strict', '| logfmt --keep-empty', '| logfmt --strict --keep-empty', '| logfmt lvl="level", s="status", gn="grad_norm"', '| logfmt --keep-empty lvl="level", missing="nope"'];
const NEEDED_SETS = [['level'], ['status', 'grad_norm'], ['job', 'job_extracted'], ['_9lives', 'k_y', 'emoji'], ['msg', 'x', 'y', 'a', 'b', 'c', 'd'], ['grad_norm'], ['status'], ['x_'], ['loss'], ['job']];

function run(text: string, needed: Set<string> | null, line: string, raw: boolean): Array<[string, string]> {
  const stage = logfmtParserStage(stageOf(text), needed);
  const entry: PipelineEntry = { timestampNs: 0n, line: raw ? '' : line, labels: new LabelsBuilder(STREAM) };
  if (raw) {
    // The line in the middle of a block, as a scan sees it.
    const before = Buffer.from('prev=1 "open');
    const bytes = Buffer.concat([before, Buffer.from(line), Buffer.from('next="x y" level=after')]);
    assert.ok(stage.processRaw);
    stage.processRaw(entry, bytes, before.length, before.length + Buffer.byteLength(line));
  } else {
    stage.process(entry);
  }
  return entry.labels.entries();
}

test('the scan of raw block bytes gives what the parse of the decoded line gives', () => {
  for (const text of CONFIGS) {
    for (const line of LINES) {
      for (const needed of [null, ...NEEDED_SETS.map((names) => new Set([...names, '__error__', '__error_details__']))]) {
        assert.deepEqual(run(text, needed, line, true), run(text, needed, line, false), `${text} on ${JSON.stringify(line)}`);
      }
    }
  }
});

test('invalid UTF-8 in the bytes reads as the decoded line does', () => {
  const stage = logfmtParserStage(stageOf('| logfmt --strict'), null);
  const bytes = Buffer.concat([Buffer.from('a='), Buffer.of(0xff, 0xfe), Buffer.from(' k'), Buffer.of(0xc3), Buffer.from('=1')]);
  const raw: PipelineEntry = { timestampNs: 0n, line: '', labels: new LabelsBuilder(STREAM) };
  stage.processRaw!(raw, bytes, 0, bytes.length);
  const decoded: PipelineEntry = { timestampNs: 0n, line: bytes.toString('utf8'), labels: new LabelsBuilder(STREAM) };
  stage.process(decoded);
  // The same labels; the error's position counts the stored bytes, as Go's does (the decoded line has
  // a 3-byte U+FFFD for each bad byte).
  const withoutDetails = (labels: LabelsBuilder) => labels.entries().filter(([name]) => name !== '__error_details__');
  assert.deepEqual(withoutDetails(raw.labels), withoutDetails(decoded.labels));
  assert.equal(raw.labels.get('a'), '  ');
  assert.equal(raw.labels.get('__error_details__'), 'logfmt syntax error at pos 8 : invalid key');
});

test('a hinted parser stores exactly the needed labels the full parser stores', () => {
  for (const text of CONFIGS) {
    for (const line of LINES) {
      const full = run(text, null, line, false);
      for (const names of NEEDED_SETS) {
        const needed = new Set([...names, '__error__', '__error_details__']);
        const expected = full.filter(([name]) => needed.has(name) || Object.hasOwn(STREAM, name));
        const hinted = run(text, needed, line, true).filter(([name]) => needed.has(name) || Object.hasOwn(STREAM, name));
        // Parameters name their labels: hints never drop those.
        if (text.includes('=')) assert.deepEqual(run(text, needed, line, true), full, `${text} on ${JSON.stringify(line)}`);
        else assert.deepEqual(hinted, expected, `${text} hinted ${[...needed]} on ${JSON.stringify(line)}`);
      }
    }
  }
});
