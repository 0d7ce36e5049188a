import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePushBatch, encodePushBatches, partitionOf } from '../../src/cluster/push-batch.ts';
import type { AppendStream } from '../../src/store/types.ts';

function streams(count: number, entriesPerStream: number, lineBytes = 40): AppendStream[] {
  return Array.from({ length: count }, (_, s) => ({
    labels: { job: 'train', rank: String(s) },
    entries: Array.from({ length: entriesPerStream }, (_, i) => ({ timestampNs: 1_700_000_000_000_000_000n + BigInt(i), line: `rank ${s} step ${i} `.padEnd(lineBytes, 'x') })),
  }));
}

test('a push is split by partition; every stream lands whole in its own partition and decodes back', () => {
  const input = streams(32, 3);
  const batches = encodePushBatches('tenant-a', input, 8, 1024 * 1024);
  assert.ok(batches.length > 1 && batches.length <= 8);
  const seen = new Map<string, number>();
  for (const batch of batches) {
    const { tenant, streams: decoded } = decodePushBatch(batch.payload);
    assert.equal(tenant, 'tenant-a');
    for (const stream of decoded) {
      assert.equal(partitionOf('tenant-a', stream.labels, 8), batch.partition);
      seen.set(stream.labels.rank!, (seen.get(stream.labels.rank!) ?? 0) + stream.entries.length);
    }
  }
  assert.equal(seen.size, 32);
  for (const count of seen.values()) assert.equal(count, 3);
});

test('the message id is the content: the same push gets the same ids, another push other ids', () => {
  const first = encodePushBatches('t', streams(4, 2), 4, 1024 * 1024).map((batch) => batch.messageId);
  const again = encodePushBatches('t', streams(4, 2), 4, 1024 * 1024).map((batch) => batch.messageId);
  const otherTenant = encodePushBatches('u', streams(4, 2), 4, 1024 * 1024).map((batch) => batch.messageId);
  assert.deepEqual(again, first);
  for (const id of otherTenant) assert.ok(!first.includes(id));
});

test('a partition share over the payload limit is split, a single big stream by its entries, and nothing is lost', () => {
  const maxPayloadBytes = 64 * 1024;
  const input = streams(1, 2000, 100);
  const batches = encodePushBatches('t', input, 1, maxPayloadBytes);
  assert.ok(batches.length >= 4, `expected several batches, got ${batches.length}`);
  let entries = 0;
  let previous = -1n;
  for (const batch of batches) {
    assert.ok(batch.payload.length <= maxPayloadBytes);
    for (const stream of decodePushBatch(batch.payload).streams) {
      for (const entry of stream.entries) {
        assert.ok(entry.timestampNs > previous, 'entries keep their order across batches');
        previous = entry.timestampNs;
        entries++;
      }
    }
  }
  assert.equal(entries, 2000);
});

test('partitions spread streams over all partitions', () => {
  const counts = new Array<number>(8).fill(0);
  for (let s = 0; s < 800; s++) counts[partitionOf('t', { job: 'train', rank: String(s) }, 8)]!++;
  for (const count of counts) assert.ok(count > 50, `uneven spread: ${counts.join(',')}`);
});
