// The pattern parser on a block's bytes (processRaw) extracts exactly what the walk over the decoded
// line extracts, for every hint set, over odd lines (non-ASCII, invalid UTF-8, missing literals).
import assert from 'node:assert/strict';
import test from 'node:test';
import { patternParserStage } from '../../../src/logql/log/pattern-parser.ts';
import { LabelsBuilder, type PipelineEntry } from '../../../src/logql/log/labels-builder.ts';
import { parsePattern } from '../../../src/logql/log/pattern.ts';
import type { Labels } from '../../../src/push/types.ts';

const PATTERNS = [
  '<_> step <_>/<_> | loss <loss> | <_>',
  '<ip> - <_> [<ts>] "<method> <path> <_>"',
  '[<rank>]:<rest>',
  '<a>',
  '<a> <b>',
  'level=<level> msg=<msg>',
  '  <x>  <y>',
];

/** Lines as bytes: some are not valid UTF-8. */
const LINES: Buffer[] = [
  '',
  '[rank0]:2026-01-05 08:00:45,344 - INFO - train.py:214 - step 1/1000000 | loss 8.8515 | lr 1.50e-07 | grad_norm 2.193',
  'step 1/2 | loss 3 |',
  'x step 1/2 | loss  | y',
  'x step 1/2 | loss 7',
  'step /',
  '10.0.0.1 - - [05/Jan/2026:08:00:45] "GET /a/b HTTP/1.1" 200',
  '10.0.0.1 - - [05/Jan',
  '[rank3]:Ωmega 😀 step 9/9 | loss ünï | z',
  'level=info msg=hello level=warn msg=again',
  '  a  b  c',
  ' ',
  'x',
].map((line) => Buffer.from(line, 'utf8'));
LINES.push(Buffer.from([0x5b, 0x72, 0xe2, 0x82, 0x5d, 0x3a, 0xff, 0x20, 0x73, 0x74, 0x65, 0x70, 0x20, 0x31, 0x2f, 0xc3, 0x20, 0x7c, 0x20, 0x6c, 0x6f, 0x73, 0x73, 0x20, 0xf0, 0x9f, 0x20, 0x7c, 0x20]));

const STREAMS: Labels[] = [{ job: 'train' }, { job: 'train', loss: 'stream', a: 'x' }];

function run(pattern: string, needed: ReadonlySet<string> | null, line: Buffer, stream: Labels, raw: boolean): Array<[string, string]> {
  const stage = patternParserStage(pattern, needed);
  const entry: PipelineEntry = { timestampNs: 1n, line: raw ? '' : line.toString('utf8'), labels: new LabelsBuilder(stream) };
  if (raw) {
    assert.ok(stage.processRaw, `${pattern} has ASCII literals: it runs on bytes`);
    // The line sits inside a larger buffer, as in a block.
    const block = Buffer.concat([Buffer.from('before\n'), line, Buffer.from('\nafter step 1/2 | loss 5 | x')]);
    assert.equal(stage.processRaw(entry, block, 7, 7 + line.length), true);
  } else {
    assert.equal(stage.process(entry), true);
  }
  return entry.labels.entries();
}

test('the byte walk extracts what the string walk extracts, for every hint set', () => {
  for (const pattern of PATTERNS) {
    const names = parsePattern(pattern).names;
    const hintSets: Array<ReadonlySet<string> | null> = [null, ...names.map((name) => new Set([name])), new Set(names), new Set(['job'])];
    for (const needed of hintSets) {
      for (const stream of STREAMS) {
        for (const line of LINES) {
          const context = `${pattern} needing ${needed === null ? 'all' : [...needed].join(',')} on ${JSON.stringify(line.toString('utf8'))} with ${JSON.stringify(stream)}`;
          assert.deepEqual(run(pattern, needed, line, stream, true), run(pattern, needed, line, stream, false), context);
        }
      }
    }
  }
});

test('the byte walk reads the captures Loki reads', () => {
  const line = Buffer.from('[rank0]:x - step 12/100 | loss 2.5 | lr 1');
  assert.deepEqual(run('<_> step <step>/<_> | loss <loss> | <_>', null, line, { job: 'train' }, true), [
    ['job', 'train'],
    ['step', '12'],
    ['loss', '2.5'],
  ]);
  // A missing literal: the capture before it takes the rest of the line and matching stops.
  assert.deepEqual(run('<a> | <b> | <c>', null, Buffer.from('x | y'), {}, true), [
    ['a', 'x'],
    ['b', 'y'],
  ]);
  // A leading literal must start the line.
  assert.deepEqual(run('[<rank>]:<_>', null, Buffer.from(' [0]:x'), {}, true), []);
});

test('a pattern with a non-ASCII literal runs on the decoded line only', () => {
  const stage = patternParserStage('<a> → <b>');
  assert.equal(stage.processRaw, undefined);
});
