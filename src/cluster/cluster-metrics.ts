// The metrics store every replica serves in cluster mode (remote_write, the Pushgateway's samples,
// recording rules, PromQL). Appends are checked here (label names, timestamps), split by series
// hash into partitions, published to the cluster WAL and resolve once every batch is acknowledged:
// then remote_write answers 204. The partition's owner appends them to its TSDB, whose blocks go to
// the shared object store under cluster/partitions/<n>/tsdb/. Selects are split by time per
// partition (metric-queries.ts): recent samples from the owner, older ones read from its durable
// blocks in the object store by this replica, merged once. Family metadata (type, help, unit) is
// small and read synchronously by the API, so it lives in a KV bucket every replica watches.

import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { ObjectNotFoundError, type ObjectStore } from '../objstore/object-store.ts';
import { LABEL_NAME_PATTERN } from '../push/labels.ts';
import type { BlockMeta } from '../tsdb/block.ts';
import { BlockReader } from '../tsdb/block-reader.ts';
import { labelNamesOf, labelValuesOf, seriesKey } from '../tsdb/series-index.ts';
import { mergeSelections, type MetricMetadata, type TsdbStats } from '../tsdb/tsdb.ts';
import type { AppendSeries, Labels, MetricLabelMatcher, RejectedSample, SeriesSamples, SeriesSelectQuery } from '../tsdb/types.ts';
import { encodeMetricBatches } from './metric-batch.ts';
import type { SeriesExemplars } from '../tsdb/exemplar-storage.ts';
import { decodeExemplarFrames, decodeSampleFrames } from './metric-queries.ts';
import { restartingWatch, type RestartingWatch } from './kv-watch.ts';
import { ClusterUnavailableError, type OwnerClient } from './owner-client.ts';
import { partitionKeyPrefix } from './partition-store.ts';
import type { Wal } from './wal.ts';

export interface ClusterMetricsOptions {
  connection: NatsConnection;
  wal: Wal;
  owners: OwnerClient;
  partitions: number;
  /** The shared object store (partition blocks are read from it). */
  objectStore: ObjectStore;
  metadataBucket: string;
  replicas: number;
  /** Figures of the partitions this replica owns, for /metrics. */
  localStats(): TsdbStats[];
  /** POST /flush: every owner cuts its heads and commits. */
  flushCluster(): Promise<void>;
  onError(error: Error): void;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Block readers kept (each holds its decoded index once read). */
const BLOCK_READER_CACHE = 512;
/** Asks of a partition when a listed block vanished meanwhile (compacted or expired between answer and read). */
const SELECT_ATTEMPTS = 3;

export class ClusterMetricsStore {
  private readonly options: ClusterMetricsOptions;
  private readonly kv: KV;
  private readonly metadata = new Map<string, Map<string, MetricMetadata>>();
  private readonly readers = new Map<string, BlockReader>();
  private metadataWatch: RestartingWatch | undefined;
  private closed = false;

  private constructor(options: ClusterMetricsOptions, kv: KV) {
    this.options = options;
    this.kv = kv;
  }

  static async open(options: ClusterMetricsOptions): Promise<ClusterMetricsStore> {
    const manager = new Kvm(options.connection);
    const kv = await manager.create(options.metadataBucket, { history: 1, replicas: options.replicas }).catch(async (error: unknown) => {
      if (!/already in use|exists/i.test((error as Error).message)) throw error;
      return manager.open(options.metadataBucket);
    });
    const store = new ClusterMetricsStore(options, kv);
    await store.watchMetadata();
    return store;
  }

  /** Follows the metadata bucket; a watch that stops is started again with backoff (kv-watch.ts). */
  private async watchMetadata(): Promise<void> {
    this.metadataWatch = restartingWatch(await this.kv.watch(), {
      start: () => this.kv.watch(),
      apply: (entry) => {
        const [tenant, family] = entry.key.split('.').map((part) => Buffer.from(part, 'base64url').toString('utf8'));
        if (tenant === undefined || family === undefined) return;
        let families = this.metadata.get(tenant);
        if (families === undefined) this.metadata.set(tenant, (families = new Map()));
        if (entry.operation !== 'PUT') families.delete(family);
        else families.set(family, JSON.parse(entry.string()) as MetricMetadata);
      },
      onError: (error) => {
        if (!this.closed) this.options.onError(new Error(`cluster metrics metadata: ${error.message}`));
      },
    });
  }

