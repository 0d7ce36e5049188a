// Wires an HTTP server around a store and a LogQL engine it is given: ingest (distributor, tail hub)
// and the Fastify routes (push, query, tail, metrics, ready, UI). server.ts opens the real store and
// engine and calls this; keeping the wiring free of how they are built keeps it testable on its own.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import type { Server as TlsServer } from 'node:tls';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import { Distributor, type IngestObserver } from '../ingest/distributor.ts';
import { TailHub } from '../ingest/tail-hub.ts';
import type { TailFilter } from '../ingest/tail-hub.ts';
import type { LabelMatcher, LogStore } from '../store/types.ts';
import type { PushStream } from '../push/types.ts';
import { parseListenAddress, type ServerConfig } from './config.ts';
import { MetricsRegistry } from './metrics.ts';
import { MultiTenantStore } from './multi-tenant-store.ts';
import { flushRoutes } from './flush-routes.ts';
import { Tsdb } from '../tsdb/tsdb.ts';
import type { AppendSeries } from '../tsdb/types.ts';
import { prometheusRoutes, type PrometheusReadStore, type PromqlEngine } from './prometheus-routes.ts';
import { pushRoutes } from './push-routes.ts';
import { remoteWriteRoutes } from './remote-write-routes.ts';
import { Pushgateway } from '../pushgateway/pushgateway.ts';
import { pushgatewayRoutes, type PushgatewayApi } from './pushgateway-routes.ts';
import { ScrapeManager } from '../scrape/scrape-manager.ts';
import { promqlRulesDirOf } from '../ruler/index.ts';
import { KubernetesMonitors } from './kubernetes-monitors.ts';
import { scrapeRoutes } from './scrape-routes.ts';
import { NO_AUTH_TENANT } from './tenant.ts';
import { queryRoutes, type QueryEngine } from './query-routes.ts';
import { QueryScheduler } from './query-scheduler.ts';
import { tailRoutes } from './tail-routes.ts';
import { RunTracker } from '../training/run-tracker.ts';
import { trainingRoutes } from './training-routes.ts';
import { DashboardStore } from '../dashboards/dashboard-store.ts';
import { dashboardRoutes } from './dashboard-routes.ts';
import { registerTokenAuth } from './auth.ts';
import { readTlsOptions, reloadTlsOnChange } from './tls.ts';
import { PACKAGED_UI_DIR, uiRoutes } from './ui-routes.ts';

export interface RunningServer {
  /** e.g. `http://127.0.0.1:3100` (the bound port when 0 was asked for). */
  url: string;
  host: string;
  port: number;
  config: ServerConfig;
  store: LogStore;
  /** The metrics store, when `tsdb.enabled`. */
  tsdb?: Tsdb;
  /** Stops accepting, waits for in-flight requests, flushes and closes the store. Idempotent. */
  close(): Promise<void>;
}

/** Seconds buckets for query durations: 1 ms … 60 s. */
const QUERY_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The metrics store as the server uses it: the TSDB, or in cluster mode the cluster's (src/cluster/cluster-metrics.ts). */
export type ServerMetricsStore = Pick<Tsdb, 'append' | 'flush' | 'close' | 'select' | 'series' | 'labelNames' | 'labelValues' | 'setMetadata' | 'getMetadata' | 'stats'> &
  Partial<Pick<Tsdb, 'appendColumns'>> &
  Pick<PrometheusReadStore, 'exemplars'>;

