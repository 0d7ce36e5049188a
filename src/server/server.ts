// `startServer(config)`: opens the store, builds the LogQL engine, starts the ruler and the HTTP app
// (src/server/app.ts). This is what the CLI, tests, the demo and the bench use; `close()` stops
// accepting, stops the ruler, finishes in-flight requests and flushes the store.

import { resolve } from 'node:path';
import { compileTailFilter, createEngine, formatQuery, parseSelector } from '../logql/index.ts';
import { promqlRuleEngine, startRuler, type RecordedSample, type Ruler } from '../ruler/index.ts';
import { PromQLEngine } from '../promql/engine/engine.ts';
import { storeOptionsFromConfig } from '../store/config.ts';
import { openStore } from '../store/store.ts';
import { openObjectStore } from '../objstore/open-object-store.ts';
import { tsdbOptionsFromConfig } from '../tsdb/config.ts';
import { openTsdb } from '../tsdb/tsdb.ts';
import { createPromqlApiEngine } from './promql-engine.ts';
import { startApp, type RunningServer, type ServerMetricsStore } from './app.ts';
import { parseServerConfig, type ServerConfig, type ServerConfigInput } from './config.ts';
import { MultiTenantStore } from './multi-tenant-store.ts';
import { rulerRoutes } from './ruler-routes.ts';
import { resolveTenant } from './tenant.ts';
import type { LogStore } from '../store/types.ts';

export type { RunningServer } from './app.ts';

export async function startServer(input: ServerConfigInput | ServerConfig = {}): Promise<RunningServer> {
  const config = parseServerConfig(input);
  // Cluster mode: the store is the cluster's (writes to the JetStream WAL, reads from partition owners).
  // The cluster code (and the NATS client) is loaded only in cluster mode: a single node does not pay its memory.
  const cluster = config.cluster.enabled
    ? await (await import('../cluster/cluster-node.ts')).ClusterNode.start({ config: config.cluster, storeOptions: storeOptionsFromConfig(config.store), ...(config.tsdb.enabled ? { tsdbConfig: config.tsdb } : {}), log: clusterLog })
    : undefined;
  const store: LogStore = cluster?.store ?? (await openStore(storeOptionsFromConfig(config.store)));
  let engine;
  try {
    // Multi-tenant reads (`a|b`) go through the wrapper; single tenants pass straight through it.
    engine = createEngine(new MultiTenantStore(store), {
      timeoutMs: config.limits.query_timeout,
      maxEntriesLimitPerQuery: config.limits.max_entries_limit_per_query,
      maxQuerySeries: config.limits.max_query_series,
      scanBudgetBytes: config.store.memory.scan_bytes,
      ...(config.query.worker_threads > 0 ? { workerThreads: config.query.worker_threads } : {}),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  let tsdb: ServerMetricsStore | undefined;
  // Cluster mode: metrics go through the cluster WAL to partition owners (src/cluster/cluster-metrics.ts).
  if (cluster?.metrics !== undefined) tsdb = cluster.metrics;
  else if (config.tsdb.enabled) {
    const storeOptions = storeOptionsFromConfig(config.store);
    const objectStore = openObjectStore(storeOptions.objectStore!);
    try {
      tsdb = await openTsdb({
        ...tsdbOptionsFromConfig(config.tsdb, storeOptions.dataDir, objectStore),
        ownsObjectStore: true,
        onError: (error) => console.error(`rankscope tsdb: ${error.message}`),
      });
    } catch (error) {
      await objectStore.close();
      await store.close();
      throw error;
    }
  }
  // Cluster mode: one Pushgateway for the cluster, run under a lease, its groups in a KV bucket.
  const clusterPushgateway = cluster?.metrics !== undefined && config.pushgateway.enabled ? await cluster.openPushgateway({ sampleIntervalMs: config.pushgateway.sample_interval, defaultTtlMs: config.pushgateway.default_ttl }) : undefined;
  // Cluster mode: every replica scrapes, the holder of the scrape lease writes the samples.
  let scrapeAppender;
  if (cluster?.metrics !== undefined) {
    cluster.runUnderLease('scrape', async () => async () => undefined);
    const { appenderWhile } = await import('../cluster/cluster-metrics.ts');
    scrapeAppender = appenderWhile(cluster.metrics, () => cluster.runsSingleton('scrape'));
  }
  let ruler: Ruler | undefined;
  // Every replica tracks runs from all pushes (its own and the tail fan-out); one writes hang events.
  if (cluster !== undefined && config.training.enabled) cluster.runUnderLease('training-events', async () => async () => undefined);
  return startApp(config, {
    store,
    ...(tsdb === undefined ? {} : { tsdb, promqlEngine: createPromqlApiEngine(tsdb, { timeoutMs: config.limits.query_timeout }) }),
    engine,
    parseSelector,
    formatQuery: (text: string) => formatQuery(text),
    compileTailFilter,
    extraMetrics: () => ruler?.metricsText() ?? '',
    ...(cluster === undefined ? {} : { attachTail: (publish) => cluster.attachTail(publish), writesTrainingEvents: () => cluster.runsSingleton('training-events'), flush: () => cluster.flushCluster() }),
    ...(clusterPushgateway === undefined ? {} : { pushgateway: clusterPushgateway }),
    ...(scrapeAppender === undefined ? {} : { scrapeAppender }),
    plugins: [
      async (app) => {
        const rulerOptions = () => ({
          engine,
          ...(tsdb === undefined
            ? {}
            : {
                promqlEngine: promqlRuleEngine(new PromQLEngine(tsdb, { timeoutMs: config.limits.query_timeout })),
                appendSamples: (tenant: string, timestampMs: number, samples: RecordedSample[]) => appendRecorded(tsdb, tenant, timestampMs, samples),
              }),
          config: config.ruler,
          dataDir: resolve(config.store.data_dir),
          logger: app.log,
        });
        if (config.ruler.enabled && cluster !== undefined) {
          // Once per cluster: the holder of the ruler lease evaluates; the others serve no rules.
          cluster.runUnderLease('ruler', async () => {
            const running = startRuler(rulerOptions());
            ruler = running;
            return async () => {
              ruler = undefined;
              await running.stop();
            };
          });
        } else if (config.ruler.enabled) ruler = startRuler(rulerOptions());
        await app.register(rulerRoutes, {
          get ruler() {
            return ruler;
          },
          tenantOf: (request) => resolveTenant(request, config.auth_enabled),
        });
        return async () => {
          await ruler?.stop();
        };
      },
    ],
  });
}

/** Recording-rule output and ALERTS series into the TSDB; a refused sample fails the rule with the reason. */
async function appendRecorded(tsdb: Pick<ServerMetricsStore, 'append'>, tenant: string, timestampMs: number, samples: RecordedSample[]): Promise<void> {
  const { rejected } = await tsdb.append(
    tenant,
    samples.map((sample) => ({ labels: sample.labels, samples: [{ timestampMs, value: sample.value, ...(sample.stale === true ? { stale: true } : {}) }] })),
  );
  if (rejected.length > 0) {
    const first = rejected[0]!;
    throw new Error(`${rejected.length} of ${samples.length} samples refused by the metrics store (first: ${first.reason} for ${JSON.stringify(first.labels)} at ${first.timestampMs})`);
  }
}

const clusterLog = {
  info: (message: string) => console.error(`rankscope ${message}`),
  warn: (message: string) => console.error(`rankscope ${message}`),
  error: (message: string) => console.error(`rankscope ${message}`),
};
