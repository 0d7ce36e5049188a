import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { LeaseTable } from '../../src/cluster/lease-table.ts';
import { pollUntil } from '../support/peers.ts';
import { startNats, type NatsCluster } from './nats-fixture.ts';

const TTL_MS = 1500;
let dir: string;
let nats: NatsCluster;
let connection: NatsConnection;
let leases: LeaseTable;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rankscope-lease-table-'));
  nats = await startNats(dir, 1);
  connection = await connect({ servers: nats.urls });
  leases = await LeaseTable.open(connection, { bucket: 'test-leases', replicas: 1, ttlMs: TTL_MS });
});

after(async () => {
  await connection?.close();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('one holder at a time; renewal is compare-and-set on the holder\'s revision', async () => {
  const held = await leases.tryAcquire('partition.0', 'a');
  assert.ok(held !== undefined);
  assert.equal(await leases.tryAcquire('partition.0', 'b'), undefined, 'a live lease cannot be taken');
  assert.equal(await leases.holder('partition.0'), 'a');
  const renewed = await leases.renew(held, 'a');
  assert.ok(renewed !== undefined && renewed.revision > held.revision);
  assert.equal(await leases.renew(held, 'a'), undefined, 'an old revision no longer renews');
  await leases.release(renewed);
  assert.equal(await leases.holder('partition.0'), undefined);
  assert.ok((await leases.tryAcquire('partition.0', 'b')) !== undefined, 'a released lease is free at once');
});

test('a lease that is not renewed expires after its TTL and another replica takes it; the old holder cannot renew it back', async () => {
  const held = await leases.tryAcquire('partition.1', 'a');
  assert.ok(held !== undefined);
  const startedMs = Date.now();
  const taken = await pollUntil('the lease free for b', async () => leases.tryAcquire('partition.1', 'b'), { timeoutMs: 4 * TTL_MS, intervalMs: 50 });
  const elapsedMs = Date.now() - startedMs;
  assert.ok(elapsedMs >= TTL_MS * 0.9, `taken after ${elapsedMs} ms, before the TTL`);
  assert.ok(taken !== undefined);
  assert.equal(await leases.holder('partition.1'), 'b');
  assert.equal(await leases.renew(held, 'a'), undefined);
  // Releasing a lost lease leaves the new holder alone.
  await leases.release(held);
  assert.equal(await leases.holder('partition.1'), 'b');
});

test('renewals keep a lease past its TTL', async () => {
  let held = await leases.tryAcquire('partition.2', 'a');
  assert.ok(held !== undefined);
  const untilMs = Date.now() + 2 * TTL_MS;
  while (Date.now() < untilMs) {
    held = await leases.renew(held!, 'a');
    assert.ok(held !== undefined, 'renewal failed');
    assert.equal(await leases.tryAcquire('partition.2', 'b'), undefined);
    await new Promise((resolve) => setTimeout(resolve, TTL_MS / 4));
  }
});
