// restartingWatch against a real nats-server: a watch that stops (as the client's does when it gives
// up recreating its consumer) is started again and catches up; restarts that fail back off, and the
// watch resumes once the bucket answers again.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { restartingWatch, type KvWatch } from '../../src/cluster/kv-watch.ts';
import { pollUntil } from '../support/peers.ts';
import { startNats, type NatsCluster } from './nats-fixture.ts';

let dir: string;
let nats: NatsCluster;
let connection: NatsConnection;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rankscope-kv-watch-'));
  nats = await startNats(dir, 1);
  connection = await connect({ servers: nats.urls });
});

after(async () => {
  await connection?.close();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A watch over `kv` that records what it saw and hands out the live iterator. */
async function watchInto(kv: () => KV, seen: Map<string, string>, errors: string[], options: { minDelayMs: number; maxDelayMs: number }) {
  const live: KvWatch[] = [];
  const start = async (): Promise<KvWatch> => {
    const watch = await kv().watch();
    live.push(watch);
    return watch;
  };
  const watch = restartingWatch(await start(), {
    start,
    apply: (entry) => void (entry.operation === 'PUT' ? seen.set(entry.key, entry.string()) : seen.delete(entry.key)),
    onError: (error) => errors.push(error.message),
    ...options,
  });
  return { watch, live };
}

test('a watch that stops is started again and catches up with what changed meanwhile', async () => {
  const kv = await new Kvm(connection).create('watch-restart', { history: 1 });
  const seen = new Map<string, string>();
  const errors: string[] = [];
  const { watch, live } = await watchInto(() => kv, seen, errors, { minDelayMs: 50, maxDelayMs: 1000 });
  try {
    await kv.put('a', '1');
    await pollUntil('a seen', async () => (seen.get('a') === '1' ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
    // What the client does when it gives up: the iterator ends.
    live[0]!.stop();
    await kv.put('b', '2');
    await kv.delete('a');
    await pollUntil('b seen and a gone after the restart', async () => (seen.get('b') === '2' && !seen.has('a') ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
    assert.equal(watch.starts, 2);
    assert.match(errors[0] ?? '', /watch stopped \(it ended\); restarting in 50 ms/);
    await kv.put('c', '3');
    await pollUntil('c seen on the restarted watch', async () => (seen.get('c') === '3' ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
  } finally {
    watch.stop();
  }
});

test('failed restarts back off (doubling, bounded) and the watch resumes when the bucket is back', async () => {
  const manager = await jetstreamManager(connection);
  let kv = await new Kvm(connection).create('watch-backoff', { history: 1 });
  const seen = new Map<string, string>();
  const errors: string[] = [];
  const { watch, live } = await watchInto(() => kv, seen, errors, { minDelayMs: 20, maxDelayMs: 160 });
  try {
    await manager.streams.delete('KV_watch-backoff');
    live[0]!.stop();
    await pollUntil('five failed restarts', async () => (errors.filter((message) => /restart failed/.test(message)).length >= 5 ? true : undefined), { timeoutMs: 10_000, intervalMs: 10 });
    const delays = errors.map((message) => Number(/in (\d+) ms/.exec(message)?.[1]));
    assert.deepEqual(delays.slice(0, 6), [20, 40, 80, 160, 160, 160], errors.join('\n'));
    kv = await new Kvm(connection).create('watch-backoff', { history: 1 });
    await kv.put('back', 'yes');
    await pollUntil('the value put after the bucket came back', async () => (seen.get('back') === 'yes' ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
  } finally {
    watch.stop();
  }
});
