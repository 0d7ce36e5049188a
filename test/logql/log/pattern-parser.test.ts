// `| pattern` on a block's bytes against the decoded line: the same captures, including unicode
// literals, long lines (the native search) and literals that only occur after the line in the block.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { patternParserStage } from '../../../src/logql/log/pattern-parser.ts';
import { findBytes } from '../../../src/logql/log/pattern.ts';
import { LabelsBuilder, type PipelineEntry } from '../../../src/logql/log/labels-builder.ts';

const PATTERNS = ['<_> step <s>/<_> | loss <loss> | <_>', '<a> é <b>', '[<ts>] <level>: <msg>', '<only>', 'x<a>'];
const LINES = [
  '[rank0]: step 12/100 | loss 2.5 | lr 1e-4',
  '[rank0]: step 12/100 | loss 2.5',
  'step 1/2 | loss  | ',
  'café é crème é end',
  '[2026-01-05] INFO: started é',
  '[unterminated INFO: x',
  'xx',
  '',
  `${'a'.repeat(70_000)} step 7/8 | loss 1 | ${'b'.repeat(10)}`,
];

function run(pattern: string, line: string, raw: boolean): Array<[string, string]> {
  const stage = patternParserStage(pattern);
  const entry: PipelineEntry = { timestampNs: 0n, line: raw ? '' : line, labels: new LabelsBuilder({ job: 'x' }) };
  if (raw) {
    // The block's next line holds every literal: a search must not run on into it.
    const bytes = Buffer.concat([Buffer.from('x step 1/2 | loss 9 | é ] : '), Buffer.from(line), Buffer.from(' step 3/4 | loss 8 | é [q] y: z')]);
    const start = Buffer.byteLength('x step 1/2 | loss 9 | é ] : ');
    stage.processRaw!(entry, bytes, start, start + Buffer.byteLength(line));
  } else {
    stage.process(entry);
  }
  return entry.labels.entries();
}

test('captures from a block line equal those from the decoded line', () => {
  for (const pattern of PATTERNS) {
    for (const line of LINES) assert.deepEqual(run(pattern, line, true), run(pattern, line, false), `${pattern} on ${line.slice(0, 60)}`);
  }
  assert.deepEqual(run(PATTERNS[0]!, LINES[0]!, true), [['job', 'x'], ['s', '12'], ['loss', '2.5']]);
  assert.deepEqual(run('<a> é <b>', 'café é crème é end', true), [['job', 'x'], ['a', 'café'], ['b', 'crème é end']]);
});

test('the byte search finds what indexOf finds, in short and long texts', () => {
  const texts = ['abcabd', 'ab', '', 'ééé', `${'a'.repeat(70_000)}ab`];
  for (const text of texts) {
    const bytes = Buffer.from(text);
    for (const needle of ['ab', 'abd', 'é', 'x', 'a', '']) {
      for (const from of [0, 1, 3]) {
        for (const end of [bytes.length, bytes.length - 1]) {
          if (end < from) continue;
          const expected = bytes.subarray(0, end).indexOf(Buffer.from(needle), from);
          assert.equal(findBytes(bytes, Buffer.from(needle), from, end), expected, `${needle} in ${text.slice(0, 10)} from ${from} to ${end}`);
        }
      }
    }
  }
});
