// One replica in cluster mode: connects to NATS, opens the WAL stream and the lease bucket, and keeps
// its leases: a membership heartbeat, the partitions it owns (claimed when free, one handed back per
// round while another replica holds at least two fewer), and the cluster-wide
// singletons (the ruler). Owning a partition means running a PartitionOwner and answering its
// queries. A replica that cannot renew for most of a TTL stops acting on its leases before they expire.

import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { openObjectStore } from '../objstore/open-object-store.ts';
import type { ObjectStore, ObjectStoreConfig } from '../objstore/object-store.ts';
import type { StoreOptions } from '../store/config.ts';
import type { AppendStream } from '../store/types.ts';
import { tsdbOptionsFromConfig, type TsdbConfig } from '../tsdb/config.ts';
import type { TsdbOptions } from '../tsdb/tsdb.ts';
import type { ClusterConfig } from './config.ts';
import { ClusterMetricsStore } from './cluster-metrics.ts';
import { ClusterPushgateway } from './cluster-pushgateway.ts';
import { ClusterLogStore } from './cluster-store.ts';
import { ClusterUnavailableError, OwnerClient } from './owner-client.ts';
import { JetStreamWal } from './jetstream-wal.ts';
import { LeaseTable, type HeldLease } from './lease-table.ts';
import { OWNER_HEADER, queryRequestSubject, serveOwnerQueries } from './owner-queries.ts';
import { PartitionOwner } from './partition-owner.ts';
import { decodePushBatch } from './push-batch.ts';

export interface ClusterLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ClusterNodeOptions {
  config: ClusterConfig;
  /** The server's store settings; the object store must be the shared one. */
  storeOptions: StoreOptions;
  /** The server's metrics settings when it keeps metrics (tsdb.enabled): owners keep a TSDB per partition. */
  tsdbConfig?: TsdbConfig;
  log: ClusterLog;
}

/** What a replica answers a cluster flush with: the partitions it committed. */
interface FlushReply {
  replica: string;
  partitions: number[];
  error?: string;
}

/** A replica that has not renewed for this share of the TTL stops acting on its leases (they expire at 1). */
const SELF_FENCE_TTL_SHARE = 0.75;
/** Lease rounds per TTL: renewals happen this often, so a slow round or two does not lose a lease. */
const ROUNDS_PER_TTL = 4;

interface OwnedPartition {
  lease: HeldLease;
  owner?: PartitionOwner;
  subscription?: Subscription;
  /** Starting or stopping; the next transition waits for it. */
  transition: Promise<void>;
  /** Resolves when the owner answers queries (caught up), or gave up; not part of the transition, so a stop never waits for a catch-up. */
  serving: Promise<void>;
  releasing: boolean;
  /** Lost, fenced or given up (not a hand-over): the owner may write nothing more to the object store. */
  leaseLost: boolean;
}

interface Singleton {
  start(): Promise<() => Promise<void>>;
  lease?: HeldLease;
  stop?: () => Promise<void>;
  transition: Promise<void>;
}

export class ClusterNode {
  readonly replicaId: string;
  readonly store: ClusterLogStore;
  /** The cluster's metrics store, when the server keeps metrics. */
  metrics: ClusterMetricsStore | undefined;
  private readonly owned = new Map<number, OwnedPartition>();
  private readonly singletons = new Map<string, Singleton>();
  private lastRenewedMs = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();
  private closing = false;
  private readonly tailSubject: string;
  private readonly querySubjectPrefix: string;
  private readonly flushSubject: string;
  private flushSubscription: Subscription | undefined;
  private flushRunning: Promise<void> | undefined;
  private flushNext: Promise<void> | undefined;
  private readonly tsdbOptions: Omit<TsdbOptions, 'walDirectory' | 'objectStore'> | undefined;
  readonly owners: OwnerClient;

  private readonly options: ClusterNodeOptions;
  private readonly connection: NatsConnection;
  private readonly wal: JetStreamWal;
  private readonly leases: LeaseTable;
  private readonly objectStore: ObjectStore;
  private readonly objectStoreConfig: ObjectStoreConfig;

