// Cluster mode in one process: three replicas (startServer with `cluster.enabled`) over one real
// nats-server with JetStream and a shared object store directory. Live tail fan-out, the ruler under
// a lease, hand-over on a clean shutdown, and the read path through owners and parts.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { pollUntil } from '../support/peers.ts';
import { startNats, type NatsCluster } from './nats-fixture.ts';

/** The run tracker's check (and GPU-state sample) interval. */
const TRAINING_CHECK_MS = 200;

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

async function push(url: string, labels: Record<string, string>, lines: string[], atNs = nowNs()): Promise<void> {
  const body = { streams: [{ stream: labels, values: lines.map((line, i) => [String(atNs + BigInt(i)), line]) }] };
  const response = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(response.status, 204, await response.text());
}

async function queryLines(url: string, query: string): Promise<string[]> {
  const params = new URLSearchParams({ query, limit: '5000', start: String(nowNs() - 3_600_000_000_000n), end: String(nowNs() + 60_000_000_000n), direction: 'forward' });
  const response = await fetch(`${url}/loki/api/v1/query_range?${params}`);
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as { data: { result: Array<{ values: Array<[string, string]> }> } };
  return body.data.result.flatMap((stream) => stream.values.map(([, line]) => line)).sort();
}

describe('cluster mode, three replicas in one process', () => {
  let dir: string;
  let nats: NatsCluster;
  let alertmanager: Server;
  const alertPosts: Array<Record<string, string>> = [];
  const replicas: RunningServer[] = [];

  const startReplica = async (index: number): Promise<RunningServer> => {
    const port = (alertmanager.address() as { port: number }).port;
    return startServer({
      server: { listen: '127.0.0.1:0' },
      store: { data_dir: join(dir, `replica-${index}`) },
      ui: { enabled: false },
      ruler: { rules_dir: join(dir, 'rules'), evaluation_interval: '1s', resend_delay: '1s', alertmanager_url: `http://127.0.0.1:${port}`, external_labels: { replica: String(index) } },
      training: { check_interval: `${TRAINING_CHECK_MS}ms` },
      cluster: { enabled: true, nats_urls: nats.urls, replica_id: `replica-${index}`, partitions: 4, lease_ttl: '4s', commit_interval: '1s', shared_directory: join(dir, 'shared') },
    });
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rankscope-cluster-node-'));
    mkdirSync(join(dir, 'rules'));
    writeFileSync(join(dir, 'rules', 'cluster.yaml'), 'groups:\n  - name: cluster\n    rules:\n      - alert: ClusterLines\n        expr: sum(count_over_time({job="ruler"}[5m])) > 0\n');
    alertmanager = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        for (const alert of JSON.parse(body || '[]') as Array<{ labels: Record<string, string> }>) alertPosts.push(alert.labels);
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => alertmanager.listen(0, '127.0.0.1', resolve));
    nats = await startNats(join(dir, 'nats'), 1);
    for (let i = 0; i < 3; i++) replicas.push(await startReplica(i));
    // Start from a settled cluster: the start-up hand-overs done, every replica owning a partition.
    const connection = await connect({ servers: nats.urls });
    try {
      const leases = await new Kvm(connection).open('rankscope-leases');
      await pollUntil('partitions spread over the three replicas', async () => {
        const holders = await Promise.all([0, 1, 2, 3].map(async (p) => (await leases.get(`partition.${p}`))?.string() ?? ''));
        return holders.every((holder) => holder !== '') && new Set(holders).size === 3 ? true : undefined;
      }, { timeoutMs: 30_000, intervalMs: 100 });
    } finally {
      await connection.close();
    }
  });

  after(async () => {
    for (const replica of replicas) await replica.close().catch(() => undefined);
    await nats?.stop();
    alertmanager?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a push to any replica is queryable from every replica', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => `any-replica line ${i}`);
    for (let i = 0; i < 50; i += 10) await push(replicas[(i / 10) % 3]!.url, { job: 'read', rank: String(i % 7) }, lines.slice(i, i + 10), nowNs() + BigInt(i));
    for (const replica of replicas) {
      await pollUntil('all lines on every replica', async () => ((await queryLines(replica.url, '{job="read"}')).length === 50 ? true : undefined), { timeoutMs: 10_000 });
      assert.deepEqual(await queryLines(replica.url, '{job="read"}'), [...lines].sort());
    }
    // After a commit the lines come from parts in the shared object store, still exactly once.
    await Promise.all(replicas.map((replica) => replica.store.flush()));
    const partitionDirs = readdirSync(join(dir, 'shared', 'cluster', 'partitions'));
    assert.ok(partitionDirs.length > 0, 'parts were written under cluster/partitions/');
    for (const replica of replicas) assert.deepEqual(await queryLines(replica.url, '{job="read"}'), [...lines].sort());
    const labels = await (await fetch(`${replicas[1]!.url}/loki/api/v1/label/rank/values`)).json();
    assert.deepEqual((labels as { data: string[] }).data, ['0', '1', '2', '3', '4', '5', '6'].filter((rank) => [0, 10, 20, 30, 40].some((i) => String(i % 7) === rank)));
  });

  test('a push acknowledged by one replica is in the next query on another, without waiting (read barrier)', async () => {
    for (let i = 0; i < 30; i++) {
      await push(replicas[i % 3]!.url, { job: 'ryw', rank: String(i % 5) }, [`ryw line ${i}`]);
      const lines = await queryLines(replicas[(i + 1) % 3]!.url, `{job="ryw"} |= "ryw line ${i}"`);
      assert.deepEqual(lines, [`ryw line ${i}`], `line ${i} pushed to replica ${i % 3}, read on replica ${(i + 1) % 3}`);
    }
  });

  test('a live tail on replica A sees a line pushed to replica C within 1 s', async () => {
    const socket = new WebSocket(`${replicas[0]!.url.replace(/^http/, 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query: '{job="tail"}' })}`);
    const received: string[] = [];
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { streams?: Array<{ values: Array<[string, string]> }> };
      for (const stream of frame.streams ?? []) for (const [, line] of stream.values) received.push(line);
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    try {
      const pushedAtMs = Date.now();
      await push(replicas[2]!.url, { job: 'tail' }, ['pushed to C']);
      await pollUntil('the line in A\'s tail', async () => (received.includes('pushed to C') ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
      const latencyMs = Date.now() - pushedAtMs;
      assert.ok(latencyMs < 1000, `tail latency ${latencyMs} ms`);
      assert.deepEqual(received, ['pushed to C'], 'the line arrives once');
    } finally {
      socket.close();
    }
  });

  test('every replica tracks a training run whose lines were pushed to another replica', async () => {
    await push(replicas[2]!.url, { job: 'train', run_id: 'cluster-run', rank: '0' }, ['step 1/100 loss 2.5', 'step 2/100 loss 2.4']);
    for (const replica of replicas) {
      await pollUntil('the run on every replica', async () => {
        const body = (await (await fetch(`${replica.url}/api/v1/runs`)).json()) as { runs: Array<{ id: string }> };
        return body.runs.some((run) => run.id === 'cluster-run') ? true : undefined;
      }, { timeoutMs: 5000 });
    }
  });

  test('the rank-state samples of a run are written by one replica per check, not by every replica', async () => {
    const samplesMs = async (): Promise<number[]> => {
      const params = new URLSearchParams({ query: 'rankscope_training_rank_silent{run_id="cluster-run",rank="0"}[1h]', time: String(Date.now() / 1000) });
      const body = (await (await fetch(`${replicas[0]!.url}/api/v1/query?${params}`)).json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
      return (body.data.result[0]?.values ?? []).map(([seconds]) => Math.round(seconds * 1000));
    };
    const found = await pollUntil('15 rank-state samples', async () => {
      const timestamps = await samplesMs();
      return timestamps.length >= 15 ? timestamps : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    // One writer: one sample per check interval (timer jitter only makes gaps longer). Three writers
    // with their own timers would put about three samples in each interval.
    const spanMs = found.at(-1)! - found[0]!;
    assert.ok(found.length <= spanMs / TRAINING_CHECK_MS + 2, `${found.length} samples over ${spanMs} ms with a ${TRAINING_CHECK_MS} ms check interval`);
  });

  test('the ruler evaluates on one replica only, and alerts fire once, not three times', async () => {
    await push(replicas[1]!.url, { job: 'ruler' }, ['a line the rule counts']);
    await pollUntil('an alert', async () => (alertPosts.length > 0 ? true : undefined), { timeoutMs: 15_000 });
    // Several evaluation and resend intervals (1 s each) later, still one sender.
    const firstCount = alertPosts.length;
    await pollUntil('more resends', async () => (alertPosts.length >= firstCount + 3 ? true : undefined), { timeoutMs: 15_000 });
    const senders = new Set(alertPosts.filter((labels) => labels.alertname === 'ClusterLines').map((labels) => labels.replica));
    assert.equal(senders.size, 1, `alerts came from replicas ${[...senders].join(', ')}`);
  });

  test('a replica that shuts down hands its partitions over; nothing acknowledged is lost', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `handover line ${i}`);
    await push(replicas[2]!.url, { job: 'handover', rank: '0' }, lines.slice(0, 15));
    await push(replicas[0]!.url, { job: 'handover', rank: '1' }, lines.slice(15));
    const closing = replicas.pop()!;
    await closing.close();
    for (const replica of replicas) {
      await pollUntil('all handover lines', async () => ((await queryLines(replica.url, '{job="handover"}')).length === 30 ? true : undefined), { timeoutMs: 10_000 });
      assert.deepEqual(await queryLines(replica.url, '{job="handover"}'), [...lines].sort());
    }
  });
});
