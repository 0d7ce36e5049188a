// The LogStore every replica serves in cluster mode. Appends go to the cluster WAL, split by
// partition, and resolve when every batch is acknowledged (then the push gets its 204). Reads ask
// each partition's owner (NATS request-reply, owner-queries.ts) and load part blocks straight from
// the shared object store; recent head data comes inline in the owner's answer.

import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { ObjectStore, ObjectStoreConfig } from '../objstore/object-store.ts';
import { blockReaderOver, type BlockReader } from '../store/block-reader.ts';
import type { AppendStream, BlockQuery, BlockReaderConfig, BlockRef, IndexStats, LabelMatcher, LogStore, StoreMetrics, StreamInfo } from '../store/types.ts';
import { OWNER_HEADER } from './owner-queries.ts';
import { ClusterUnavailableError, OwnerClient } from './owner-client.ts';
import { encodePushBatches } from './push-batch.ts';
import { sharedLocation } from './partition-store.ts';
import { decodeInlineBlock, inlineBodyBytes, type PartitionRequest, type ReplyFrame } from './query-protocol.ts';
import type { Wal } from './wal.ts';

export { ClusterUnavailableError } from './owner-client.ts';

export interface ClusterStoreOptions {
  connection: NatsConnection;
  wal: Wal;
  partitions: number;
  replicaId: string;
  querySubjectPrefix: string;
  tailSubject: string;
  objectStore: ObjectStore;
  objectStoreConfig: ObjectStoreConfig;
  /** How long a read waits for a partition without an owner (a takeover in progress). */
  requestTimeoutMs: number;
  /** Store figures of the partitions this replica owns, for /metrics. */
  localMetrics(): StoreMetrics[];
  /** Cuts every owned partition's heads into parts and records their manifests. */
  flushOwned(): Promise<void>;
  compactOwned(): Promise<void>;
  close(): Promise<void>;
}

export class ClusterLogStore implements LogStore {
  private readonly blockReader: BlockReader;
  private readonly owners: OwnerClient;
  private closed = false;

  private readonly options: ClusterStoreOptions;

  constructor(options: ClusterStoreOptions) {
    this.options = options;
    this.blockReader = blockReaderOver(options.objectStore);
    this.owners = new OwnerClient(options.connection, options.querySubjectPrefix, options.requestTimeoutMs);
  }

  async append(tenant: string, streams: AppendStream[]): Promise<void> {
    if (this.closed) throw new ClusterUnavailableError('replica is shutting down');
    const { wal, connection } = this.options;
    const batches = encodePushBatches(tenant, streams, this.options.partitions, wal.maxPayloadBytes);
    try {
      await Promise.all(batches.map((batch) => wal.append(batch.partition, batch.messageId, batch.payload)));
    } catch (error) {
      // Some batches may be stored: a retry of the same push has the same message ids, so JetStream
      // stores each batch once.
      throw new ClusterUnavailableError(`the cluster WAL did not acknowledge the push (${(error as Error).message}); retry it`);
    }
    // Durable now: other replicas' live tails get it over core NATS (best effort, like a local tail).
    const origin = headers();
    origin.set(OWNER_HEADER, this.options.replicaId);
    for (const batch of batches) connection.publish(this.options.tailSubject, batch.payload, { headers: origin });
  }

  private askAll(request: PartitionRequest): Promise<ReplyFrame[][]> {
    return this.owners.askAll(this.options.partitions, request);
  }

  async series(tenant: string, matchers: LabelMatcher[], startNs: bigint, endNs: bigint): Promise<StreamInfo[]> {
    const found = new Map<string, StreamInfo>();
    for (const frames of await this.askAll({ op: 'series', tenant, matchers, startNs: String(startNs), endNs: String(endNs) })) {
      for (const frame of frames) if (frame.header.kind === 'series') for (const stream of frame.header.streams) found.set(stream.id, stream);
    }
    return [...found.values()];
  }

