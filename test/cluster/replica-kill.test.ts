// The cluster's durability promise under failure: 3 replicas (real `rankscope server` processes), a
// 3-node NATS cluster with R3 streams and a shared object store directory; 8 pushers spread over the
// replicas; one replica and then one NATS node are SIGKILLed mid-ingest. Every acknowledged line must
// be queryable exactly once from every surviving replica, and the dead replica's partition leases
// must move to others within the lease TTL (plus one lease round). Two remote_write pushers run
// beside them: every acknowledged sample must be returned by PromQL on every surviving replica.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { startServerProcess, type ServerProcess } from '../cli/server-process.ts';
import { encodeWriteRequestV1, snappyCompress } from '../../src/push/remote-write-encode.ts';
import { pollUntil } from '../support/peers.ts';
import { startNats } from './nats-fixture.ts';

const PARTITIONS = 6;
// Above the NATS failover time: a lease round stalls up to the 5 s request timeout while the killed
// node's streams elect new leaders, and a replica self-fences after 3/4 of the TTL without renewal.
const LEASE_TTL_MS = 8000;
const PUSHERS = 8;
const LINES_PER_PUSH = 10;
const METRIC_PUSHERS = 2;
const SERIES_PER_METRIC_PUSH = 6;

function replicaConfig(dir: string, index: number, natsUrls: string[]): string {
  const file = join(dir, `replica-${index}.yaml`);
  writeFileSync(
    file,
    [
      'ui: { enabled: false }',
      'training: { enabled: false }',
      'ruler: { enabled: false }',
      `store: { data_dir: ${JSON.stringify(join(dir, `replica-${index}`))} }`,
      'limits: { max_entries_limit_per_query: 1000000, ingestion_rate_mb: 1000, ingestion_burst_size_mb: 1000 }',
      'cluster:',
      '  enabled: true',
      `  nats_urls: ${JSON.stringify(natsUrls)}`,
      `  replica_id: replica-${index}`,
      `  partitions: ${PARTITIONS}`,
      '  replicas: 3',
      `  lease_ttl: ${LEASE_TTL_MS}ms`,
      '  commit_interval: 1s',
      '  request_timeout: 8s',
      `  shared_directory: ${JSON.stringify(join(dir, 'shared'))}`,
    ].join('\n') + '\n',
  );
  return file;
}

