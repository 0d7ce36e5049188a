import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultilineJoiner, type JoinedEntry } from '../../src/agent/multiline.ts';

function joinAll(lines: string[], firstLine?: RegExp): JoinedEntry<number>[] {
  const out: JoinedEntry<number>[] = [];
  const joiner = new MultilineJoiner<number>(
    { pythonTraceback: true, ...(firstLine ? { firstLinePattern: firstLine } : {}), maxWaitMs: 1000, maxLines: 100 },
    (entry) => out.push(entry),
  );
  lines.forEach((line, index) => joiner.push('k', line, index, 0, index));
  joiner.flushAll();
  return out;
}

const TRACEBACK = [
  'Traceback (most recent call last):',
  '  File "train.py", line 10, in <module>',
  '    main()',
  '  File "train.py", line 5, in main',
  '    loss.backward()',
  'RuntimeError: CUDA error: an illegal memory access was encountered',
];

test('a Python traceback is one entry, ending at the exception line', () => {
  const entries = joinAll(['step 1 loss 2.0', ...TRACEBACK, 'step 2 loss 1.9']);
  assert.deepEqual(entries.map((entry) => entry.text), ['step 1 loss 2.0', TRACEBACK.join('\n'), 'step 2 loss 1.9']);
  assert.equal(entries[1]!.isTraceback, true);
  assert.equal(entries[1]!.meta, 1, 'metadata of the first line');
});

test('chained exceptions stay in the same entry', () => {
  const chained = [
    ...TRACEBACK,
    '',
    'During handling of the above exception, another exception occurred:',
    '',
    'Traceback (most recent call last):',
    '  File "x.py", line 1, in <module>',
    'ValueError: bad',
  ];
  const entries = joinAll([...chained, 'next']);
  assert.deepEqual(entries.map((entry) => entry.text), [chained.join('\n'), 'next']);
});

test('a blank line after a traceback is not glued to the next entry', () => {
  const entries = joinAll([...TRACEBACK, '', 'Epoch 2']);
  assert.deepEqual(entries.map((entry) => entry.text), [TRACEBACK.join('\n'), 'Epoch 2']);
});

test('generic continuation by a first-line regex, with a logging.exception traceback attached', () => {
  const firstLine = /^\d{4}-\d{2}-\d{2} /;
  const lines = ['2024-05-01 12:00:00,000 ERROR failed step', ...TRACEBACK, '2024-05-01 12:00:01,000 INFO next', '  indented detail'];
  const entries = joinAll(lines, firstLine);
  assert.deepEqual(entries.map((entry) => entry.text), [lines.slice(0, 7).join('\n'), lines.slice(7).join('\n')]);
  assert.equal(entries[0]!.isTraceback, true);
});

test('pending entries close by timeout, per key, and report their start position', () => {
  const out: string[] = [];
  const joiner = new MultilineJoiner<null>({ pythonTraceback: true, maxWaitMs: 500, maxLines: 100 }, (entry) => out.push(`${entry.key}:${entry.text}`));
  joiner.push('rank0', TRACEBACK[0]!, null, 1000, 100);
  joiner.push('rank1', 'plain', null, 1000, 200);
  joiner.push('rank0', TRACEBACK[1]!, null, 1100, 150);
  assert.equal(joiner.pendingStartPosition(), 100);
  joiner.flushExpired(1500);
  assert.deepEqual(out, ['rank1:plain']);
  joiner.flushExpired(1600);
  assert.deepEqual(out, ['rank1:plain', `rank0:${TRACEBACK.slice(0, 2).join('\n')}`]);
  assert.equal(joiner.pendingStartPosition(), undefined);
});

test('an exception whose message starts on the next line keeps it (torchrun ChildFailedError)', () => {
  const block = [
    'Traceback (most recent call last):',
    '  File "/usr/local/bin/torchrun", line 8, in <module>',
    '    sys.exit(main())',
    'torch.distributed.elastic.multiprocessing.errors.ChildFailedError: ',
    '============================================================',
    'train.py FAILED',
    '------------------------------------------------------------',
    'Root Cause (first observed failure):',
    '[0]:',
    '  rank      : 7 (local_rank: 3)',
    '============================================================',
  ];
  const entries = joinAll([...block, '', 'after']);
  assert.deepEqual(entries.map((entry) => entry.text), [block.join('\n'), 'after']);
});
