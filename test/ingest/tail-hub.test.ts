import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TailHub, type TailedEntry } from '../../src/ingest/tail-hub.ts';
import { TenantRateLimiter } from '../../src/ingest/rate-limiter.ts';

test('tail hub delivers matching entries of the subscribed tenant only, in time order', async () => {
  const hub = new TailHub(10);
  const received: TailedEntry[][] = [];
  const subscription = hub.subscribe('t1', (labels, entry) => (entry.line.includes('NCCL') ? { labels, line: entry.line } : null), (batch) => received.push(batch));
  hub.publish('t2', [{ labels: { rank: '0' }, entries: [{ timestampNs: 1n, line: 'NCCL other tenant' }] }]);
  hub.publish('t1', [{ labels: { rank: '1' }, entries: [{ timestampNs: 5n, line: 'NCCL late' }, { timestampNs: 2n, line: 'NCCL early' }, { timestampNs: 3n, line: 'loss' }] }]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(received, [[
    { labels: { rank: '1' }, line: 'NCCL early', timestampNs: 2n },
    { labels: { rank: '1' }, line: 'NCCL late', timestampNs: 5n },
  ]]);
  subscription.close();
  assert.equal(hub.subscriberCount, 0);
  hub.close();
});

test('rate limiter allows the burst, then the rate, per tenant', () => {
  const limiter = new TenantRateLimiter(100, 300);
  assert.equal(limiter.allow('a', 300, 0), true);
  assert.equal(limiter.allow('a', 1, 0), false);
  assert.equal(limiter.allow('b', 200, 0), true);
  assert.equal(limiter.allow('a', 100, 1000), true);
  assert.equal(limiter.allow('a', 50, 1000), false);
});

test('a subscriber that falls behind loses its oldest matches and is told which, as dropped entries', async () => {
  const hub = new TailHub(10, 3);
  const received: Array<{ lines: string[]; dropped: bigint[] }> = [];
  hub.subscribe('t', (labels, entry) => ({ labels, line: entry.line }), (entries, dropped) => received.push({ lines: entries.map((e) => e.line), dropped: dropped.map((d) => d.timestampNs) }));
  hub.publish('t', [{ labels: { rank: '0' }, entries: [1n, 2n, 3n, 4n, 5n].map((ns) => ({ timestampNs: ns, line: `l${ns}` })) }]);
  hub.flush();
  assert.deepEqual(received, [{ lines: ['l3', 'l4', 'l5'], dropped: [1n, 2n] }]);
  assert.equal(hub.droppedEntries, 2);
  hub.close();
});
