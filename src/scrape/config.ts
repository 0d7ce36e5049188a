// The top-level `scrape_configs:` key of the server config, in Prometheus' own format and key names
// (prometheus.io/docs/prometheus/latest/configuration/configuration/#scrape_config): the subset
// rankscope scrapes with, every key with Prometheus' default. Regexes of relabel rules are checked here,
// so a bad one is reported with its place in the config file.

import { z } from 'zod';
import { durationMsSchema } from '../config/config-values.ts';
import { compileRegex } from '../regex/index.ts';

const durationMs = durationMsSchema;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const RELABEL_ACTIONS = ['replace', 'keep', 'drop', 'keepequal', 'dropequal', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase'] as const;
export type RelabelAction = (typeof RELABEL_ACTIONS)[number];

const regexText = z.string().superRefine((source, context) => {
  try {
    compileRegex(source, 'anchored');
  } catch (error) {
    context.addIssue({ code: 'custom', message: `invalid regex: ${(error as Error).message}` });
  }
});

export const relabelConfigSchema = z
  .object({
    source_labels: z.array(z.string().regex(LABEL_NAME, 'expected a label name')).default([]),
    separator: z.string().default(';'),
    target_label: z.string().default(''),
    regex: regexText.default('(.*)'),
    modulus: z.number().int().min(0).default(0),
    replacement: z.string().default('$1'),
    action: z.enum(RELABEL_ACTIONS).default('replace'),
  })
  .strict()
  .superRefine((rule, context) => {
    const needsTarget: RelabelAction[] = ['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal'];
    if (needsTarget.includes(rule.action) && rule.target_label === '') context.addIssue({ code: 'custom', message: `relabel action ${rule.action} needs target_label`, path: ['target_label'] });
    if (rule.action === 'hashmod' && rule.modulus === 0) context.addIssue({ code: 'custom', message: 'relabel action hashmod needs a modulus above 0', path: ['modulus'] });
    if (['lowercase', 'uppercase', 'keepequal', 'dropequal', 'hashmod'].includes(rule.action) && rule.target_label !== '' && !LABEL_NAME.test(rule.target_label)) {
      context.addIssue({ code: 'custom', message: `${JSON.stringify(rule.target_label)} is not a valid label name`, path: ['target_label'] });
    }
  });

export type RelabelConfig = z.output<typeof relabelConfigSchema>;

export const staticConfigSchema = z
  .object({
    /** `host:port` of each target. */
    targets: z.array(z.string().min(1)).default([]),
    labels: z.record(z.string().regex(LABEL_NAME, 'expected a label name'), z.string()).default({}),
  })
  .strict();

export const fileSdConfigSchema = z
  .object({
    /** JSON (.json) or YAML (.yml, .yaml) files of target groups; `*` is allowed in the file name. */
    files: z.array(z.string().min(1)).min(1),
    /** How often the files' modification times are checked. */
    refresh_interval: durationMs.prefault('5m'),
  })
  .strict();

export const kubernetesSdConfigSchema = z
  .object({
    role: z.enum(['pod', 'endpoints', 'service', 'node']),
    /** Empty: in-cluster (the pod's service account). */
    api_server: z.string().default(''),
    bearer_token_file: z.string().default(''),
    tls_config: z.object({ ca_file: z.string().default(''), insecure_skip_verify: z.boolean().default(false) }).strict().prefault({}),
    namespaces: z.object({ names: z.array(z.string().min(1)).default([]) }).strict().prefault({}),
    selectors: z
      .array(z.object({ role: z.enum(['pod', 'endpoints', 'service', 'node']), label: z.string().default(''), field: z.string().default('') }).strict())
      .default([]),
  })
  .strict()
  .superRefine((config, context) => {
    if (config.api_server !== '' && !/^https?:\/\//.test(config.api_server)) context.addIssue({ code: 'custom', message: 'api_server must be an http(s) URL', path: ['api_server'] });
  });

export type KubernetesSdConfig = z.output<typeof kubernetesSdConfigSchema>;

export const basicAuthSchema = z
  .object({
    username: z.string().default(''),
    password: z.string().default(''),
    password_file: z.string().default(''),
  })
  .strict();

/** Prometheus' tls_config: how a job's https targets are verified and which client certificate it shows. */
export const tlsConfigSchema = z
  .object({
    /** CA certificates (PEM) that verify the target's certificate, inline or from a file; default: the system's. */
    ca: z.string().default(''),
    ca_file: z.string().default(''),
    /** Client certificate and key (PEM) for targets that ask for one, inline or from files. */
    cert: z.string().default(''),
    cert_file: z.string().default(''),
    key: z.string().default(''),
    key_file: z.string().default(''),
    /** Name sent as SNI and checked against the certificate instead of the target's host. */
    server_name: z.string().default(''),
    insecure_skip_verify: z.boolean().default(false),
    min_version: z.enum(['', 'TLS10', 'TLS11', 'TLS12', 'TLS13']).default(''),
    max_version: z.enum(['', 'TLS10', 'TLS11', 'TLS12', 'TLS13']).default(''),
  })
  .strict()
  .superRefine((tls, context) => {
    // Prometheus' own checks (common/config TLSConfig.Validate), with its wording.
    for (const [inline, file] of [['ca', 'ca_file'], ['cert', 'cert_file'], ['key', 'key_file']] as const) {
      if (tls[inline] !== '' && tls[file] !== '') context.addIssue({ code: 'custom', message: `at most one of ${inline} and ${file} must be configured`, path: [file] });
    }
    const hasCert = tls.cert !== '' || tls.cert_file !== '';
    const hasKey = tls.key !== '' || tls.key_file !== '';
    if (hasCert && !hasKey) context.addIssue({ code: 'custom', message: 'exactly one of key or key_file must be configured when a client certificate is configured', path: ['key_file'] });
    if (hasKey && !hasCert) context.addIssue({ code: 'custom', message: 'exactly one of cert or cert_file must be configured when a client key is configured', path: ['cert_file'] });
  });

export type TlsConfig = z.output<typeof tlsConfigSchema>;

/** Prometheus' authorization: an `Authorization: <type> <credentials>` header on every scrape. */
export const authorizationSchema = z
  .object({
    type: z.string().default('Bearer'),
    credentials: z.string().default(''),
    /** Read at each scrape, so a rotated token is picked up. */
    credentials_file: z.string().default(''),
  })
  .strict()
  .superRefine((authorization, context) => {
    if (authorization.type.toLowerCase() === 'basic') context.addIssue({ code: 'custom', message: 'authorization type cannot be set to "basic", use "basic_auth" instead', path: ['type'] });
    if (authorization.credentials !== '' && authorization.credentials_file !== '') context.addIssue({ code: 'custom', message: 'at most one of authorization credentials & credentials_file must be configured', path: ['credentials_file'] });
  });

/** Prometheus' oauth2: a token from the client-credentials grant, sent as the scrape's Authorization. */
export const oauth2Schema = z
  .object({
    client_id: z.string().min(1),
    client_secret: z.string().default(''),
    /** Read at each token request. */
    client_secret_file: z.string().default(''),
    scopes: z.array(z.string()).default([]),
    token_url: z.string().url(),
    endpoint_params: z.record(z.string(), z.string()).default({}),
    /** For the token endpoint (the targets' is the job's tls_config). */
    tls_config: tlsConfigSchema.prefault({}),
  })
  .strict()
  .superRefine((oauth2, context) => {
    if (oauth2.client_secret !== '' && oauth2.client_secret_file !== '') context.addIssue({ code: 'custom', message: 'at most one of oauth2 client_secret & client_secret_file must be configured', path: ['client_secret_file'] });
  });

export type OAuth2Config = z.output<typeof oauth2Schema>;

export const scrapeConfigSchema = z
  .object({
    job_name: z.string().min(1),
    scrape_interval: durationMs.prefault('15s'),
    /** Defaults to 10s, or to scrape_interval when that is shorter. */
    scrape_timeout: durationMs.optional(),
    metrics_path: z.string().startsWith('/').default('/metrics'),
    scheme: z.enum(['http', 'https']).default('http'),
    params: z.record(z.string(), z.array(z.string())).default({}),
    basic_auth: basicAuthSchema.optional(),
    bearer_token: z.string().default(''),
    bearer_token_file: z.string().default(''),
    authorization: authorizationSchema.optional(),
    oauth2: oauth2Schema.optional(),
    tls_config: tlsConfigSchema.prefault({}),
    honor_labels: z.boolean().default(false),
    honor_timestamps: z.boolean().default(true),
    /** More samples than this (after metric_relabel_configs) fail the scrape; 0 = no limit. */
    sample_limit: z.number().int().min(0).default(0),
    static_configs: z.array(staticConfigSchema).default([]),
    file_sd_configs: z.array(fileSdConfigSchema).default([]),
    kubernetes_sd_configs: z.array(kubernetesSdConfigSchema).default([]),
    relabel_configs: z.array(relabelConfigSchema).default([]),
    metric_relabel_configs: z.array(relabelConfigSchema).default([]),
  })
  .strict()
  .transform((config, context) => {
    const scrapeTimeoutMs = config.scrape_timeout ?? Math.min(10_000, config.scrape_interval);
    if (scrapeTimeoutMs > config.scrape_interval) {
      context.addIssue({ code: 'custom', message: `scrape_timeout (${scrapeTimeoutMs} ms) is greater than scrape_interval (${config.scrape_interval} ms)`, path: ['scrape_timeout'] });
      return z.NEVER;
    }
    if (config.scrape_interval < 10) {
      context.addIssue({ code: 'custom', message: 'scrape_interval must be at least 10ms', path: ['scrape_interval'] });
      return z.NEVER;
    }
    if (config.bearer_token !== '' && config.basic_auth !== undefined) {
      context.addIssue({ code: 'custom', message: 'at most one of basic_auth and bearer_token may be set', path: ['bearer_token'] });
      return z.NEVER;
    }
    const bearer = config.bearer_token !== '' || config.bearer_token_file !== '';
    const schemes = [config.basic_auth !== undefined, config.authorization !== undefined, config.oauth2 !== undefined, bearer].filter(Boolean).length;
    if (schemes > 1) {
      context.addIssue({ code: 'custom', message: 'at most one of basic_auth, authorization, oauth2 and bearer_token & bearer_token_file must be configured', path: [config.oauth2 !== undefined ? 'oauth2' : 'authorization'] });
      return z.NEVER;
    }
    return { ...config, scrape_timeout: scrapeTimeoutMs };
  });

export type ScrapeConfig = z.output<typeof scrapeConfigSchema>;
export type ScrapeConfigInput = z.input<typeof scrapeConfigSchema>;

export const scrapeConfigsSchema = z.array(scrapeConfigSchema).superRefine((configs, context) => {
  const seen = new Set<string>();
  for (const [index, config] of configs.entries()) {
    if (seen.has(config.job_name)) context.addIssue({ code: 'custom', message: `found multiple scrape configs with job name ${JSON.stringify(config.job_name)}`, path: [index, 'job_name'] });
    seen.add(config.job_name);
  }
});
