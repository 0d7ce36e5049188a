import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIVE_STREAM_IDLE_MS, StreamLimiter } from '../../src/ingest/stream-limiter.ts';
import type { PushStream } from '../../src/push/types.ts';

const stream = (n: number): PushStream => ({ labels: { job: 'x', n: String(n) }, entries: [{ timestampNs: 1n, line: 'l' }] });

test('new streams past the limit are refused with Loki message; active ones always pass', () => {
  const limiter = new StreamLimiter(2);
  assert.equal(limiter.admit('t', [stream(1), stream(2)], 0).refused.length, 0);
  const outcome = limiter.admit('t', [stream(1), stream(3), stream(4)], 10);
  assert.deepEqual(outcome.accepted.map((s) => s.labels.n), ['1']);
  assert.deepEqual(outcome.refused.map((s) => s.labels.n), ['3', '4']);
  assert.equal(
    outcome.message,
    `Maximum active stream limit exceeded when trying to create stream {job="x", n="3"}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: 't'`,
  );
  // Tenants are counted apart.
  assert.equal(limiter.admit('u', [stream(3), stream(4)], 10).refused.length, 0);
  assert.equal(limiter.activeStreams('t'), 2);
});

test('a stream idle for ACTIVE_STREAM_IDLE_MS stops counting, making room for a new one', () => {
  const limiter = new StreamLimiter(1);
  limiter.admit('t', [stream(1)], 0);
  assert.equal(limiter.admit('t', [stream(2)], ACTIVE_STREAM_IDLE_MS - 1).refused.length, 1);
  assert.equal(limiter.admit('t', [stream(2)], ACTIVE_STREAM_IDLE_MS).refused.length, 0);
  assert.equal(limiter.activeStreams('t'), 1);
});

test('a limit of 0 admits everything and tracks nothing', () => {
  const limiter = new StreamLimiter(0);
  assert.equal(limiter.admit('t', Array.from({ length: 100 }, (_, i) => stream(i)), 0).accepted.length, 100);
  assert.equal(limiter.activeStreams('t'), 0);
});
