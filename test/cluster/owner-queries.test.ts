import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepLinesWith } from '../../src/cluster/owner-queries.ts';
import type { BlockData } from '../../src/store/types.ts';

function block(lines: string[]): BlockData {
  const lineEnds = new Uint32Array(lines.length);
  let end = 0;
  lines.forEach((line, i) => (lineEnds[i] = end += Buffer.byteLength(line)));
  return {
    stream: { id: 's', labels: { job: 'train' } },
    timestampsNs: BigInt64Array.from(lines.map((_, i) => BigInt(i))),
    lines: Buffer.from(lines.join('')),
    lineEnds,
    structuredMetadata: lines.map((_, i) => [{ name: 'n', value: String(i) }]),
  };
}

const lines = ['NCCL WARN timeout', 'step 1 loss 0.5', 'nccl warn lower', 'Traceback NCCL WARN', 'é NCCL'];

test('head data shipped for a query keeps exactly the lines holding every required literal', () => {
  const cases: Array<{ literals: Array<{ literal: string; caseInsensitive: boolean }>; want: number[] }> = [
    { literals: [], want: [0, 1, 2, 3, 4] },
    { literals: [{ literal: 'NCCL WARN', caseInsensitive: false }], want: [0, 3] },
    { literals: [{ literal: 'nccl warn', caseInsensitive: true }], want: [0, 2, 3] },
    { literals: [{ literal: 'NCCL', caseInsensitive: false }, { literal: 'Traceback', caseInsensitive: false }], want: [3] },
    { literals: [{ literal: 'É', caseInsensitive: true }], want: [4] },
    { literals: [{ literal: 'absent', caseInsensitive: false }], want: [] },
  ];
  for (const { literals, want } of cases) {
    const kept = keepLinesWith(block(lines), literals);
    const text: string[] = [];
    let start = 0;
    for (const end of kept.lineEnds) {
      text.push(kept.lines.toString('utf8', start, end));
      start = end;
    }
    assert.deepEqual(text, want.map((i) => lines[i]), JSON.stringify(literals));
    assert.deepEqual([...kept.timestampsNs], want.map(BigInt));
    assert.deepEqual(kept.structuredMetadata, want.map((i) => [{ name: 'n', value: String(i) }]));
  }
});
