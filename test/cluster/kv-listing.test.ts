// listKvKeys against real nats-server: every key with a message, deleted ones included (the caller
// skips them with a get), and listings that keep answering with one node of a 3-node cluster down.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { listKvKeys } from '../../src/cluster/kv-listing.ts';
import { pollUntil } from '../support/peers.ts';
import { startNats } from './nats-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'rankscope-kv-listing-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('every key with a message is listed, a deleted key with its delete marker', async () => {
  const nats = await startNats(join(dir, 'one'), 1);
  const connection = await connect({ servers: nats.urls });
  try {
    const kv = await new Kvm(connection).create('listing', { history: 1 });
    const manager = await jetstreamManager(connection);
    assert.deepEqual(await listKvKeys(manager, 'listing'), [], 'an empty bucket');
    const keys = Array.from({ length: 300 }, (_, i) => `group-${i.toString(16).padStart(4, '0')}`);
    for (const key of keys) await kv.put(key, key);
    await kv.put('group-0000', 'again');
    await kv.delete('group-0001');
    assert.deepEqual((await listKvKeys(manager, 'listing')).sort(), keys);
    assert.equal((await kv.get('group-0001'))?.operation, 'DEL', 'a deleted key is listed; its get says DEL');
    await assert.rejects(listKvKeys(manager, 'no-such-bucket'), /not found/);
  } finally {
    await connection.close();
    await nats.stop();
  }
});

test('with one NATS node of three killed, listings keep answering once the stream has a leader', async () => {
  const nats = await startNats(join(dir, 'three'), 3);
  const connection = await connect({ servers: nats.urls, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  try {
    const kv = await new Kvm(connection).create('failover', { history: 1, replicas: 3 });
    const manager = await jetstreamManager(connection);
    for (let i = 0; i < 5; i++) await kv.put(`group-${i}`, 'x');
    // The node this client is connected to: it may lead the stream, the worst case.
    const port = connection.getServer().split(':').pop();
    await (nats.nodes.find((node) => node.url.endsWith(`:${port}`)) ?? nats.nodes[0]!).kill('SIGKILL');
    await pollUntil('a listing after the kill', async () => ((await listKvKeys(manager, 'failover').catch(() => [])).length === 5 ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    // KV keys() failed about one call in three here (a 5 s timeout each), for as long as the node was down.
    for (let i = 0; i < 10; i++) {
      const startedMs = Date.now();
      assert.deepEqual((await listKvKeys(manager, 'failover')).sort(), ['group-0', 'group-1', 'group-2', 'group-3', 'group-4'], `listing ${i}`);
      assert.ok(Date.now() - startedMs < 1000, `listing ${i} took ${Date.now() - startedMs} ms`);
    }
  } finally {
    await connection.close();
    await nats.stop();
  }
});