  /** Checks what needs no state, publishes the rest; resolves once JetStream acknowledged every batch. */
  async append(tenant: string, series: AppendSeries[]): Promise<{ accepted: number; rejected: RejectedSample[]; exemplarsAccepted: number }> {
    if (this.closed) throw new ClusterUnavailableError('replica is shutting down');
    const rejected: RejectedSample[] = [];
    const valid: AppendSeries[] = [];
    let accepted = 0;
    let exemplarsAccepted = 0;
    for (const entry of series) {
      const labels = cleanLabels(entry.labels);
      if (labels === undefined) {
        for (const sample of entry.samples) rejected.push({ labels: entry.labels, timestampMs: sample.timestampMs, reason: 'invalid_labels' });
        continue;
      }
      const samples = entry.samples.filter((sample) => {
        if (Number.isSafeInteger(sample.timestampMs)) return true;
        rejected.push({ labels, timestampMs: sample.timestampMs, reason: 'too_old' });
        return false;
      });
      accepted += samples.length;
      exemplarsAccepted += entry.exemplars?.length ?? 0;
      valid.push(entry.exemplars === undefined ? { labels, samples } : { labels, samples, exemplars: entry.exemplars });
    }
    const { wal } = this.options;
    const batches = encodeMetricBatches(tenant, valid, this.options.partitions, wal.maxPayloadBytes);
    try {
      await Promise.all(batches.map((batch) => wal.append(batch.partition, batch.messageId, batch.payload)));
    } catch (error) {
      throw new ClusterUnavailableError(`the cluster WAL did not acknowledge the samples (${(error as Error).message}); retry`);
    }
    return { accepted, rejected, exemplarsAccepted };
  }

  setMetadata(tenant: string, family: string, metadata: MetricMetadata): void {
    const known = this.metadata.get(tenant)?.get(family);
    if (known !== undefined && known.type === metadata.type && known.help === metadata.help && known.unit === metadata.unit) return;
    let families = this.metadata.get(tenant);
    if (families === undefined) this.metadata.set(tenant, (families = new Map()));
    families.set(family, metadata);
    const key = `${Buffer.from(tenant, 'utf8').toString('base64url')}.${Buffer.from(family, 'utf8').toString('base64url')}`;
    this.kv.put(key, JSON.stringify(metadata)).catch((error: unknown) => this.options.onError(new Error(`cluster metrics: metadata of ${family} not stored: ${(error as Error).message}`)));
  }

  getMetadata(tenant: string): Map<string, MetricMetadata> {
    return this.metadata.get(tenant) ?? new Map();
  }

  async select(tenant: string, query: SeriesSelectQuery): Promise<SeriesSamples[]> {
    const parts: SeriesSamples[][] = [];
    const asks: Array<Promise<void>> = [];
    for (let partition = 0; partition < this.options.partitions; partition++) asks.push(this.selectPartition(partition, tenant, query).then((found) => void parts.push(...found)));
    await Promise.all(asks);
    return mergeSelections(parts);
  }

  /** One partition: the owner's recent samples, then its listed blocks for the time before them. */
  private async selectPartition(partition: number, tenant: string, query: SeriesSelectQuery): Promise<SeriesSamples[][]> {
    for (let attempt = 1; ; attempt++) {
      const answer = decodeSampleFrames(await this.options.owners.ask(partition, { op: 'metricSelect', tenant, matchers: query.matchers, startMs: query.startMs, endMs: query.endMs }));
      const blockEndMs = Math.min(query.endMs, answer.coverFromMs === null ? Infinity : answer.coverFromMs - 1);
      try {
        const fromBlocks = await Promise.all(answer.blocks.map((meta) => this.reader(partition, meta).select(this.options.objectStore, query.matchers, query.startMs, blockEndMs)));
        return [answer.series, ...fromBlocks];
      } catch (error) {
        if (!(error instanceof ObjectNotFoundError) || attempt >= SELECT_ATTEMPTS) throw error;
        for (const meta of answer.blocks) this.readers.delete(readerKey(partition, meta));
      }
    }
  }

