// The `cluster:` section of the server config. Off by default: a single node keeps its own WAL and
// object store. On, every replica publishes pushes to a JetStream stream (the replicated WAL), owns
// some partitions under leases in a JetStream KV bucket, and writes parts to the shared object store
// (store.object_store: S3, or a filesystem directory every replica mounts, `shared_directory`).

import { z } from 'zod';
import { durationMsSchema } from '../config/config-values.ts';

/** JetStream names may not hold '.', '*', '>' or whitespace; subjects are dot-separated tokens. */
const natsName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, - and _ only');

export const clusterConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** NATS servers to connect to (any of them; the client learns the rest of the cluster). */
    nats_urls: z.array(z.string().min(1)).min(1).default(['nats://127.0.0.1:4222']),
    /** Names the JetStream stream, the KV bucket and the subject prefix; replicas of one cluster share it. */
    name: natsName.default('rankscope'),
    /** Streams are hashed onto this many partitions; each has one owner at a time. Fixed for a cluster's life. */
    partitions: z.number().int().min(1).max(1024).default(8),
    /** JetStream replicas of the WAL stream and the lease bucket (1, or 3 on a 3-node NATS cluster). */
    replicas: z.number().int().min(1).max(5).default(1),
    /** A lease not renewed for this long expires and another replica takes the partition over. */
    lease_ttl: durationMsSchema.prefault('10s'),
    /** How often owners cut their heads into parts and record the committed WAL sequence. */
    commit_interval: durationMsSchema.prefault('30s'),
    /** How long a query waits for a partition's owner (during a takeover) before failing with 503. */
    request_timeout: durationMsSchema.prefault('10s'),
    /** Messages older than this leave the WAL stream; must exceed commit_interval by far. */
    wal_max_age: durationMsSchema.prefault('24h'),
    /** This replica's name in leases; empty: host name, process id and a random suffix. */
    replica_id: z.string().default(''),
    /** With store.object_store.backend filesystem: the directory every replica shares (required then). */
    shared_directory: z.string().default(''),
  })
  .strict();

export type ClusterConfig = z.output<typeof clusterConfigSchema>;
export type ClusterConfigInput = z.input<typeof clusterConfigSchema>;
