// What a NATS node failure does to the JetStream calls cluster mode makes: a 3-node nats-server
// cluster, a replicated (R3) KV bucket and stream as the cluster creates them; one node is SIGKILLed
// and, every half second for --observe-s seconds, each call is timed: KV put and get (lease renewal
// and holder lookups), KV keys() (the listing membership used before), the bucket's keys listed by
// its stream (kv-listing.ts, the Pushgateway takeover) and by a KV watch, and starting an ordered
// consumer (a partition's WAL reader). Failed calls before and after the kill are the figure.
//   node_modules/.bin/node bench/nats-failover.ts [--observe-s 40]
// Figures: docs/cluster.md ("NATS node failover").

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { listKvKeys } from '../src/cluster/kv-listing.ts';
import { startNats } from '../test/cluster/nats-fixture.ts';

const { values } = parseArgs({ options: { 'observe-s': { type: 'string', default: '40' } } });
const observeMs = Number(values['observe-s']) * 1000;
const dir = mkdtempSync(join(tmpdir(), 'rankscope-nats-failover-'));
const nats = await startNats(join(dir, 'nats'), 3);
const connection = await connect({ servers: nats.urls, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
try {
  const kv = await new Kvm(connection).create('bench-leases', { history: 1, ttl: 10_000, replicas: 3 });
  const manager = await jetstreamManager(connection);
  await manager.streams.add({ name: 'bench-wal', subjects: ['bench.wal.*'], num_replicas: 3 });
  const js = jetstream(connection);
  await js.publish('bench.wal.0', new Uint8Array(16));
  for (let i = 0; i < 3; i++) await kv.put(`member.m${i}`, 'x');

  const calls: Record<string, () => Promise<unknown>> = {
    'kv put': () => kv.put('member.m0', String(Date.now())),
    'kv get': () => kv.get('member.m1'),
    'kv keys': async () => {
      for await (const _key of await kv.keys('member.>'));
    },
    'kv listing by stream info (listKvKeys, the Pushgateway takeover)': async () => {
      // member.m0 is renewed by 'kv put'; the others expire with the bucket's TTL.
      if (!(await listKvKeys(manager, 'bench-leases')).includes('member.m0')) throw new Error('member.m0 not listed');
    },
    'kv watch (initial values)': async () => {
      // A watch whose consumer landed on the dead peer delivers nothing and never ends: 5 s, as the client's request timeout.
      const watch = await kv.watch({ key: 'member.>' });
      const timer = setTimeout(() => watch.stop(new Error('timeout (no initial values in 5 s)')), 5000);
      try {
        for await (const entry of watch) if (entry.delta === 0) break;
      } finally {
        clearTimeout(timer);
        watch.stop();
      }
    },
    'ordered consumer start': async () => {
      const consumer = await js.consumers.get('bench-wal', { filter_subjects: 'bench.wal.0', deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 });
      const messages = await consumer.consume({ expires: 2000 });
      for await (const _message of messages) break;
      messages.stop();
    },
  };
  type Tally = { calls: number; failures: number; worstMs: number; reasons: Set<string> };
  const tally = (): Record<string, Tally> => Object.fromEntries(Object.keys(calls).map((name) => [name, { calls: 0, failures: 0, worstMs: 0, reasons: new Set<string>() }]));
  const round = async (into: Record<string, Tally>): Promise<void> => {
    for (const [name, call] of Object.entries(calls)) {
      const startedMs = Date.now();
      const failure = await call().then(() => undefined, (error: unknown) => (error as Error).message);
      const entry = into[name]!;
      entry.calls++;
      if (failure !== undefined) {
        entry.failures++;
        entry.reasons.add(failure);
      }
      entry.worstMs = Math.max(entry.worstMs, Date.now() - startedMs);
    }
  };
  const before = tally();
  for (let i = 0; i < 10; i++) await round(before);
  // Kill the node the client is connected to, as in the replica kill test's worst case.
  const port = connection.getServer().split(':').pop();
  const victim = nats.nodes.find((node) => node.url.endsWith(`:${port}`)) ?? nats.nodes[1]!;
  const killedAtMs = Date.now();
  await victim.kill('SIGKILL');
  const after = tally();
  while (Date.now() - killedAtMs < observeMs) {
    await round(after);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  console.log(`nats-server 3 nodes, R3; SIGKILL of ${victim.name}, calls over the next ${observeMs / 1000} s:`);
  console.log('| call | before: failed/calls (slowest) | after the kill: failed/calls (slowest) | errors |');
  console.log('|---|---|---|---|');
  for (const name of Object.keys(calls)) {
    const b = before[name]!;
    const a = after[name]!;
    console.log(`| ${name} | ${b.failures}/${b.calls} (${b.worstMs} ms) | ${a.failures}/${a.calls} (${a.worstMs} ms) | ${[...a.reasons].join('; ')} |`);
  }
} finally {
  await connection.close().catch(() => undefined);
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}