  private constructor(options: ClusterNodeOptions, connection: NatsConnection, wal: JetStreamWal, leases: LeaseTable, objectStore: ObjectStore, objectStoreConfig: ObjectStoreConfig) {
    this.options = options;
    this.connection = connection;
    this.wal = wal;
    this.leases = leases;
    this.objectStore = objectStore;
    this.objectStoreConfig = objectStoreConfig;
    const { config } = options;
    this.replicaId = config.replica_id !== '' ? config.replica_id : `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`.replace(/[^A-Za-z0-9_-]/g, '_');
    this.tailSubject = `${config.name}.tail`;
    this.querySubjectPrefix = `${config.name}.query`;
    this.flushSubject = `${config.name}.flush`;
    this.owners = new OwnerClient(connection, this.querySubjectPrefix, config.request_timeout);
    if (options.tsdbConfig !== undefined) {
      const { walDirectory: _walDirectory, objectStore: _objectStore, ...tsdbOptions } = tsdbOptionsFromConfig(options.tsdbConfig, options.storeOptions.dataDir, objectStore);
      this.tsdbOptions = tsdbOptions;
    }
    this.store = new ClusterLogStore({
      connection,
      wal,
      partitions: config.partitions,
      replicaId: this.replicaId,
      querySubjectPrefix: this.querySubjectPrefix,
      tailSubject: this.tailSubject,
      objectStore,
      objectStoreConfig,
      requestTimeoutMs: config.request_timeout,
      localMetrics: () => [...this.owned.values()].flatMap((owned) => (owned.owner === undefined ? [] : [owned.owner.store.metrics()])),
      flushOwned: () => this.flushCluster(),
      compactOwned: async () => {
        for (const owned of this.owned.values()) if (owned.owner !== undefined && this.holds(owned)) await owned.owner.store.compact();
      },
      close: () => this.close(),
    });
  }