/** What the HTTP layer needs from the domain modules. */
export interface AppDependencies {
  store: LogStore;
  engine: QueryEngine;
  parseSelector(text: string): LabelMatcher[];
  formatQuery(text: string): string;
  compileTailFilter(query: string): TailFilter;
  /** More Prometheus text appended to /metrics (the ruler's). */
  extraMetrics?: () => string;
  /** The metrics store (remote_write, Prometheus API); closed (flushed) after the HTTP server. */
  tsdb?: ServerMetricsStore;
  /** Cluster mode: the cluster's Pushgateway (used when pushgateway.enabled) instead of one on this server's disk. */
  pushgateway?: PushgatewayApi;
  /** Cluster mode: where scraped samples go (written by one replica of the cluster). */
  scrapeAppender?: Pick<ServerMetricsStore, 'append' | 'setMetadata'>;
  /** Cluster mode: POST /flush commits every partition of the cluster (logs and metrics in one step). */
  flush?: () => Promise<void>;
  /** The PromQL engine behind /api/v1/query…; without it those routes answer 503. */
  promqlEngine?: PromqlEngine;
  /** Registers extra routes (the ruler's) and returns a hook to stop them on close. */
  plugins?: Array<(app: FastifyInstance) => Promise<(() => Promise<void>) | void>>;
  /** Cluster mode: feeds pushes made durable on other replicas into the local tail hub and run tracker; returns the detach. */
  attachTail?: (publish: (tenant: string, streams: PushStream[]) => void) => () => void;
  /** Cluster mode: whether this replica writes the run tracker's hang events and rank-state samples (one replica per cluster does). */
  writesTrainingEvents?: () => boolean;
}

