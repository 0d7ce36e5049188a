// Cluster mode over the S3 backend (the s3rver stand-in): two replicas share the bucket, owners write
// parts and manifests under cluster/partitions/<n>/, and each replica reads the other's parts from
// the bucket (the owner only names them) for its queries.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3ObjectStore } from '../../src/objstore/s3-store.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { startS3rver, type RunningS3rver } from '../objstore/s3rver-fixture.ts';
import { pollUntil } from '../support/peers.ts';
import { startNats, type NatsCluster } from './nats-fixture.ts';

let dir: string;
let nats: NatsCluster;
let s3: RunningS3rver;
const replicas: RunningServer[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rankscope-s3-cluster-'));
  s3 = await startS3rver();
  nats = await startNats(join(dir, 'nats'), 1);
  for (let i = 0; i < 2; i++) {
    replicas.push(
      await startServer({
        server: { listen: '127.0.0.1:0' },
        ui: { enabled: false },
        training: { enabled: false },
        ruler: { enabled: false },
        store: {
          data_dir: join(dir, `replica-${i}`),
          object_store: { backend: 's3', s3: { endpoint: s3.endpoint, bucket: s3.bucket, force_path_style: true, access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey, prefix: 'rs/' } },
        },
        cluster: { enabled: true, nats_urls: nats.urls, replica_id: `replica-${i}`, partitions: 2, lease_ttl: '2s' },
      }),
    );
  }
});

after(async () => {
  for (const replica of replicas) await replica.close().catch(() => undefined);
  await nats?.stop();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('owners write parts and manifests to the shared bucket; every replica reads them', async () => {
  const atNs = BigInt(Date.now()) * 1_000_000n;
  const body = { streams: Array.from({ length: 6 }, (_, rank) => ({ stream: { job: 's3', rank: String(rank) }, values: [[String(atNs + BigInt(rank)), `s3 line of rank ${rank}`]] })) };
  const response = await fetch(`${replicas[0]!.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(response.status, 204);
  // Both replicas own a partition once the start-up hand-over is done; flush both so all data is in parts.
  const bucket = new S3ObjectStore({ backend: 's3', endpoint: s3.endpoint, bucket: s3.bucket, region: 'us-east-1', forcePathStyle: true, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, prefix: 'rs/' });
  try {
    await pollUntil('manifests of both partitions', async () => {
      await Promise.all(replicas.map((replica) => replica.store.flush()));
      const keys = await bucket.list('cluster/partitions/');
      return ['0', '1'].every((p) => keys.includes(`cluster/partitions/${p}/manifest.json`)) ? keys : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    const keys = await bucket.list('cluster/partitions/');
    assert.ok(keys.some((key) => /^cluster\/partitions\/\d\/tenants\/.+/.test(key)), `no parts in ${keys.join(', ')}`);
    for (const replica of replicas) {
      const params = new URLSearchParams({ query: '{job="s3"}', limit: '100', start: String(atNs - 1_000_000_000n), end: String(atNs + 1_000_000_000n) });
      const answer = (await (await fetch(`${replica.url}/loki/api/v1/query_range?${params}`)).json()) as { data: { result: Array<{ values: Array<[string, string]> }> } };
      const lines = answer.data.result.flatMap((stream) => stream.values.map(([, line]) => line)).sort();
      assert.deepEqual(lines, Array.from({ length: 6 }, (_, rank) => `s3 line of rank ${rank}`));
    }
  } finally {
    await bucket.close();
  }
});
