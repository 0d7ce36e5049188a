// The shipping path on its own: batching, the disk queue's cap, retry and drop rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Shipper } from '../../src/agent/shipper.ts';
import { startPushReceiver, waitFor, type PushReceiver } from './push-receiver.ts';

function shipperFor(receiver: PushReceiver, queueDir: string, queueMaxBytes = 1 << 30, log: string[] = []): Shipper {
  return new Shipper({
    serverUrl: receiver.url,
    tenant: 'team-a',
    batchMaxBytes: 4096,
    batchMaxWaitMs: 20,
    minBackoffMs: 20,
    maxBackoffMs: 100,
    queueDir,
    queueMaxBytes,
    log: (message) => log.push(message),
  });
}

async function withReceiver(body: (receiver: PushReceiver, dir: string) => Promise<void>): Promise<void> {
  const receiver = await startPushReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-shipper-'));
  try {
    await body(receiver, dir);
  } finally {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('batches are cut by size, and 429 and 5xx are retried until accepted', async () => {
  await withReceiver(async (receiver, dir) => {
    const shipper = shipperFor(receiver, dir);
    receiver.status = 429;
    const labels = { job: 'x' };
    for (let i = 0; i < 200; i++) shipper.add(undefined, labels, BigInt(i + 1), `entry ${i} ${'x'.repeat(80)}`);
    shipper.flush();
    assert.ok(shipper.queue.depthBatches >= 4, `size limit cut ${shipper.queue.depthBatches} batches`);
    await waitFor(() => shipper.metrics.value('rankscope_agent_retries_total', { reason: '429' }) >= 2, 5000, 'two 429 retries');
    receiver.status = 503;
    await waitFor(() => shipper.metrics.value('rankscope_agent_retries_total', { reason: '503' }) >= 1, 5000, 'a 503 retry');
    receiver.status = 204;
    assert.equal(await shipper.close(5000), true);
    assert.deepEqual(receiver.entries.map((entry) => entry.line), Array.from({ length: 200 }, (_, i) => `entry ${i} ${'x'.repeat(80)}`), 'all, once, in order');
    assert.equal(shipper.metrics.value('rankscope_agent_sent_entries_total'), 200);
    assert.ok(receiver.entries.every((entry) => entry.tenant === 'team-a'), 'X-Scope-OrgID on every push');
  });
});

test('other 4xx are logged and dropped, counted as rejected', async () => {
  await withReceiver(async (receiver, dir) => {
    const log: string[] = [];
    const shipper = shipperFor(receiver, dir, 1 << 30, log);
    receiver.status = 400;
    shipper.add(undefined, { job: 'x' }, 1n, 'rejected line');
    shipper.flush();
    await waitFor(() => shipper.queue.depthBatches === 0, 5000, 'batch dropped');
    assert.equal(shipper.metrics.value('rankscope_agent_dropped_entries_total', { reason: 'rejected' }), 1);
    assert.match(log.join('\n'), /rejected with HTTP 400, dropping the batch: simulated failure/);
    await shipper.close(0);
  });
});

test('past the queue cap new batches are dropped and counted; what was queued survives and is sent', async () => {
  await withReceiver(async (receiver, dir) => {
    receiver.status = 500;
    const first = shipperFor(receiver, dir, 3000);
    for (let i = 0; i < 100; i++) {
      first.add(undefined, { job: 'x' }, BigInt(i + 1), `line ${i} ${randomBytes(60).toString('hex')}`);
      if (i % 10 === 9) first.flush();
    }
    const queued = first.queue.depthEntries;
    const dropped = first.metrics.value('rankscope_agent_dropped_entries_total', { reason: 'queue_full' });
    assert.ok(queued > 0 && dropped > 0, `queued ${queued}, dropped ${dropped}`);
    assert.equal(queued + dropped, 100);
    assert.ok(first.queue.depthBytes <= 3000);
    await first.close(0);
    assert.equal(readdirSync(dir).length, 1, 'the undelivered queue stays on disk');
    // Only folders of dead owners are adopted. This process is alive, so mark the owner dead.
    const ownerDir = join(dir, readdirSync(dir)[0]!);
    const live = shipperFor(receiver, dir);
    assert.equal(live.queue.depthEntries, 0, 'a live owner is not adopted');
    await live.close(0);
    const owner = JSON.parse(readFileSync(join(ownerDir, 'owner.json'), 'utf8')) as { pid: number };
    owner.pid = 2 ** 22 + 12345; // above pid_max on default Linux: not alive
    writeFileSync(join(ownerDir, 'owner.json'), JSON.stringify(owner));
    receiver.status = 204;
    const second = shipperFor(receiver, dir);
    assert.equal(second.queue.depthEntries, queued, 'adopted the earlier queue');
    assert.equal(await second.close(5000), true);
    assert.equal(receiver.entries.length, queued);
    assert.deepEqual(readdirSync(dir), []);
  });
});