  /** Connects, claims what is free, and waits until the partitions it claimed answer queries. */
  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const { config, storeOptions } = options;
    const objectStoreConfig = sharedObjectStoreConfig(config, storeOptions);
    const connection = await connect({ servers: config.nats_urls, maxReconnectAttempts: -1, reconnectTimeWait: 250, name: 'rankscope' });
    try {
      const wal = await JetStreamWal.open(connection, { streamName: `${config.name}-wal`, subjectPrefix: `${config.name}.wal`, replicas: config.replicas, maxAgeMs: config.wal_max_age, appendTimeoutMs: config.request_timeout });
      const leases = await LeaseTable.open(connection, { bucket: `${config.name}-leases`, replicas: config.replicas, ttlMs: config.lease_ttl });
      const node = new ClusterNode(options, connection, wal, leases, openObjectStore(objectStoreConfig), objectStoreConfig);
      node.flushSubscription = connection.subscribe(node.flushSubject, { callback: (error, message) => void (error === null ? node.answerFlush(message) : undefined) });
      if (options.tsdbConfig !== undefined) {
        node.metrics = await ClusterMetricsStore.open({
          connection,
          wal,
          owners: node.owners,
          partitions: config.partitions,
          objectStore: node.objectStore,
          metadataBucket: `${config.name}-metric-metadata`,
          replicas: config.replicas,
          localStats: () => [...node.owned.values()].flatMap((owned) => (owned.owner?.tsdb === undefined ? [] : [owned.owner.tsdb.stats()])),
          flushCluster: () => node.flushCluster(),
          onError: (error) => options.log.error(error.message),
        });
      }
      await node.runRound();
      await Promise.all([...node.owned.values()].map((owned) => owned.transition.then(() => owned.serving)));
      const roundMs = Math.max(100, Math.floor(config.lease_ttl / ROUNDS_PER_TTL));
      node.timer = setInterval(() => {
        node.round = node.round.then(() => node.runRound());
      }, roundMs).unref();
      return node;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  /** Partitions this replica owns and serves now. */
  ownedPartitions(): number[] {
    return [...this.owned.entries()].filter(([, owned]) => owned.subscription !== undefined).map(([partition]) => partition);
  }

  /** Whether this replica holds the named singleton lease and runs its task. */
  runsSingleton(name: string): boolean {
    return this.singletons.get(name)?.stop !== undefined;
  }

  /** Feeds pushes other replicas made durable into this replica's live tails. Returns the unsubscribe. */
  attachTail(publish: (tenant: string, streams: AppendStream[]) => void): () => void {
    const subscription = this.connection.subscribe(this.tailSubject, {
      callback: (error, message) => {
        if (error !== null || message.headers?.get(OWNER_HEADER) === this.replicaId) return;
        try {
          const { tenant, streams } = decodePushBatch(message.data);
          publish(tenant, streams);
        } catch (decodeError) {
          this.options.log.warn(`cluster tail: undecodable message dropped: ${(decodeError as Error).message}`);
        }
      },
    });
    return () => subscription.unsubscribe();
  }

  /**
   * The Pushgateway for this cluster (cluster-pushgateway.ts): pushes to any replica, group state in
   * a KV bucket, run by the holder of the `pushgateway` lease. Needs the cluster's metrics store.
   */
  openPushgateway(settings: { sampleIntervalMs: number; defaultTtlMs: number }): Promise<ClusterPushgateway> {
    const { config, storeOptions, log } = this.options;
    if (this.metrics === undefined) throw new Error('the cluster Pushgateway needs metrics (tsdb.enabled)');
    return ClusterPushgateway.open({
      connection: this.connection,
      subject: `${config.name}.pushgateway`,
      bucket: `${config.name}-pushgateway`,
      replicas: config.replicas,
      requestTimeoutMs: config.request_timeout,
      localDir: join(storeOptions.dataDir, 'cluster', 'pushgateway'),
      metrics: this.metrics,
      ...settings,
      runUnderLease: (name, start) => this.runUnderLease(name, start),
      onError: (error) => log.error(`cluster pushgateway: ${error.message}`),
    });
  }

  /** Runs `start`'s task on one replica of the cluster at a time (the holder of lease `name`). */
  runUnderLease(name: string, start: () => Promise<() => Promise<void>>): void {
    this.singletons.set(name, { start, transition: Promise.resolve() });
  }

  private holds(owned: OwnedPartition): boolean {
    return !owned.releasing && this.leaseValid(owned);
  }

  /** The lease is ours still (a hand-over in progress included: its commit and final cut may write). */
  private leaseValid(owned: OwnedPartition): boolean {
    return !owned.leaseLost && Date.now() - this.lastRenewedMs < this.options.config.lease_ttl * SELF_FENCE_TTL_SHARE;
  }

  private async runRound(): Promise<void> {
    if (this.closing) return;
    const { config, log } = this.options;
    try {
      const startedMs = Date.now();
      await this.leases.put(`member.${this.replicaId}`, String(startedMs));
      for (const [partition, owned] of this.owned) {
        if (owned.releasing) continue;
        const renewed = await this.leases.renew(owned.lease, this.replicaId);
        if (renewed === undefined) {
          log.warn(`cluster: lease of partition ${partition} lost; stopping its owner`);
          this.stopPartition(partition, false);
        } else owned.lease = renewed;
      }
      for (const [name, singleton] of this.singletons) {
        if (singleton.lease === undefined) continue;
        const renewed = await this.leases.renew(singleton.lease, this.replicaId);
        if (renewed === undefined) this.stopSingleton(name);
        else singleton.lease = renewed;
      }
      this.lastRenewedMs = startedMs;
      // An owner that cannot serve (a catch-up without progress, read barriers that keep failing:
      // a reader stuck after the NATS node under it went away) gives the partition up, lease
      // included, so a fresh owner retries from the manifest.
      for (const [partition, owned] of this.owned) {
        if (owned.releasing || owned.owner === undefined || owned.owner.unhealthyForMs(startedMs) < config.request_timeout) continue;
        log.warn(`cluster: partition ${partition} could not serve for ${config.request_timeout} ms; giving it up`);
        void this.stopPartition(partition, false).then(() => this.leases.release(owned.lease).catch(() => undefined));
      }

      const members = (await this.leases.liveKeys('member.')).length;
      const share = Math.ceil(config.partitions / Math.max(1, members));
      const holders = new Map<string, number>();
      const free: number[] = [];
      for (let partition = 0; partition < config.partitions; partition++) {
        if (this.owned.has(partition)) continue;
        const holder = await this.leases.holder(`partition.${partition}`);
        if (holder === undefined) free.push(partition);
        else holders.set(holder, (holders.get(holder) ?? 0) + 1);
      }
      // Free partitions are claimed whatever the share: an owner now beats balance.
      for (const partition of free) {
        const lease = await this.leases.tryAcquire(`partition.${partition}`, this.replicaId);
        if (lease !== undefined) this.startPartition(partition, lease);
      }
      const mine = [...this.owned.values()].filter((owned) => !owned.releasing).length;
      // Hand one over while another replica holds at least two fewer (a live member holding none
      // counts as 0): rounds converge to counts that differ by at most one.
      const fewestElsewhere = holders.size + 1 < members ? 0 : Math.min(...holders.values());
      if (mine - fewestElsewhere >= 2) {
        const partition = Math.max(...[...this.owned.entries()].filter(([, owned]) => !owned.releasing && owned.subscription !== undefined).map(([p]) => p));
        if (Number.isFinite(partition)) {
          log.info(`cluster: handing partition ${partition} over (holding ${mine}, share ${share} of ${members} replicas)`);
          this.stopPartition(partition, true);
        }
      }
      for (const [name, singleton] of this.singletons) {
        if (singleton.lease !== undefined) continue;
        const lease = await this.leases.tryAcquire(`singleton.${name}`, this.replicaId);
        if (lease !== undefined) this.startSingleton(name, singleton, lease);
      }
    } catch (error) {
      log.warn(`cluster: lease round failed: ${(error as Error).message}`);
      this.fenceIfStale();
    }
  }

  /** Our leases are about to expire on the servers: stop acting on them before another replica does. */
  private fenceIfStale(): void {
    if (Date.now() - this.lastRenewedMs < this.options.config.lease_ttl * SELF_FENCE_TTL_SHARE) return;
    const held = [...this.owned.entries()].filter(([, owned]) => !owned.releasing).map(([partition]) => partition);
    if (held.length > 0) this.options.log.warn(`cluster: no lease renewal for ${Date.now() - this.lastRenewedMs} ms; stopping partitions ${held.join(', ')}`);
    for (const partition of held) void this.stopPartition(partition, false);
    for (const [name, singleton] of this.singletons) if (singleton.lease !== undefined) void this.stopSingleton(name);
  }

  private startPartition(partition: number, lease: HeldLease): void {
    const { config, storeOptions, log } = this.options;
    const owned: OwnedPartition = { lease, transition: Promise.resolve(), serving: Promise.resolve(), releasing: false, leaseLost: false };
    this.owned.set(partition, owned);
    owned.transition = (async () => {
      const owner = await PartitionOwner.start({
        partition,
        replicaId: this.replicaId,
        wal: this.wal,
        objectStore: this.objectStore,
        objectStoreConfig: this.objectStoreConfig,
        localDir: join(storeOptions.dataDir, 'cluster', `partition-${partition}`),
        storeOptions,
        commitIntervalMs: config.commit_interval,
        ...(this.tsdbOptions === undefined ? {} : { tsdbOptions: this.tsdbOptions }),
        onSamplesRejected: (count) => log.warn(`cluster: partition ${partition}: ${count} acknowledged samples refused by its TSDB (out of order, too old or duplicate timestamps)`),
        holdsLease: () => this.leaseValid(owned),
        onError: (error) => log.error(`cluster: partition ${partition}: ${error.message}`),
        onReadFailed: (error) => {
          // Give the partition up (its lease too, so another replica retries from the manifest).
          log.error(`cluster: partition ${partition}: reading the WAL failed, giving the partition up: ${error.message}`);
          void this.stopPartition(partition, false).then(() => this.leases.release(owned.lease).catch(() => undefined));
        },
      });
      owned.owner = owner;
      owned.serving = owner.caughtUp().then(() => {
        if (owned.releasing) return;
        const readBarrier = (): Promise<void> => owner.readBarrier(Date.now() + config.request_timeout / 2);
        owned.subscription = serveOwnerQueries(
          this.connection,
          queryRequestSubject(this.querySubjectPrefix, partition),
          this.replicaId,
          owner.store,
          readBarrier,
          (error) => log.error(`cluster: partition ${partition} query: ${error.message}`),
          owner.metrics(),
        );
        log.info(`cluster: owning partition ${partition} from sequence ${owner.appliedSequence}`);
      });
    })().catch((error: unknown) => {
      log.error(`cluster: taking partition ${partition} failed: ${(error as Error).message}`);
      this.stopPartition(partition, false);
    });
  }

  /** Stops serving and owning; with `handOver`, commits first and releases the lease so the next owner starts at once. */
  private stopPartition(partition: number, handOver: boolean): Promise<void> {
    const owned = this.owned.get(partition);
    if (owned === undefined) return Promise.resolve();
    if (!handOver) owned.leaseLost = true;
    if (owned.releasing) return owned.transition;
    owned.releasing = true;
    owned.transition = owned.transition
      .then(async () => {
        owned.subscription?.unsubscribe();
        await owned.owner?.stop(handOver);
        if (handOver) await this.leases.release(owned.lease);
      })
      .catch((error: unknown) => this.options.log.error(`cluster: stopping partition ${partition}: ${(error as Error).message}`))
      .finally(() => {
        if (this.owned.get(partition) === owned) this.owned.delete(partition);
      });
    return owned.transition;
  }

  private startSingleton(name: string, singleton: Singleton, lease: HeldLease): void {
    singleton.lease = lease;
    singleton.transition = singleton.transition.then(async () => {
      try {
        singleton.stop = await singleton.start();
        this.options.log.info(`cluster: running ${name} (singleton lease)`);
      } catch (error) {
        this.options.log.error(`cluster: starting ${name} failed: ${(error as Error).message}`);
        await this.leases.release(lease).catch(() => undefined);
        singleton.lease = undefined;
      }
    });
  }

  private stopSingleton(name: string, release = false): Promise<void> {
    const singleton = this.singletons.get(name)!;
    const lease = singleton.lease;
    singleton.lease = undefined;
    singleton.transition = singleton.transition.then(async () => {
      const stop = singleton.stop;
      singleton.stop = undefined;
      await stop?.().catch((error: unknown) => this.options.log.error(`cluster: stopping ${name}: ${(error as Error).message}`));
      if (release && lease !== undefined) await this.leases.release(lease).catch(() => undefined);
    });
    return singleton.transition;
  }

  /**
   * POST /flush for the whole cluster: every replica commits the partitions it serves (read barrier,
   * heads cut into parts and blocks, manifest). Resolves when every partition was committed by its
   * owner after this call; partitions in a takeover are asked again until request_timeout.
   */
  flushCluster(): Promise<void> {
    if (this.flushRunning === undefined) {
      this.flushRunning = this.runClusterFlush().finally(() => {
        this.flushRunning = this.flushNext;
        this.flushNext = undefined;
      });
      return this.flushRunning;
    }
    // One flush is running and may have read the WAL positions before this call: run one more after it.
    this.flushNext ??= this.flushRunning.catch(() => undefined).then(() => this.runClusterFlush());
    return this.flushNext;
  }

  private async runClusterFlush(): Promise<void> {
    const { config } = this.options;
    const deadlineMs = Date.now() + config.request_timeout;
    const committed = new Set<number>();
    const problems: string[] = [];
    while (committed.size < config.partitions) {
      const members = (await this.leases.liveKeys('member.')).length;
      const replies = await this.connection.requestMany(this.flushSubject, new Uint8Array(0), { strategy: 'count', maxMessages: Math.max(1, members), maxWait: Math.max(100, deadlineMs - Date.now()) });
      for await (const message of replies) {
        const reply = JSON.parse(message.string()) as FlushReply;
        for (const partition of reply.partitions) committed.add(partition);
        if (reply.error !== undefined) problems.push(`${reply.replica}: ${reply.error}`);
      }
      if (committed.size >= config.partitions) break;
      if (Date.now() >= deadlineMs) {
        const missing = Array.from({ length: config.partitions }, (_, p) => p).filter((p) => !committed.has(p));
        throw new ClusterUnavailableError(`flush: partitions ${missing.join(', ')} were not committed within ${config.request_timeout} ms${problems.length > 0 ? ` (${problems.join('; ')})` : ' (no owner serving them: a takeover may be in progress)'}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** A replica's part of a cluster flush: commit every partition it serves, answer which. */
  private async answerFlush(message: { respond(data: Uint8Array): boolean }): Promise<void> {
    const reply: FlushReply = { replica: this.replicaId, partitions: [] };
    const deadlineMs = Date.now() + this.options.config.request_timeout / 2;
    const errors: string[] = [];
    await Promise.all(
      [...this.owned.entries()].map(async ([partition, owned]) => {
        const owner = owned.owner;
        if (owner === undefined || owned.subscription === undefined || !this.holds(owned)) return;
        try {
          await owner.readBarrier(deadlineMs);
          await owner.commit();
          if (this.holds(owned)) reply.partitions.push(partition);
        } catch (error) {
          errors.push(`partition ${partition}: ${(error as Error).message}`);
        }
      }),
    );
    if (errors.length > 0) reply.error = errors.join('; ');
    message.respond(Buffer.from(JSON.stringify(reply), 'utf8'));
  }

  /** Hands every partition and singleton over (committed, leases released) and disconnects. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.flushSubscription?.unsubscribe();
    await this.metrics?.close();
    await this.round;
    await Promise.all([...this.owned.keys()].map((partition) => this.stopPartition(partition, true)));
    await Promise.all([...this.singletons.keys()].map((name) => this.stopSingleton(name, true)));
    await this.leases.remove(`member.${this.replicaId}`).catch(() => undefined);
    await this.objectStore.close();
    await this.connection.drain().catch(() => undefined);
  }
}

/** The object store every replica shares: S3 as configured, or `cluster.shared_directory`. */
export function sharedObjectStoreConfig(config: ClusterConfig, storeOptions: StoreOptions): ObjectStoreConfig {
  const configured = storeOptions.objectStore;
  if (configured !== undefined && configured.backend === 's3') return configured;
  if (config.shared_directory === '') throw new Error('cluster mode with the filesystem object store needs cluster.shared_directory (a directory every replica mounts), or store.object_store.backend: s3');
  return { backend: 'filesystem', directory: config.shared_directory };
}