/** Listens and serves; on failure or close it closes the store it was given. */
export async function startApp(config: ServerConfig, deps: AppDependencies): Promise<RunningServer> {
  const listen = parseListenAddress(config.server.listen)!;
  const { store, engine } = deps;
  let app: FastifyInstance | undefined;
  const hub = new TailHub();
  const stopHooks: Array<() => Promise<void>> = [];
  try {
    const limits = config.limits;

    const metrics = new MetricsRegistry();
    const linesIngested = metrics.counter('rankscope_ingested_lines_total', 'Log lines accepted and durable, per tenant.');
    const bytesIngested = metrics.counter('rankscope_ingested_bytes_total', 'UTF-8 bytes of accepted log lines and their structured metadata, per tenant.');
    const linesDiscarded = metrics.counter('rankscope_discarded_lines_total', 'Log lines rejected at ingest, per tenant and reason.');
    const bytesDiscarded = metrics.counter('rankscope_discarded_bytes_total', 'Bytes of log lines rejected at ingest, per tenant and reason.');
    const linesTruncated = metrics.counter('rankscope_truncated_lines_total', 'Log lines cut to limits.max_line_size, per tenant.');
    const pushRequests = metrics.counter('rankscope_push_requests_total', 'Push requests by HTTP status.');
    const queryDuration = metrics.histogram('rankscope_query_duration_seconds', 'Read API request durations by endpoint and status.', QUERY_SECONDS_BUCKETS);
    metrics.externalHistogram('rankscope_wal_fsync_duration_seconds', 'WAL group-commit fsync latency.', () => store.metrics().walFsyncSeconds);
    metrics.gauge('rankscope_store_parts', 'Immutable parts in the store.', () => store.metrics().parts);
    metrics.gauge('rankscope_head_streams', 'Streams with entries in the in-memory head.', () => store.metrics().headStreams);
    metrics.gauge('rankscope_head_bytes', 'Raw bytes held in the in-memory head.', () => store.metrics().headBytes);
    metrics.externalCounter('rankscope_duplicate_entries_discarded_total', 'Entries dropped as exact duplicates (same stream, timestamp and line) of stored ones, per tenant.', () => store.metrics().duplicateEntriesDiscarded.map(([tenant, entries]) => [{ tenant }, entries]));
    metrics.gauge('rankscope_store_disk_bytes', 'Bytes of parts in the object store.', () => store.metrics().diskBytes);
    if (engine.scanBudget?.() !== undefined) {
      metrics.gauge('rankscope_scan_budget_bytes', 'Raw bytes of blocks that queries may hold decoded at once (store.memory.scan_bytes).', () => engine.scanBudget?.()?.capacityBytes ?? 0);
      metrics.gauge('rankscope_scan_budget_in_use_bytes', 'Raw bytes of blocks that queries hold decoded now.', () => engine.scanBudget?.()?.inUseBytes ?? 0);
      metrics.gauge('rankscope_scan_budget_peak_bytes', 'The most raw bytes of blocks queries held decoded at once since start.', () => engine.scanBudget?.()?.peakBytes ?? 0);
      metrics.externalCounter('rankscope_scan_budget_waits_total', 'Block loads that waited for other queries to give scan budget back.', () => [[{}, engine.scanBudget?.()?.waits ?? 0]]);
    }
    metrics.gauge('rankscope_tail_subscribers', 'Open live-tail connections.', () => hub.subscriberCount);
    metrics.gauge('rankscope_tail_dropped_entries', 'Entries dropped for tail subscribers that fell behind.', () => hub.droppedEntries);
    const { tsdb } = deps;
    if (tsdb !== undefined) {
      metrics.gauge('rankscope_tsdb_head_series', 'Series in the TSDB head.', () => tsdb.stats().headSeries);
      metrics.gauge('rankscope_tsdb_head_samples', 'Samples in the TSDB head.', () => tsdb.stats().headSamples);
      metrics.gauge('rankscope_tsdb_blocks', 'TSDB blocks.', () => tsdb.stats().blocks);
      metrics.gauge('rankscope_tsdb_block_bytes', 'Bytes of TSDB blocks in the object store.', () => tsdb.stats().blockBytes);
    }
    // Where the process's memory is, for the RSS budgets (docs/config.md, store.memory): names as Node's Prometheus clients use.
    metrics.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
    metrics.gauge('nodejs_heap_size_used_bytes', 'V8 heap in use by JS objects, in bytes (main thread).', () => process.memoryUsage().heapUsed);
    metrics.gauge('nodejs_heap_size_total_bytes', 'V8 heap reserved, in bytes (main thread).', () => process.memoryUsage().heapTotal);
    metrics.gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JS objects (Buffers among them), in bytes.', () => process.memoryUsage().external);
    metrics.gauge('rankscope_build_info', 'Always 1; labelled with the version.', () => [[{ version: VERSION }, 1]]);

    const scheduler = new QueryScheduler({
      maxConcurrent: config.query.max_concurrent === 0 ? Math.max(1, availableParallelism() - 1) : config.query.max_concurrent,
      maxConcurrentPerTenant: limits.max_concurrent_queries,
      maxQueuedPerTenant: limits.max_outstanding_requests_per_tenant,
    });
    metrics.gauge('rankscope_queries_running', 'Log and metric queries evaluating now.', () => scheduler.counts().running);
    metrics.gauge('rankscope_queries_queued', 'Log and metric queries waiting for a slot (query.max_concurrent, limits.max_concurrent_queries).', () => scheduler.counts().queued);
    const observer: IngestObserver = {
      accepted: (tenant, lines, bytes) => {
        linesIngested.inc({ tenant }, lines);
        bytesIngested.inc({ tenant }, bytes);
      },
      discarded: (tenant, reason, lines, bytes) => {
        linesDiscarded.inc({ tenant, reason }, lines);
        bytesDiscarded.inc({ tenant, reason }, bytes);
      },
      truncated: (tenant, lines) => linesTruncated.inc({ tenant }, lines),
    };
    // Training runs are tracked as pushes become durable, rebuilt from the store on start, and write
    // hang events back into the store for the ruler (src/training/run-tracker.ts).
    const tracker = config.training.enabled
      ? new RunTracker({
          config: config.training,
          emit: async (tenant, streams) => {
            if (deps.writesTrainingEvents?.() ?? true) await store.append(tenant, streams);
          },
          // The ranks' silent/logging state as a metric, for PromQL rules over GPU series (rules/training-gpu.yaml).
          // Cluster mode: written by the replica that writes the hang events (every replica tracks every run).
          ...(tsdb !== undefined
            ? {
                emitSamples: async (tenant: string, series: AppendSeries[]) => {
                  if (deps.writesTrainingEvents?.() ?? true) await tsdb.append(tenant, series);
                },
              }
            : {}),
          tenantsFile: join(resolve(config.store.data_dir), 'training', 'tenants.json'),
        })
      : undefined;
    if (deps.attachTail !== undefined) {
      const detach = deps.attachTail((tenant, streams) => {
        hub.publish(tenant, streams);
        tracker?.ingest(tenant, streams, Date.now());
      });
      stopHooks.push(async () => detach());
    }
    if (tracker !== undefined) {
      await tracker.rebuild(store);
      tracker.start();
      stopHooks.push(async () => tracker.stop());
    }
    const distributor = new Distributor({
      store,
      tailHub: hub,
      observer,
      ...(tracker !== undefined ? { onDurable: (tenant: string, streams: PushStream[], nowMs: number) => tracker.ingest(tenant, streams, nowMs) } : {}),
      limits: {
        ingestionRateBytesPerSecond: limits.ingestion_rate_mb * 1024 * 1024,
        ingestionBurstBytes: limits.ingestion_burst_size_mb * 1024 * 1024,
        maxStreamsPerTenant: limits.max_global_streams_per_user,
        maxLabelNamesPerSeries: limits.max_label_names_per_series,
        maxLabelNameLength: limits.max_label_name_length,
        maxLabelValueLength: limits.max_label_value_length,
        maxLineSizeBytes: limits.max_line_size,
        maxLineSizeTruncate: limits.max_line_size_truncate,
        rejectOldSamples: limits.reject_old_samples,
        rejectOldSamplesMaxAgeMs: limits.reject_old_samples_max_age,
        creationGracePeriodMs: limits.creation_grace_period,
        allowStructuredMetadata: limits.allow_structured_metadata,
        maxStructuredMetadataEntries: limits.max_structured_metadata_entries_count,
        maxStructuredMetadataSizeBytes: limits.max_structured_metadata_size,
        discoverLogLevels: limits.discover_log_levels && limits.allow_structured_metadata,
        discoverServiceName: limits.discover_service_name,
      },
    });

    const tls = config.server.tls.cert_file === '' ? undefined : readTlsOptions(config.server.tls);
    app = Fastify({
      ...(tls !== undefined ? { https: tls } : {}),
      logger: { level: config.server.log_level, stream: process.stderr },
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: config.server.max_request_body_size,
      forceCloseConnections: 'idle',
      return503OnClosing: true,
    });
    applyConnectionTimeouts(app.server, config.server);
    let shuttingDown = false;
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const statusCode = error.statusCode ?? 500;
      if (statusCode >= 500) {
        request.log.error({ err: error, url: request.url }, 'internal error');
        return reply.code(500).type('text/plain; charset=utf-8').send('internal server error');
      }
      const message = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `request body too large: more than ${config.server.max_request_body_size} bytes` : error.message;
      return reply.code(statusCode).type('text/plain; charset=utf-8').send(message);
    });

    await app.register(fastifyWebsocket, { options: { maxPayload: 1024 * 1024 } });
    // After the WebSocket plugin: its onRequest hook marks upgrades, so a refused upgrade's socket is closed.
    if (config.auth.tokens_file !== '') {
      if (tls === undefined && !['127.0.0.1', '::1', 'localhost'].includes(listen.host)) {
        app.log.warn(`auth.tokens_file is set but server.tls is not: tokens and logs cross the network to ${config.server.listen} in clear text (docs/auth.md)`);
      }
      stopHooks.push(
        registerTokenAuth(app, {
          tokensFile: config.auth.tokens_file,
          openPaths: config.auth.open_paths,
          reloadIntervalMs: config.auth.reload_interval,
          multiTenantQueries: config.query.multi_tenant_queries_enabled,
          log: app.log,
        }),
      );
    }
    await app.register(pushRoutes, {
      distributor,
      authEnabled: config.auth_enabled,
      maxRequestBodyBytes: config.server.max_request_body_size,
      maxDecompressedBodyBytes: config.server.max_decompressed_body_size,
      decodeLimits: { maxStreams: config.server.max_push_streams, maxEntries: config.server.max_push_entries, maxPairs: config.server.max_push_entries },
      maxInflightBytes: config.server.max_inflight_push_bytes,
      pushRequests,
    });
    await app.register(queryRoutes, {
      store: new MultiTenantStore(store),
      engine,
      parseSelector: deps.parseSelector,
      formatQuery: deps.formatQuery,
      authEnabled: config.auth_enabled,
      queryTimeoutMs: limits.query_timeout,
      maxQueryLengthMs: limits.max_query_length,
      queryDuration,
      version: VERSION,
      limits,
      multiTenantQueries: config.query.multi_tenant_queries_enabled,
      scheduler,
    });
    await app.register(tailRoutes, {
      hub,
      engine,
      compileTailFilter: deps.compileTailFilter,
      authEnabled: config.auth_enabled,
      maxConcurrentTailRequests: limits.max_concurrent_tail_requests,
      tailMaxDurationMs: limits.tail_max_duration,
      scheduler,
    });
    await app.register(flushRoutes, { stores: deps.flush !== undefined ? [{ flush: deps.flush }] : deps.tsdb === undefined ? [store] : [store, deps.tsdb] });
    app.get('/ready', async (_request, reply) => {
      if (shuttingDown) return reply.code(503).type('text/plain; charset=utf-8').send('shutting down');
      // Not ready while writes fail (a full disk): a load balancer should send pushes elsewhere.
      const health = await store.writeHealth?.();
      if (health !== undefined && !health.ok) return reply.code(503).type('text/plain; charset=utf-8').send(`not ready: ${health.reason}`);
      return reply.type('text/plain; charset=utf-8').send('ready');
    });
    if (tsdb !== undefined) {
      await app.register(remoteWriteRoutes, {
        tsdb,
        authEnabled: config.auth_enabled,
        maxRequestBodyBytes: config.server.max_request_body_size,
        maxDecompressedBodyBytes: config.server.max_decompressed_body_size,
      });
      if (config.pushgateway.enabled) {
        const pushgateway = deps.pushgateway ?? await Pushgateway.open({
          dataDir: resolve(config.store.data_dir),
          metrics: tsdb,
          sampleIntervalMs: config.pushgateway.sample_interval,
          defaultTtlMs: config.pushgateway.default_ttl,
          onError: (error) => app?.log.error({ err: error }, 'pushgateway sampler'),
        });
        stopHooks.push(() => pushgateway.stop());
        await app.register(pushgatewayRoutes, { gateway: pushgateway, authEnabled: config.auth_enabled, maxRequestBodyBytes: config.server.max_request_body_size, version: VERSION, defaultTtlMs: config.pushgateway.default_ttl });
      }
      // Scraped series go to the tenant every request has with auth off (docs/config.md, scrape_configs).
      const monitorsConfig = config.kubernetes_monitors;
      const scrapeManager =
        config.scrape_configs.length > 0 || monitorsConfig.enabled ? new ScrapeManager({ configs: config.scrape_configs, appender: deps.scrapeAppender ?? tsdb, tenant: NO_AUTH_TENANT, log: (message) => app?.log.warn(message) }) : undefined;
      if (scrapeManager !== undefined) {
        scrapeManager.start();
        if (monitorsConfig.enabled) {
          const rulesDir = config.ruler.enabled ? promqlRulesDirOf(config.ruler, resolve(config.store.data_dir)) : undefined;
          const monitors = new KubernetesMonitors(monitorsConfig, scrapeManager, rulesDir, (message) => app?.log.warn(message));
          monitors.start();
          // Stopped before the manager, so no job is added to a stopped manager.
          stopHooks.push(() => monitors.stop());
        }
        stopHooks.push(() => scrapeManager.stop());
      }
      await app.register(scrapeRoutes, { manager: scrapeManager });
      await app.register(prometheusRoutes, {
        tsdb,
        engine: deps.promqlEngine,
        authEnabled: config.auth_enabled,
        queryTimeoutMs: limits.query_timeout,
        version: VERSION,
        scheduler,
        // Recording rules write into the TSDB, so every prefix serves queries from it; the ruler
        // serves only rules and alerts under these prefixes (ruler-routes.ts).
        prefixes: ['/api/v1', '/prometheus/api/v1', '/api/prom/api/v1'],
      });
    }
    app.get('/metrics', async (_request, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render() + (deps.extraMetrics?.() ?? '')));
    if (tracker !== undefined) await app.register(trainingRoutes, { tracker, authEnabled: config.auth_enabled, queryTimeoutMs: limits.query_timeout, ...(deps.promqlEngine !== undefined ? { metrics: deps.promqlEngine } : {}) });
    const dashboards = new DashboardStore({ dataDir: resolve(config.store.data_dir), onUnreadable: (path, error) => app?.log.warn(`dashboard file ${path} left out: ${error.message}`) });
    await app.register(dashboardRoutes, { store: dashboards, authEnabled: config.auth_enabled });
    for (const plugin of deps.plugins ?? []) {
      const stop = await plugin(app);
      if (stop) stopHooks.push(stop);
    }
    if (config.ui.enabled) await app.register(uiRoutes, { distDir: config.ui.dist_dir === '' ? PACKAGED_UI_DIR : config.ui.dist_dir });

    await app.listen({ host: listen.host, port: listen.port });
    if (tls !== undefined) {
      const watch = reloadTlsOnChange(app.server as unknown as TlsServer, config.server.tls, config.server.tls.reload_interval, app.log);
      stopHooks.push(async () => watch.close());
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : listen.port;
    const urlHost = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;

    let closing: Promise<void> | undefined;
    const running = app;
    return {
      url: `${tls !== undefined ? 'https' : 'http'}://${urlHost}:${port}`,
      host: listen.host,
      port,
      config,
      store,
      ...(deps.tsdb instanceof Tsdb ? { tsdb: deps.tsdb } : {}),
      close: () => {
        closing ??= (async () => {
          shuttingDown = true;
          try {
            for (const stop of stopHooks) await stop();
            await running.close();
          } finally {
            hub.close();
            try {
              await deps.tsdb?.close();
            } finally {
              await store.close();
            }
          }
        })();
        return closing;
      },
    };
  } catch (error) {
    hub.close();
    for (const stop of stopHooks) await stop().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await deps.tsdb?.close().catch(() => undefined);
    await store.close();
    throw error;
  }
}

/**
 * Read, header and idle timeouts on the Node server (whatever Fastify built: HTTP or HTTPS). Node
 * checks the first two every connectionsCheckingInterval (30 s by default), far too coarse for a
 * header timeout of seconds; the interval is read when the server starts listening.
 */
function applyConnectionTimeouts(server: FastifyInstance['server'], settings: ServerConfig['server']): void {
  const readMs = settings.http_server_read_timeout;
  const headerMs = settings.http_server_read_header_timeout > 0 && (readMs === 0 || settings.http_server_read_header_timeout < readMs) ? settings.http_server_read_header_timeout : readMs;
  server.requestTimeout = readMs;
  server.headersTimeout = headerMs;
  server.keepAliveTimeout = settings.http_server_idle_timeout;
  const smallestMs = Math.min(...[readMs, headerMs].filter((ms) => ms > 0), 30_000);
  (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = Math.max(100, Math.min(1000, Math.floor(smallestMs / 4)));
}
