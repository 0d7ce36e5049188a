// The agent's configuration: one zod schema, defaults in one place. YAML errors and schema errors
// are reported with the key path and the line in the file, e.g.
//   agent.yaml:12: sources[0].paths: expected array, received string

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describeIssues, parseYamlConfig } from '../config/yaml-config.ts';
import * as z from 'zod';
import type { ClientAuth, ClientTls } from './client-credentials.ts';
import { LABEL_NAME_PATTERN } from '../push/labels.ts';
import { parseRegex, RegexSyntaxError } from '../regex/index.ts';
import { checkTimeZone } from './timestamp.ts';
import { parseDurationMs } from '../duration/duration.ts';

const labelName = z.string().regex(LABEL_NAME_PATTERN, 'label names must match [a-zA-Z_][a-zA-Z0-9_]*');
const labelMap = z.record(labelName, z.string()).default({});

/** A regex in RE2 syntax, as Promtail reads it; a bad one is reported with RE2's message. */
const regexText = z.string().superRefine((text, context) => {
  try {
    parseRegex(text);
  } catch (error) {
    if (!(error instanceof RegexSyntaxError)) throw error;
    context.addIssue({ code: 'custom', message: `not a valid regular expression (RE2 syntax): ${error.message}` });
  }
});

const timeZone = z.string().refine(
  (zone) => {
    try {
      checkTimeZone(zone);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'unknown IANA time zone (e.g. "UTC", "Europe/Berlin", "America/New_York")' },
);

/** How often GPU and node metrics are read: a duration (`15s`, `500ms`) or seconds; 100 ms at least. */
const collectionIntervalMs = z.union([z.string(), z.number()]).transform((value, context) => {
  let intervalMs: number;
  try {
    intervalMs = typeof value === 'number' ? value * 1000 : parseDurationMs(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
  if (!(intervalMs >= 100)) {
    context.addIssue({ code: 'custom', message: `interval must be at least 100ms, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return intervalMs;
});

export const processingSchema = z.strictObject({
  timestamp: z
    .strictObject({
      format: z.enum(['auto', 'rfc3339', 'python', 'epoch', 'none']).default('auto'),
      timezone: timeZone.default('UTC'),
    })
    .prefault({}),
  detect_level: z.boolean().default(true),
  rank_prefix: z.enum(['strip', 'keep', 'off']).default('strip'),
  collapse_carriage_returns: z.boolean().default(true),
  multiline: z
    .strictObject({
      python_traceback: z.boolean().default(true),
      first_line: regexText.optional(),
      max_wait_ms: z.number().int().positive().default(1000),
      max_lines: z.number().int().positive().default(1000),
    })
    .prefault({}),
});
export type ProcessingConfig = z.infer<typeof processingSchema>;

const fileSourceSchema = z.strictObject({
  name: z.string().min(1),
  type: z.literal('file'),
  paths: z.array(z.string().min(1)).min(1),
  exclude: z.array(z.string().min(1)).default([]),
  labels: labelMap,
  path_labels: regexText.optional(),
  processing: processingSchema.prefault({}),
});

const podSourceSchema = z.strictObject({
  name: z.string().min(1),
  type: z.literal('kubernetes_pods'),
  root: z.string().min(1).default('/var/log/pods'),
  namespaces: z.array(z.string().min(1)).default([]),
  worker_rank_offset: z.number().int().min(0).default(0),
  // Pod labels and environment from the Kubernetes API (src/agent/pod-metadata.ts): node, training job, replica, RANK.
  kubernetes_api: z
    .strictObject({
      enabled: z.boolean().default(false),
      api_server: z.string().default(''),
      node_name: z.string().default(''),
      /** How long a new pod's log waits for the pod to appear in the watch before it is read without its metadata. */
      wait_for_pod_ms: z.number().int().min(0).default(10_000),
    })
    .prefault({}),
  labels: labelMap,
  path_labels: regexText.optional(),
  processing: processingSchema.prefault({}),
});

export const agentConfigSchema = z.strictObject({
  server: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }),
      tenant: z.string().min(1).optional(),
      headers: z.record(z.string(), z.string()).default({}),
      timeout_ms: z.number().int().positive().default(10_000),
      // Credentials and TLS with Promtail's client names (docs/auth.md).
      basic_auth: z
        .strictObject({ username: z.string(), password: z.string().min(1).optional(), password_file: z.string().min(1).optional() })
        .refine((auth) => (auth.password === undefined) !== (auth.password_file === undefined), { message: 'set one of password or password_file' })
        .optional(),
      bearer_token: z.string().min(1).optional(),
      bearer_token_file: z.string().min(1).optional(),
      tls_config: z
        .strictObject({
          ca_file: z.string().min(1).optional(),
          cert_file: z.string().min(1).optional(),
          key_file: z.string().min(1).optional(),
          server_name: z.string().min(1).optional(),
          insecure_skip_verify: z.boolean().default(false),
        })
        .refine((tls) => (tls.cert_file === undefined) === (tls.key_file === undefined), { message: 'a client certificate needs both cert_file and key_file' })
        .prefault({}),
    })
    .refine((server) => [server.basic_auth, server.bearer_token, server.bearer_token_file].filter((value) => value !== undefined).length <= 1, {
      message: 'set at most one of basic_auth, bearer_token and bearer_token_file',
    }),
  batch: z
    .strictObject({
      max_bytes: z.number().int().positive().default(1024 * 1024),
      max_wait_ms: z.number().int().positive().default(1000),
    })
    .prefault({}),
  retry: z
    .strictObject({
      min_backoff_ms: z.number().int().positive().default(500),
      max_backoff_ms: z.number().int().positive().default(30_000),
    })
    .prefault({}),
  queue: z
    .strictObject({
      dir: z.string().min(1).default('./rankscope-agent/queue'),
      max_bytes: z.number().int().positive().default(1024 * 1024 * 1024),
    })
    .prefault({}),
  positions: z.strictObject({ file: z.string().min(1).default('./rankscope-agent/positions.json') }).prefault({}),
  metrics: z
    .strictObject({
      listen: z.string().regex(/^[^:\s]*:\d+$/, 'expected HOST:PORT').optional(),
      // GPU and node collection (host-metrics/), shipped by remote write to the server.
      enabled: z.boolean().default(false),
      interval: collectionIntervalMs.prefault('15s'),
      gpu: z.enum(['auto', 'on', 'off']).default('auto'),
      nvidia_smi_path: z.string().min(1).default('nvidia-smi'),
      proc_root: z.string().min(1).default('/proc'),
      sys_root: z.string().min(1).default('/sys'),
      max_buffered_samples: z.number().int().positive().default(500_000),
    })
    .prefault({}),
  poll_interval_ms: z.number().int().positive().default(250),
  labels: z.record(labelName, z.string()).default({ host: hostname() }),
  sources: z.array(z.discriminatedUnion('type', [fileSourceSchema, podSourceSchema])).default([]),
})
  // An agent may only collect metrics (a GPU node whose logs another agent tails), but never nothing.
  .refine((config) => config.sources.length > 0 || config.metrics.enabled, { path: ['sources'], message: 'expected at least one source (or metrics.enabled: true)' });

export type AgentConfig = z.infer<typeof agentConfigSchema>;

/** The server section's credentials in the shape the sender takes. */
export function clientAuthOf(server: AgentConfig['server']): ClientAuth {
  const basic = server.basic_auth;
  return {
    ...(basic !== undefined
      ? { basicAuth: { username: basic.username, ...(basic.password !== undefined ? { password: basic.password } : {}), ...(basic.password_file !== undefined ? { passwordFile: basic.password_file } : {}) } }
      : {}),
    ...(server.bearer_token !== undefined ? { bearerToken: server.bearer_token } : {}),
    ...(server.bearer_token_file !== undefined ? { bearerTokenFile: server.bearer_token_file } : {}),
  };
}

export function clientTlsOf(server: AgentConfig['server']): ClientTls {
  const tls = server.tls_config;
  return {
    ...(tls.ca_file !== undefined ? { caFile: tls.ca_file } : {}),
    ...(tls.cert_file !== undefined ? { certFile: tls.cert_file } : {}),
    ...(tls.key_file !== undefined ? { keyFile: tls.key_file } : {}),
    ...(tls.server_name !== undefined ? { serverName: tls.server_name } : {}),
    insecureSkipVerify: tls.insecure_skip_verify,
  };
}
export type SourceConfig = AgentConfig['sources'][number];
export type FileSourceConfig = z.infer<typeof fileSourceSchema>;
export type PodSourceConfig = z.infer<typeof podSourceSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses and validates YAML text. `fileName` is only used in messages. */
export function parseAgentConfig(text: string, fileName: string): AgentConfig {
  let file;
  try {
    file = parseYamlConfig(text, fileName);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const result = agentConfigSchema.safeParse(file.value);
  if (result.success) return result.data;
  throw new ConfigError(describeIssues(result.error.issues, file).join('\n'));
}

export function loadAgentConfig(path: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config ${path}: ${(error as Error).message}`);
  }
  return parseAgentConfig(text, path);
}
