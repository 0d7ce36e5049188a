// Replicas in this process (startServer with `cluster.enabled`) over the given nats-server and a
// shared object store directory, and a wait until the partitions are spread over all of them.

import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import type { ServerConfigInput } from '../../src/server/config.ts';
import { pollUntil } from '../support/peers.ts';
import type { NatsCluster } from './nats-fixture.ts';

export async function startReplicas(dir: string, nats: NatsCluster, count: number, partitions: number, extra: ServerConfigInput = {}): Promise<RunningServer[]> {
  const replicas: RunningServer[] = [];
  for (let i = 0; i < count; i++) {
    replicas.push(
      await startServer({
        server: { listen: '127.0.0.1:0' },
        store: { data_dir: join(dir, `replica-${i}`) },
        ui: { enabled: false },
        ruler: { enabled: false },
        training: { enabled: false },
        ...extra,
        // Commits only when the test asks (POST /flush), so it knows what is in heads and in blocks.
        cluster: { enabled: true, nats_urls: nats.urls, replica_id: `replica-${i}`, partitions, lease_ttl: '4s', commit_interval: '1h', shared_directory: join(dir, 'shared'), ...extra.cluster },
      }),
    );
  }
  await leaseHolders(nats, async (holders) => {
    const partitionHolders = Array.from({ length: partitions }, (_, p) => holders.get(`partition.${p}`) ?? '');
    return partitionHolders.every((holder) => holder !== '') && new Set(partitionHolders).size === count;
  }, 'partitions spread over every replica');
  return replicas;
}

/** Polls the lease bucket until `done(holders by key)` holds; returns the holders then. */
export async function leaseHolders(nats: NatsCluster, done: (holders: Map<string, string>) => Promise<boolean> | boolean, what: string): Promise<Map<string, string>> {
  const connection = await connect({ servers: nats.urls });
  try {
    const leases = await new Kvm(connection).open('rankscope-leases');
    return await pollUntil(what, async () => {
      const holders = new Map<string, string>();
      for await (const key of await leases.keys()) {
        const entry = await leases.get(key);
        if (entry !== null && entry.operation === 'PUT') holders.set(key, entry.string());
      }
      return (await done(holders)) ? holders : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
  } finally {
    await connection.close();
  }
}