  async labelNames(tenant: string, startNs: bigint, endNs: bigint, matchers: LabelMatcher[] = []): Promise<string[]> {
    return this.names(await this.askAll({ op: 'labelNames', tenant, matchers, startNs: String(startNs), endNs: String(endNs) }));
  }

  async labelValues(tenant: string, name: string, startNs: bigint, endNs: bigint, matchers: LabelMatcher[] = []): Promise<string[]> {
    return this.names(await this.askAll({ op: 'labelValues', tenant, name, matchers, startNs: String(startNs), endNs: String(endNs) }));
  }

  private names(answers: ReplyFrame[][]): string[] {
    const names = new Set<string>();
    for (const frames of answers) for (const frame of frames) if (frame.header.kind === 'names') for (const name of frame.header.names) names.add(name);
    return [...names].sort();
  }

  async stats(tenant: string, matchers: LabelMatcher[], startNs: bigint, endNs: bigint): Promise<IndexStats> {
    const total: IndexStats = { streams: 0, chunks: 0, entries: 0, bytes: 0 };
    for (const frames of await this.askAll({ op: 'stats', tenant, matchers, startNs: String(startNs), endNs: String(endNs) })) {
      for (const frame of frames) {
        if (frame.header.kind !== 'stats') continue;
        total.streams += frame.header.stats.streams;
        total.chunks += frame.header.stats.chunks;
        total.entries += frame.header.stats.entries;
        total.bytes += frame.header.stats.bytes;
      }
    }
    return total;
  }

  async selectBlocks(query: BlockQuery): Promise<BlockRef[]> {
    const request: PartitionRequest = { op: 'selectBlocks', tenant: query.tenant, matchers: query.matchers, startNs: String(query.startNs), endNs: String(query.endNs), requiredLiterals: query.requiredLiterals };
    const answers = await this.askAll(request);
    const refs: BlockRef[] = [];
    for (let partition = 0; partition < answers.length; partition++) {
      for (const frame of answers[partition]!) {
        if (frame.header.kind !== 'blocks') continue;
        let bodyOffset = 0;
        for (const wire of frame.header.refs) {
          const base = { stream: wire.stream, minTimeNs: BigInt(wire.minTimeNs), maxTimeNs: BigInt(wire.maxTimeNs), entryCount: wire.entryCount, rawBytes: wire.rawBytes };
          if (wire.location !== undefined) {
            const location = sharedLocation(partition, wire.location);
            refs.push({ ...base, location, load: () => this.blockReader.read(location, wire.stream) });
          } else if (wire.inline !== undefined) {
            const data = decodeInlineBlock(wire.stream, wire.inline, frame.body.subarray(bodyOffset));
            bodyOffset += inlineBodyBytes(wire.inline);
            refs.push({ ...base, load: () => Promise.resolve(data) });
          }
        }
      }
    }
    return refs;
  }

  blockReaderConfig(): BlockReaderConfig {
    return { objectStore: this.options.objectStoreConfig };
  }

  flush(): Promise<void> {
    return this.options.flushOwned();
  }

  compact(): Promise<void> {
    return this.options.compactOwned();
  }

  async applyRetention(): Promise<void> {
    // Each owner's partition store applies retention on its own timer (partition-owner.ts).
  }

  metrics(): StoreMetrics {
    const sum: StoreMetrics = { walFsyncSeconds: { count: 0, sum: 0, buckets: [] }, parts: 0, headStreams: 0, headBytes: 0, diskBytes: 0, duplicateEntriesDiscarded: [] };
    const duplicates = new Map<string, number>();
    for (const metrics of this.options.localMetrics()) {
      sum.parts += metrics.parts;
      sum.headStreams += metrics.headStreams;
      sum.headBytes += metrics.headBytes;
      sum.diskBytes += metrics.diskBytes;
      for (const [tenant, entries] of metrics.duplicateEntriesDiscarded) duplicates.set(tenant, (duplicates.get(tenant) ?? 0) + entries);
    }
    sum.duplicateEntriesDiscarded = [...duplicates];
    return sum;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.options.close();
  }
}
