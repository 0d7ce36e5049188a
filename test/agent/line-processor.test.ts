// The per-source processing chain as a table: physical lines in, labelled entries out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processingSchema } from '../../src/agent/config.ts';
import { LineProcessor } from '../../src/agent/line-processor.ts';

interface Out {
  labels: Record<string, string>;
  line: string;
}

function run(lines: [string, string?][], processing: Record<string, unknown> = {}): Out[] {
  const out: Out[] = [];
  const processor = new LineProcessor(processingSchema.parse(processing), { job: 't' }, (_key, labels, _ts, line) => out.push({ labels: { ...labels }, line }));
  for (const [text, stream] of lines) processor.push(text, stream !== undefined ? { stream } : {}, 0);
  processor.flushAll();
  return out;
}

test('processing table', () => {
  const cases: { name: string; lines: [string, string?][]; processing?: Record<string, unknown>; want: Out[] }[] = [
    {
      name: 'torchrun prefix, tqdm redraws, level',
      lines: [['[default3]: 10%|#  | 1/10\r 20%|## | 2/10', 'stderr'], ['[rank0]: WARNING: slow', 'stderr']],
      want: [
        { labels: { job: 't', stream: 'stderr', local_rank: '3' }, line: ' 20%|## | 2/10' },
        { labels: { job: 't', stream: 'stderr', rank: '0', level: 'warn' }, line: 'WARNING: slow' },
      ],
    },
    {
      name: 'keep the prefix but still label the rank',
      lines: [['[rank2]: step 1\r[rank2]: step 2']],
      processing: { rank_prefix: 'keep' },
      want: [{ labels: { job: 't', rank: '2' }, line: '[rank2]: step 2' }],
    },
    {
      name: 'prefix processing off',
      lines: [['[rank2]: x']],
      processing: { rank_prefix: 'off', detect_level: false },
      want: [{ labels: { job: 't' }, line: '[rank2]: x' }],
    },
    {
      name: 'CRLF endings are not redraws',
      lines: [['INFO done\r']],
      want: [{ labels: { job: 't', level: 'info' }, line: 'INFO done' }],
    },
    {
      name: 'tracebacks of two ranks interleaved stay apart',
      lines: [
        ['[default0]:Traceback (most recent call last):'],
        ['[default1]:Traceback (most recent call last):'],
        ['[default0]:  File "a.py", line 1, in <module>'],
        ['[default1]:  File "b.py", line 2, in <module>'],
        ['[default1]:KeyError: 1'],
        ['[default0]:ValueError: 0'],
      ],
      want: [
        { labels: { job: 't', local_rank: '0', level: 'error' }, line: 'Traceback (most recent call last):\n  File "a.py", line 1, in <module>\nValueError: 0' },
        { labels: { job: 't', local_rank: '1', level: 'error' }, line: 'Traceback (most recent call last):\n  File "b.py", line 2, in <module>\nKeyError: 1' },
      ],
    },
    {
      name: 'first-line regex joins continuation lines',
      lines: [['2026-01-01 00:00:00,000 INFO config:'], ['  lr: 3e-4'], ['2026-01-01 00:00:01,000 INFO next']],
      processing: { multiline: { first_line: '^\\d{4}-' } },
      want: [
        { labels: { job: 't', level: 'info' }, line: '2026-01-01 00:00:00,000 INFO config:\n  lr: 3e-4' },
        { labels: { job: 't', level: 'info' }, line: '2026-01-01 00:00:01,000 INFO next' },
      ],
    },
  ];
  for (const { name, lines, processing, want } of cases) assert.deepEqual(run(lines, processing), want, name);
});

test("torchrun's local [defaultN]: prefix is a global rank only where the node's rank and size are known", () => {
  const lines: [string, string?][] = [['[default2]:step 5 loss 1.0']];
  const out = (baseLabels: Record<string, string>) => {
    const entries: Record<string, string>[] = [];
    const processor = new LineProcessor(processingSchema.parse({}), baseLabels, (_key, labels) => entries.push({ ...labels }));
    for (const [text] of lines) processor.push(text, {}, 0);
    processor.flushAll();
    return entries;
  };
  assert.deepEqual(out({ job: 't', node_rank: '1', local_world_size: '4' }), [{ job: 't', node_rank: '1', local_world_size: '4', local_rank: '2', rank: '6' }]);
  assert.deepEqual(out({ job: 't', node_rank: '1' }), [{ job: 't', node_rank: '1', local_rank: '2' }]);
});
