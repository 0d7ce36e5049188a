// The one server config: a zod schema over snake_case YAML keys, every key with a default, composing
// the store's and the ruler's sections. Loading a file reports a bad key or value with the file path,
// the line and column in the YAML, and the reason; docs/config.md and examples/rankscope.yaml are
// checked against this schema by test/server/config.test.ts.

import { readFileSync } from 'node:fs';
import { describeIssues, formatConfigPath, issueKeyPath, issueMessage, parseYamlConfig, type YamlConfigText } from '../config/yaml-config.ts';
import { z } from 'zod';
import { rulerConfigSchema } from '../ruler/config.ts';
import { storeConfigSchema } from '../store/config.ts';
import { trainingConfigSchema } from '../training/config.ts';
import { tsdbConfigSchema } from '../tsdb/config.ts';
import { pushgatewayConfigSchema } from '../pushgateway/config.ts';
import { scrapeConfigsSchema } from '../scrape/config.ts';
import { kubernetesMonitorsConfigSchema } from './kubernetes-monitors.ts';
import { byteSizeSchema, durationMsSchema } from '../config/config-values.ts';
import { clusterConfigSchema } from '../cluster/config.ts';

const durationMs = durationMsSchema;
const sizeBytes = byteSizeSchema;

const listenAddress = z.string().refine((text) => parseListenAddress(text) !== undefined, {
  message: 'expected HOST:PORT, e.g. 127.0.0.1:3100 or 0.0.0.0:3100 (port 0 picks a free port)',
});

export const tlsSectionSchema = z
  .object({
    /** PEM certificate (chain) to serve HTTPS with; empty (default) serves plain HTTP. */
    cert_file: z.string().default(''),
    /** PEM private key of cert_file. */
    key_file: z.string().default(''),
    /** PEM CA bundle; when set, every client must present a certificate it signed (mutual TLS). */
    client_ca_file: z.string().default(''),
    /** How often the files are checked for changes; a change is served to new connections. */
    reload_interval: durationMs.prefault('5s'),
  })
  .strict()
  .refine((tls) => (tls.cert_file === '') === (tls.key_file === ''), { message: 'set both cert_file and key_file, or neither', path: ['key_file'] })
  .refine((tls) => tls.client_ca_file === '' || tls.cert_file !== '', { message: 'client_ca_file needs cert_file and key_file (mutual TLS runs over HTTPS)', path: ['client_ca_file'] });

export const authSectionSchema = z
  .object({
    /** Tokens file (docs/auth.md); when set, every request but open_paths needs a token from it. Needs auth_enabled. */
    tokens_file: z.string().default(''),
    /** Paths answered without a token (exact paths, no query string). */
    open_paths: z.array(z.string().startsWith('/', 'expected a path starting with /')).default(['/ready', '/metrics']),
    /** How often the tokens file is checked for changes. */
    reload_interval: durationMs.prefault('5s'),
  })
  .strict();

export const serverSectionSchema = z
  .object({
    /** Address the HTTP API and UI listen on. */
    listen: listenAddress.default('127.0.0.1:3100'),
    /**
     * Loki's http_server_read_timeout: the whole request (headers and body) must arrive within this, or
     * the connection gets 408 and is closed, so slow clients cannot hold sockets. 0 = no limit.
     */
    http_server_read_timeout: durationMs.prefault('30s'),
    /** The request headers must arrive within this (slowloris); at most the read timeout. 0 = the read timeout. */
    http_server_read_header_timeout: durationMs.prefault('10s'),
    /** Loki's http_server_idle_timeout: a keep-alive connection with no request for this long is closed. */
    http_server_idle_timeout: durationMs.prefault('120s'),
    /** Largest request body accepted before decompression (413 beyond). */
    max_request_body_size: sizeBytes.prefault('16MB'),
    /**
     * Largest push body after gzip/deflate/snappy decompression (413 beyond). Decoded entries take
     * several times their wire size in memory, so this bounds one request's heap use.
     */
    max_decompressed_body_size: sizeBytes.prefault('64MB'),
    /**
     * Most entries (and, separately, structured-metadata and JSON label pairs) one push may hold,
     * counted while decoding (413 beyond): an empty protobuf entry is 2 bytes on the wire but ~100 in
     * memory. A 1 MB agent batch of 120-byte lines is ~9k entries.
     */
    max_push_entries: z.number().int().min(1).default(500_000),
    /** Most streams one push may hold, counted while decoding (413 beyond). */
    max_push_streams: z.number().int().min(1).default(50_000),
    /**
     * Decompressed push bytes being ingested at once over all requests; a push that would pass it gets
     * 429 (clients retry). One push always fits when it is alone, so this bounds concurrency, not size.
     */
    max_inflight_push_bytes: sizeBytes.prefault('256MB'),
    /** Server log level on stderr: fatal, error, warn, info, debug. */
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug']).default('warn'),
    /** On SIGTERM, how long to wait for in-flight requests and the store flush before giving up. */
    shutdown_timeout: durationMs.prefault('30s'),
    /** HTTPS (docs/auth.md). */
    tls: tlsSectionSchema.prefault({}),
  })
  .strict();

