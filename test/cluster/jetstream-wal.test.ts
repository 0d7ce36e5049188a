import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamWal } from '../../src/cluster/jetstream-wal.ts';
import type { WalBatch } from '../../src/cluster/wal.ts';
import { pollUntil } from '../support/peers.ts';
import { startNats, type NatsCluster } from './nats-fixture.ts';

let dir: string;
let nats: NatsCluster;
let connection: NatsConnection;
let wal: JetStreamWal;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rankscope-jetstream-wal-'));
  nats = await startNats(dir, 1);
  connection = await connect({ servers: nats.urls });
  wal = await JetStreamWal.open(connection, { streamName: 'test-wal', subjectPrefix: 'test.wal', replicas: 1, maxAgeMs: 60_000, appendTimeoutMs: 5000 });
});

after(async () => {
  await connection?.close();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('appends are acknowledged with growing sequences; a repeated message id is acknowledged as a duplicate, not stored', async () => {
  const first = await wal.append(0, 'id-1', bytes('one'));
  const second = await wal.append(1, 'id-2', bytes('two'));
  const retried = await wal.append(0, 'id-1', bytes('one'));
  assert.equal(first.duplicate, false);
  assert.ok(second.seq > first.seq);
  assert.deepEqual(retried, { seq: first.seq, duplicate: true });
  assert.equal(await wal.lastSeq(0), first.seq);
  assert.equal(await wal.lastSeq(7), 0, 'a partition without batches has sequence 0');
});

test('a reader gets one partition from a sequence on, in order, one batch at a time', async () => {
  const seqs: number[] = [];
  for (let i = 0; i < 6; i++) seqs.push((await wal.append(2 + (i % 2), `read-${i}`, bytes(`batch ${i}`))).seq);
  const got: WalBatch[] = [];
  let running = 0;
  let overlapped = false;
  const reader = wal.read(2, seqs[2]!, async (batch) => {
    running++;
    if (running > 1) overlapped = true;
    await new Promise((resolve) => setImmediate(resolve));
    got.push(batch);
    running--;
  }, (error) => assert.fail(error));
  await pollUntil('two batches', async () => (got.length >= 2 ? true : undefined), { timeoutMs: 10_000 });
  // A batch appended while reading arrives too.
  const late = await wal.append(2, 'read-late', bytes('late'));
  await pollUntil('the late batch', async () => (got.length >= 3 ? true : undefined), { timeoutMs: 10_000 });
  await reader.stop();
  assert.deepEqual(got.map((batch) => batch.seq), [seqs[2], seqs[4], late.seq]);
  assert.deepEqual(got.map((batch) => new TextDecoder().decode(batch.payload)), ['batch 2', 'batch 4', 'late']);
  assert.ok(got.every((batch) => batch.partition === 2));
  assert.equal(overlapped, false);
});

test('lastSeq is the partition\'s newest sequence (the read barrier\'s target), 0 for a partition never written', async () => {
  assert.equal(await wal.lastSeq(7), 0);
  const first = await wal.append(7, 'last-1', bytes('one'));
  const second = await wal.append(7, 'last-2', bytes('two'));
  await wal.append(8, 'last-other', bytes('another partition'));
  assert.ok(second.seq > first.seq);
  assert.equal(await wal.lastSeq(7), second.seq);
});

test('the payload limit is the servers\' max_payload', () => {
  assert.equal(wal.maxPayloadBytes, 1024 * 1024);
});
