// The agent's configuration: one zod schema, defaults in one place. YAML errors and schema errors
// are reported with the key path and the line in the file, e.g.
//   agent.yaml:12: sources[0].paths: expected array, received string

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { LineCounter, parseDocument, isNode } from 'yaml';
import * as z from 'zod';
import type { ClientAuth, ClientTls } from './client-credentials.ts';
import { LABEL_NAME_PATTERN } from '../push/labels.ts';
import { pythonGroupsToJs } from './python-regex.ts';
import { checkTimeZone } from './timestamp.ts';

const labelName = z.string().regex(LABEL_NAME_PATTERN, 'label names must match [a-zA-Z_][a-zA-Z0-9_]*');
const labelMap = z.record(labelName, z.string()).default({});

function compilesAsRegex(text: string): boolean {
  try {
    new RegExp(pythonGroupsToJs(text));
    return true;
  } catch {
    return false;
  }
}

export { pythonGroupsToJs };

const regexText = z.string().refine(compilesAsRegex, { message: 'not a valid regular expression' });

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
  metrics: z.strictObject({ listen: z.string().regex(/^[^:\s]*:\d+$/, 'expected HOST:PORT').optional() }).prefault({}),
  poll_interval_ms: z.number().int().positive().default(250),
  labels: z.record(labelName, z.string()).default({ host: hostname() }),
  sources: z.array(z.discriminatedUnion('type', [fileSourceSchema, podSourceSchema])).min(1),
});

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

function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : `${text === '' ? '' : '.'}${String(key)}`;
  return text === '' ? '(top level)' : text;
}

/** Parses and validates YAML text. `fileName` is only used in messages. */
export function parseAgentConfig(text: string, fileName: string): AgentConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    const line = first.linePos?.[0].line ?? lineCounter.linePos(first.pos[0]).line;
    throw new ConfigError(`${fileName}:${line}: invalid YAML: ${first.message.split('\n')[0]}`);
  }
  const result = agentConfigSchema.safeParse(document.toJS() ?? {});
  if (result.success) return result.data;
  const messages = result.error.issues.map((issue) => {
    // Point at the deepest node that exists: an unknown key's own entry, or a missing key's parent.
    let path: PropertyKey[] = [...issue.path];
    if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) path = [...path, issue.keys[0]!];
    let line: number | undefined;
    for (let depth = path.length; depth >= 0 && line === undefined; depth--) {
      const prefix = path.slice(0, depth) as (string | number)[];
      const node = prefix.length === 0 ? document.contents : document.getIn(prefix, true);
      if (isNode(node) && node.range) line = lineCounter.linePos(node.range[0]).line;
      if (issue.code === 'unrecognized_keys' && depth === path.length && line === undefined) {
        // Keys map to Scalar nodes only through the pair; find it via the parent map.
        const parent = document.getIn(path.slice(0, -1) as (string | number)[], true) as { items?: { key: unknown }[] } | undefined;
        const pair = parent?.items?.find((item) => isNode(item.key) && (item.key as { value?: unknown }).value === path[path.length - 1]);
        const keyNode = pair?.key as { range?: [number, number, number] } | undefined;
        if (keyNode?.range) line = lineCounter.linePos(keyNode.range[0]).line;
      }
    }
    const where = issue.code === 'unrecognized_keys' ? formatPath(issue.path) : formatPath(path);
    // A bad record key carries the key's own issue inside; its message says what a key must look like.
    const nested = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
    return `${fileName}:${line ?? 1}: ${where}: ${nested !== undefined ? `invalid key: ${nested}` : issue.message}`;
  });
  throw new ConfigError(messages.join('\n'));
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