export const limitsSectionSchema = z
  .object({
    /**
     * Per-tenant ingestion rate in MB/s. Loki defaults to 4; a training job's burst of tracebacks from
     * every rank is far above that, and a single-node rankscope has one owner, so the default is higher.
     */
    ingestion_rate_mb: z.number().min(0).default(64),
    /** Per-tenant burst in MB on top of the rate. */
    ingestion_burst_size_mb: z.number().min(0).default(128),
    // The WAL stores label and metadata counts as u16.
    max_label_names_per_series: z.number().int().min(1).max(65_535).default(15),
    max_label_name_length: z.number().int().min(1).default(1024),
    max_label_value_length: z.number().int().min(1).default(2048),
    /** Longest accepted log line; 0 = no limit. */
    max_line_size: sizeBytes.prefault('256KB'),
    /**
     * Active streams per tenant (a stream stays active until idle for 30m); new streams beyond it are
     * refused with Loki's 429. Loki's default; 0 = unlimited. Each active stream costs head memory.
     */
    max_global_streams_per_user: z.number().int().min(0).default(5000),
    /** Cut longer lines to max_line_size (and count them) instead of rejecting them with 400. */
    max_line_size_truncate: z.boolean().default(false),
    reject_old_samples: z.boolean().default(true),
    reject_old_samples_max_age: durationMs.prefault('1w'),
    /** How far in the future a timestamp may be. */
    creation_grace_period: durationMs.prefault('10m'),
    allow_structured_metadata: z.boolean().default(true),
    /**
     * Loki 3's discover_log_levels: add a `detected_level` structured-metadata pair to every entry
     * (Grafana's level colours, Logs Drilldown). Off by default: it splits log query results by level.
     */
    discover_log_levels: z.boolean().default(false),
    /**
     * Loki 3's discover_service_name: a stream without `service_name` gets it from the first of these
     * labels it has, else `unknown_service` (Logs Drilldown's service list). Empty (default) = off.
     */
    discover_service_name: z.array(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a label name')).default([]),
    max_structured_metadata_entries_count: z.number().int().min(0).max(65_535).default(128),
    max_structured_metadata_size: sizeBytes.prefault('64KB'),
    /**
     * Log and metric queries of one tenant evaluating at once; more wait in the tenant's queue
     * (query.max_concurrent bounds all tenants together).
     */
    max_concurrent_queries: z.number().int().min(1).default(2),
    /** As Loki's query scheduler: queries of one tenant waiting for a slot; beyond, 429 `too many outstanding requests`. */
    max_outstanding_requests_per_tenant: z.number().int().min(1).default(100),
    /** A query running longer is cancelled with 504. */
    query_timeout: durationMs.prefault('1m'),
    max_entries_limit_per_query: z.number().int().min(1).default(5000),
    max_query_series: z.number().int().min(1).default(500),
    /** Longest time range one query may cover; 0 = unlimited. */
    max_query_length: durationMs.prefault('721h'),
    max_concurrent_tail_requests: z.number().int().min(1).default(10),
    tail_max_duration: durationMs.prefault('1h'),
  })
  .strict();

export const uiSectionSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Built UI assets; empty = the package's web/dist. */
    dist_dir: z.string().default(''),
  })
  .strict();

export const queryEngineSectionSchema = z
  .object({
    /** Threads for large scans; 0 = one per core. */
    worker_threads: z.number().int().min(0).default(0),
    /**
     * As Loki's querier max_concurrent: log and metric queries evaluating at once over all tenants;
     * the rest queue (round-robin by tenant), so queries cannot take every core from ingest and
     * health checks. 0 = cores − 1 (at least 1).
     */
    max_concurrent: z.number().int().min(0).default(0),
    /** Reads may name several tenants, `X-Scope-OrgID: a|b`; results carry `__tenant_id__`. */
    multi_tenant_queries_enabled: z.boolean().default(false),
  })
  .strict();

