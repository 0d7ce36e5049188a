import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTailFilter, QueryError } from '../../../src/logql/index.ts';

test('compileTailFilter applies the selector and the whole pipeline to pushed entries', () => {
  const filter = compileTailFilter('{job="train", rank=~"[0-3]"} |= "loss" | logfmt | loss > 1.5 | line_format "rank {{.rank}}: {{.loss}}"');
  assert.deepEqual(filter({ job: 'train', rank: '2' }, { timestampNs: 1n, line: 'step=3 loss=2.5' }), {
    labels: { job: 'train', rank: '2', step: '3', loss: '2.5' },
    line: 'rank 2: 2.5',
    parsed: { step: '3', loss: '2.5' },
  });
  assert.equal(filter({ job: 'train', rank: '2' }, { timestampNs: 1n, line: 'step=3 loss=0.5' }), null, 'label filter');
  assert.equal(filter({ job: 'train', rank: '7' }, { timestampNs: 1n, line: 'step=3 loss=2.5' }), null, 'selector');
  assert.equal(filter({ job: 'train', rank: '1' }, { timestampNs: 1n, line: 'step=3 acc=2.5' }), null, 'line filter');
  const withMetadata = compileTailFilter('{job="train"} | trace_id="abc"');
  assert.deepEqual(withMetadata({ job: 'train' }, { timestampNs: 1n, line: 'x', structuredMetadata: [{ name: 'trace_id', value: 'abc' }] }), {
    labels: { job: 'train', trace_id: 'abc' },
    line: 'x',
    structuredMetadata: { trace_id: 'abc' },
  });
});

test('compileTailFilter rejects metric queries and bad stages with QueryError', () => {
  assert.throws(() => compileTailFilter('count_over_time({job="x"}[1m])'), QueryError);
  assert.throws(() => compileTailFilter('{job="x"} | regexp "(no named group)"'), QueryError);
  assert.throws(() => compileTailFilter('{job="x"} |= ip("not an ip")'), QueryError);
});