  private reader(partition: number, meta: BlockMeta): BlockReader {
    const key = readerKey(partition, meta);
    let reader = this.readers.get(key);
    if (reader !== undefined) {
      this.readers.delete(key);
      this.readers.set(key, reader);
      return reader;
    }
    reader = new BlockReader(meta, `${partitionKeyPrefix(partition)}tsdb`);
    this.readers.set(key, reader);
    if (this.readers.size > BLOCK_READER_CACHE) this.readers.delete(this.readers.keys().next().value!);
    return reader;
  }

  async series(tenant: string, matcherSets: MetricLabelMatcher[][], startMs: number, endMs: number): Promise<Labels[]> {
    const byKey = new Map<string, Labels>();
    for (const frames of await this.options.owners.askAll(this.options.partitions, { op: 'metricSeries', tenant, matcherSets, startMs, endMs })) {
      for (const frame of frames) if (frame.header.kind === 'labelSets') for (const labels of frame.header.series) byKey.set(seriesKey(labels), labels);
    }
    return [...byKey.values()];
  }

  /**
   * query_exemplars: every partition's owner answers from its TSDB's exemplar ring (exemplars are
   * kept in memory and replayed from the WAL, never written to blocks, so no block is read).
   */
  async exemplars(tenant: string, matcherSets: MetricLabelMatcher[][], startMs: number, endMs: number): Promise<SeriesExemplars[]> {
    const frames = await this.options.owners.askAll(this.options.partitions, { op: 'metricExemplars', tenant, matcherSets, startMs, endMs });
    return decodeExemplarFrames(frames.flat());
  }

  async labelNames(tenant: string, startMs: number, endMs: number, matcherSets?: MetricLabelMatcher[][]): Promise<string[]> {
    return labelNamesOf(await this.series(tenant, matcherSets ?? [[{ name: '__name__', type: '=~', value: '.+' }]], startMs, endMs));
  }

  async labelValues(tenant: string, name: string, startMs: number, endMs: number, matcherSets?: MetricLabelMatcher[][]): Promise<string[]> {
    return labelValuesOf(await this.series(tenant, matcherSets ?? [[{ name, type: '=~', value: '.+' }]], startMs, endMs), name);
  }

  flush(): Promise<void> {
    return this.options.flushCluster();
  }

  /** The partitions this replica owns, summed (the gauges of /metrics). */
  stats(): TsdbStats {
    const sum: TsdbStats = { headSeries: 0, headSamples: 0, blocks: 0, blockBytes: 0, blockSamples: 0, walSegments: 0, walFsyncSeconds: [] };
    for (const stats of this.options.localStats()) {
      sum.headSeries += stats.headSeries;
      sum.headSamples += stats.headSamples;
      sum.blocks += stats.blocks;
      sum.blockBytes += stats.blockBytes;
      sum.blockSamples += stats.blockSamples;
      sum.walSegments += stats.walSegments;
    }
    return sum;
  }

  /** The partitions' TSDBs close with their owners (ClusterNode.close). */
  async close(): Promise<void> {
    this.closed = true;
    this.metadataWatch?.stop();
  }
}

/**
 * An appender that writes only while `active()` holds (the replica holding the `scrape` lease):
 * every replica runs the scrape loops, one writes their samples, so a target is stored once per
 * interval instead of once per replica.
 */
export function appenderWhile(store: ClusterMetricsStore, active: () => boolean): Pick<ClusterMetricsStore, 'append' | 'setMetadata'> {
  return {
    append: async (tenant, series) => (active() ? store.append(tenant, series) : { accepted: 0, rejected: [], exemplarsAccepted: 0 }),
    setMetadata: (tenant, family, metadata) => {
      if (active()) store.setMetadata(tenant, family, metadata);
    },
  };
}

function readerKey(partition: number, meta: BlockMeta): string {
  return `${partition}/${meta.tenant}/${meta.id}`;
}

/** The labels without empty values, or undefined when they are no valid series (the head's rule). */
function cleanLabels(labels: Labels): Labels | undefined {
  const clean: Labels = {};
  let count = 0;
  for (const name in labels) {
    if (!LABEL_NAME_PATTERN.test(name) && name !== '__name__') return undefined;
    if (labels[name] === '') continue;
    clean[name] = labels[name]!;
    count++;
  }
  if (count === 0) return undefined;
  if (clean.__name__ !== undefined && !METRIC_NAME.test(clean.__name__)) return undefined;
  return clean;
}