async function countLines(url: string, startNs: bigint): Promise<Map<string, number>> {
  const params = new URLSearchParams({ query: '{job="kill"}', limit: '1000000', start: String(startNs), end: String(startNs + 3_600_000_000_000n), direction: 'forward' });
  const response = await fetch(`${url}/loki/api/v1/query_range?${params}`, { signal: AbortSignal.timeout(20_000) });
  if (response.status !== 200) throw new Error(`query on ${url}: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { data: { result: Array<{ values: Array<[string, string]> }> } };
  const counts = new Map<string, number>();
  for (const stream of body.data.result) for (const [, line] of stream.values) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

/** Every `pusher/series/timestamp=value` of kill_metric PromQL returns (a range selector: each stored sample once). */
async function querySamples(url: string): Promise<Set<string>> {
  const params = new URLSearchParams({ query: 'kill_metric[2h]', time: String(Date.now() / 1000) });
  const response = await fetch(`${url}/api/v1/query?${params}`, { signal: AbortSignal.timeout(20_000) });
  if (response.status !== 200) throw new Error(`PromQL on ${url}: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
  const found = new Set<string>();
  for (const series of body.data.result) for (const [seconds, value] of series.values) found.add(`${series.metric.pusher}/${series.metric.series}/${Math.round(seconds * 1000)}=${value}`);
  return found;
}

test('SIGKILL of a replica and of a NATS node mid-ingest loses no acknowledged line or sample and duplicates no line', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-cluster-kill-'));
  const nats = await startNats(join(dir, 'nats'), 3);
  const replicas: ServerProcess[] = [];
  const leaseWatch = await connect({ servers: nats.urls, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  try {
    for (let i = 0; i < 3; i++) replicas.push(await startServerProcess(['--config', replicaConfig(dir, i, nats.urls)], 60_000));
    const alive = new Set([0, 1, 2]);
    const leases = await new Kvm(leaseWatch).open('rankscope-leases');
    const holders = async (): Promise<Array<string | undefined>> =>
      Promise.all(Array.from({ length: PARTITIONS }, async (_, p) => {
        const entry = await leases.get(`partition.${p}`);
        return entry === null || entry.operation !== 'PUT' ? undefined : entry.string();
      }));
    // Wait until the three replicas have balanced the partitions, so the victim owns some.
    await pollUntil('partitions spread over all replicas', async () => {
      const owners = await holders();
      return owners.includes('replica-2') && owners.includes('replica-0') && owners.includes('replica-1') && owners.every((owner) => owner !== undefined) ? true : undefined;
    }, { timeoutMs: 30_000 });

    const startNs = BigInt(Date.now()) * 1_000_000n;
    const acknowledged = new Set<string>();
    let stop = false;
    let pushes = 0;
    let retries = 0;
    const pusher = async (id: number): Promise<void> => {
      for (let batch = 0; !stop; batch++) {
        const lines = Array.from({ length: LINES_PER_PUSH }, (_, i) => `pusher ${id} batch ${batch} line ${i}`);
        const body = JSON.stringify({
          streams: [{ stream: { job: 'kill', pusher: String(id), part: String(batch % 4) }, values: lines.map((line, i) => [String(startNs + BigInt(batch * LINES_PER_PUSH + i) * 1000n + BigInt(id)), line]) }],
        });
        // Retried on another replica until acknowledged: the same body has the same message id.
        for (let attempt = 0; ; attempt++) {
          const targets = [...alive];
          const target = replicas[targets[(id + batch + attempt) % targets.length]!]!;
          const response = await fetch(`${target.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(15_000) }).catch(() => undefined);
          if (response?.status === 204) break;
          await response?.text().catch(() => undefined);
          assert.ok(response === undefined || response.status >= 500 || response.status === 429, `push refused with ${response?.status}`);
          retries++;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        pushes++;
        for (const line of lines) acknowledged.add(line);
      }
    };
    // Samples an hour back, 10 ms apart per batch: in order per series, inside one block range.
    const metricsBaseMs = Date.now() - 3_600_000;
    const acknowledgedSamples = new Set<string>();
    let metricRetries = 0;
    const metricPusher = async (id: number): Promise<void> => {
      for (let batch = 0; !stop; batch++) {
        const timestampMs = metricsBaseMs + batch * 10;
        const series = Array.from({ length: SERIES_PER_METRIC_PUSH }, (_, k) => ({ labels: { __name__: 'kill_metric', pusher: String(id), series: String(k) }, samples: [{ timestampMs, value: batch }] }));
        const body = snappyCompress(encodeWriteRequestV1(series));
        for (let attempt = 0; ; attempt++) {
          const targets = [...alive];
          const target = replicas[targets[(id + batch + attempt) % targets.length]!]!;
          const response = await fetch(`${target.url}/api/v1/write`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' }, body, signal: AbortSignal.timeout(15_000) }).catch(() => undefined);
          if (response?.status === 204) break;
          const text = await response?.text().catch(() => '');
          assert.ok(response === undefined || response.status >= 500, `remote_write refused with ${response?.status}: ${text}`);
          metricRetries++;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        for (let k = 0; k < SERIES_PER_METRIC_PUSH; k++) acknowledgedSamples.add(`${id}/${k}/${timestampMs}=${batch}`);
      }
    };
    const running = [...Array.from({ length: PUSHERS }, (_, id) => pusher(id)), ...Array.from({ length: METRIC_PUSHERS }, (_, id) => metricPusher(id))];

    await pollUntil('some ingest before the replica kill', async () => (acknowledged.size >= 400 ? true : undefined), { timeoutMs: 30_000 });
    const victimPartitions = (await holders()).flatMap((owner, p) => (owner === 'replica-2' ? [p] : []));
    assert.ok(victimPartitions.length > 0);
    alive.delete(2);
    replicas[2]!.kill('SIGKILL');
    const killedAtMs = Date.now();
    await pollUntil('the dead replica\'s partitions owned by live replicas', async () => {
      const owners = await holders();
      return victimPartitions.every((p) => owners[p] === 'replica-0' || owners[p] === 'replica-1') ? true : undefined;
    }, { timeoutMs: 4 * LEASE_TTL_MS, intervalMs: 50 });
    const leaseMoveMs = Date.now() - killedAtMs;
    console.log(`cluster kill test: leases of ${victimPartitions.length} partitions moved ${leaseMoveMs} ms after SIGKILL (TTL ${LEASE_TTL_MS} ms)`);
    assert.ok(leaseMoveMs <= LEASE_TTL_MS + LEASE_TTL_MS / 2, `leases moved after ${leaseMoveMs} ms, TTL is ${LEASE_TTL_MS} ms`);

    const beforeNatsKill = acknowledged.size;
    await pollUntil('ingest after the replica kill', async () => (acknowledged.size >= beforeNatsKill + 400 ? true : undefined), { timeoutMs: 30_000 });
    await nats.nodes[1]!.kill('SIGKILL');
    const beforeStop = acknowledged.size;
    await pollUntil('ingest after the NATS node kill', async () => (acknowledged.size >= beforeStop + 400 ? true : undefined), { timeoutMs: 60_000 });
    stop = true;
    await Promise.all(running);
    console.log(`cluster kill test: ${acknowledged.size} lines acknowledged in ${pushes} pushes (${retries} retried attempts); ${acknowledgedSamples.size} samples acknowledged (${metricRetries} retried remote writes)`);

    for (const index of [0, 1]) {
      const counts = await pollUntil(`every acknowledged line on replica ${index}`, async () => {
        const found = await countLines(replicas[index]!.url, startNs);
        for (const line of acknowledged) if (!found.has(line)) return undefined;
        return found;
      }, { timeoutMs: 60_000, intervalMs: 250, context: () => replicas[index]!.stderr().slice(-3000) });
      const duplicated = [...counts].filter(([, count]) => count > 1);
      assert.deepEqual(duplicated.slice(0, 5), [], `replica ${index} returns lines more than once`);
      // Lines acknowledged are all there; lines never acknowledged (a push cut off mid-kill) may be too.
      assert.ok(counts.size >= acknowledged.size);

      const samples = await pollUntil(`every acknowledged sample on replica ${index}`, async () => {
        const found = await querySamples(replicas[index]!.url);
        for (const sample of acknowledgedSamples) if (!found.has(sample)) return undefined;
        return found;
      }, { timeoutMs: 60_000, intervalMs: 250, context: () => replicas[index]!.stderr().slice(-3000) });
      assert.ok(samples.size >= acknowledgedSamples.size);
    }
  } finally {
    await leaseWatch.close().catch(() => undefined);
    for (const replica of replicas) replica.kill('SIGKILL');
    await Promise.all(replicas.map((replica) => replica.exited));
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
