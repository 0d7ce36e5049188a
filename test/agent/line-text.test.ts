import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collapseCarriageReturns, detectLevel, splitRankPrefix } from '../../src/agent/line-text.ts';

test('carriage-return redraws collapse to the last visible state', () => {
  const cases: [string, string][] = [
    ['plain line', 'plain line'],
    [' 10%|#         | 10/100\r 20%|##        | 20/100\r100%|##########| 100/100', '100%|##########| 100/100'],
    ['state one\rstate two\r', 'state two'],
    ['\r\r', ''],
  ];
  for (const [input, expected] of cases) assert.equal(collapseCarriageReturns(input), expected, JSON.stringify(input));
});

test('rank prefixes from PyTorch and torchrun become a rank', () => {
  assert.deepEqual(splitRankPrefix('[rank3]: RuntimeError: NCCL timeout'), { rank: '3', scope: 'global', rest: 'RuntimeError: NCCL timeout' });
  assert.deepEqual(splitRankPrefix('[default0]:step 10 loss 2.3'), { rank: '0', scope: 'local', rest: 'step 10 loss 2.3' });
  assert.deepEqual(splitRankPrefix('[default12]:  File "x.py"'), { rank: '12', scope: 'local', rest: '  File "x.py"' });
  assert.deepEqual(splitRankPrefix('[rank1]:   File "x.py"'), { rank: '1', scope: 'global', rest: '  File "x.py"' });
  assert.equal(splitRankPrefix('[INFO] not a rank'), undefined);
  assert.equal(splitRankPrefix('x [rank3]: late'), undefined);
});

test('levels are detected from upper-case words and normalised', () => {
  const cases: [string, string | undefined][] = [
    ['2024-05-01 12:00:00,123 - DEBUG - x', 'debug'],
    ['INFO:root:starting', 'info'],
    ['node1:123:456 [0] NCCL WARN Call to connect returned', 'warn'],
    ['WARNING: something', 'warn'],
    ['ERROR: CUDA out of memory', 'error'],
    ['CRITICAL failure', 'critical'],
    ['FATAL: x', 'critical'],
    ['training finished with 0 errors', undefined],
    ['INFORMATION is not INFO-', 'info'],
  ];
  for (const [line, level] of cases) assert.equal(detectLevel(line), level, line);
});