// `.prefault({})` runs a missing section through its own defaults, so every nested key gets one.
export const serverConfigSchema = z
  .object({
    /** Require X-Scope-OrgID on every tenant-scoped request (401 `no org id` without it). Off: tenant `fake`. */
    auth_enabled: z.boolean().default(false),
    /** Token authentication (docs/auth.md). */
    auth: authSectionSchema.prefault({}),
    server: serverSectionSchema.prefault({}),
    limits: limitsSectionSchema.prefault({}),
    query: queryEngineSectionSchema.prefault({}),
    ui: uiSectionSchema.prefault({}),
    store: storeConfigSchema.prefault({}),
    ruler: rulerConfigSchema.prefault({}),
    training: trainingConfigSchema.prefault({}),
    tsdb: tsdbConfigSchema.prefault({}),
    pushgateway: pushgatewayConfigSchema.prefault({}),
    /** Prometheus' scrape_configs (docs/config.md); scraped series go to the TSDB. */
    scrape_configs: scrapeConfigsSchema.default([]),
    /** ServiceMonitor, PodMonitor and PrometheusRule objects from the Kubernetes API (docs/deploy.md). */
    kubernetes_monitors: kubernetesMonitorsConfigSchema.prefault({}),
    /** Cluster mode (docs/cluster.md): replicas over NATS JetStream and a shared object store. Off by default. */
    cluster: clusterConfigSchema.prefault({}),
  })
  .strict()
  .refine((config) => config.auth.tokens_file === '' || config.auth_enabled, {
    message: 'a tokens file binds tokens to tenants, so it needs auth_enabled: true',
    path: ['auth', 'tokens_file'],
  });

export type ServerConfig = z.output<typeof serverConfigSchema>;
export type ServerConfigInput = z.input<typeof serverConfigSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function parseListenAddress(text: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  const host = match[1]!.replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

// Parsed configs hold durations as ms numbers, which the schema would read as seconds if parsed
// again; remembering them lets startServer take either a parsed config or raw input.
const parsedConfigs = new WeakSet<object>();

function remember(config: ServerConfig): ServerConfig {
  parsedConfigs.add(config);
  return config;
}

/** Validates an in-code config (tests, demo, bench). Throws ConfigError listing every problem. */
export function parseServerConfig(input: unknown): ServerConfig {
  if (typeof input === 'object' && input !== null && parsedConfigs.has(input)) return input as ServerConfig;
  const result = serverConfigSchema.safeParse(input ?? {});
  if (result.success) return remember(result.data);
  throw new ConfigError(result.error.issues.map((issue) => `${formatConfigPath(issueKeyPath(issue))}: ${issueMessage(issue)}`).join('\n'));
}

/** A value set on the command line, applied over the file at `path` (snake_case keys). */
export interface ConfigOverride {
  path: string[];
  value: unknown;
  /** How the user spelled it, for error messages, e.g. `--listen`. */
  source: string;
}

/**
 * Reads a YAML config file (or none), applies overrides, validates. Errors name the file, line and
 * column of the offending key or value, or the flag that set it.
 */
export function loadServerConfig(filePath: string | undefined, overrides: ConfigOverride[] = []): ServerConfig {
  let raw: unknown = {};
  let file: YamlConfigText | undefined;
  if (filePath !== undefined) {
    let text: string;
    try {
      text = readFileSync(filePath, 'utf8');
    } catch (error) {
      throw new ConfigError(`${filePath}: cannot read config file: ${(error as Error).message}`);
    }
    try {
      file = parseYamlConfig(text, filePath);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    raw = file.value;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ConfigError(`${filePath}:1:1: the config must be a mapping of sections (server, limits, store, …)`);
    }
  }
  for (const override of overrides) setPath(raw as Record<string, unknown>, override.path, override.value);

  const result = serverConfigSchema.safeParse(raw);
  if (result.success) return remember(result.data);
  const messages = result.error.issues.map((issue) => {
    const fromFlag = overrides.find((override) => isPrefix(override.path, issue.path));
    if (fromFlag !== undefined) return `${fromFlag.source} ${JSON.stringify(fromFlag.value)}: ${issueMessage(issue)}`;
    if (file === undefined) return `(defaults): ${formatConfigPath(issueKeyPath(issue))}: ${issueMessage(issue)}`;
    return describeIssues([issue], file)[0]!;
  });
  throw new ConfigError(messages.join('\n'));
}

function isPrefix(prefix: string[], path: PropertyKey[]): boolean {
  return prefix.length <= path.length ? prefix.every((key, i) => key === path[i]) : path.every((key, i) => key === prefix[i]);
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
