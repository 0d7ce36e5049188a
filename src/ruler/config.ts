import { join } from 'node:path';
// The ruler's section of the server config (`ruler:` in YAML). The server composes this schema into
// its own; every key has a default so an empty `ruler:` (or none) gives a working ruler.

import { z } from 'zod';
import { parseDurationMs } from '../duration/duration.ts';

/** A duration kept as text (parsed where used); a YAML number is a count of seconds. */
const duration = (fallback: string) =>
  z
    .preprocess((value) => (typeof value === 'number' ? String(value) : value), z.string())
    .default(fallback)
    .refine(
      (text) => {
        try {
          parseDurationMs(text);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'expected a number of seconds or a duration such as 500ms, 30s, 5m, 4h or 1d' },
    );

/** A single string is accepted where a list is expected, so `alertmanager_url: http://am:9093` works. */
const stringList = z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(z.string()));

const urlString = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, 'expected an http:// or https:// URL');

/** Alertmanager's grouping and timing knobs, shared by the built-in webhook and Slack notifiers. */
const groupingFields = {
  /** Label names that split alerts into notification groups; `['...']` groups by every label. */
  group_by: z.array(z.string()).default(['alertname']),
  group_wait: duration('30s'),
  group_interval: duration('5m'),
  repeat_interval: duration('4h'),
  send_resolved: z.boolean().default(true),
};

export const webhookReceiverSchema = z
  .object({
    /** Shown in metrics and logs instead of the URL, which may carry a secret. */
    name: z.string().default(''),
    url: urlString,
    ...groupingFields,
  })
  .strict();

export const slackReceiverSchema = z
  .object({
    name: z.string().default(''),
    /** Slack incoming-webhook URL (https://hooks.slack.com/services/…). */
    webhook_url: urlString,
    channel: z.string().default(''),
    username: z.string().default('rankscope'),
    /** Go templates over the notification data (.Status, .Alerts, .CommonLabels, …). */
    title: z.string().default('[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ len .Alerts.Firing }}{{ end }}] {{ .CommonLabels.alertname }}'),
    text: z
      .string()
      .default('{{ range .Alerts }}{{ if .Annotations.summary }}{{ .Annotations.summary }}{{ else }}{{ .Labels.alertname }}{{ end }}\n{{ end }}'),
    ...groupingFields,
  })
  .strict();

export const rulerConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Directory of rule files; `<dir>/*.yaml` belong to `tenant`, `<dir>/<tenant>/*.yaml` to that tenant. Empty = `<data_dir>/rules`. */
    rules_dir: z.string().default(''),
    /**
     * Directory of PromQL rule files, laid out like rules_dir (`<dir>/*.yaml` for `tenant`,
     * `<dir>/<tenant>/*.yaml`), evaluated over the metrics store. Empty = `<data_dir>/prometheus-rules`.
     */
    prometheus_rules_dir: z.string().default(''),
    /** Tenant that owns top-level rule files and the training pack (Loki's no-auth tenant is `fake`). */
    tenant: z.string().default('fake'),
    /** Load the shipped training rule pack (rules/training.yaml) as namespace `training`. */
    enable_training_rules: z.boolean().default(false),
    /** Alertmanager base URLs; alerts go to `<url>/api/v2/alerts`. */
    alertmanager_url: stringList.default([]).pipe(z.array(urlString)),
    /** Group interval when a group sets none. */
    evaluation_interval: duration('1m'),
    /** Firing alerts are re-sent to Alertmanager this often (Prometheus `--rules.alert.resend-delay`). */
    resend_delay: duration('1m'),
    /** Resolved alerts keep being sent for this long, so a missed delivery still resolves. */
    resolved_retention: duration('15m'),
    /** Added to every alert and available in templates as $externalLabels. */
    external_labels: z.record(z.string(), z.string()).default({}),
    /** Base of each alert's generatorURL and $externalURL in templates. */
    external_url: z.string().default(''),
    /** Fallback for file-change events that fs.watch misses (network filesystems, editors' renames). */
    poll_interval: duration('5s'),
    notification_timeout: duration('10s'),
    /** Delivery retries: exponential backoff from retry_backoff up to retry_max_backoff, at most max_attempts tries. */
    retry_backoff: duration('500ms'),
    retry_max_backoff: duration('30s'),
    max_attempts: z.number().int().min(1).max(100).default(5),
    webhook: z.array(webhookReceiverSchema).default([]),
    slack: z.array(slackReceiverSchema).default([]),
  })
  .strict();

export type RulerConfig = z.infer<typeof rulerConfigSchema>;
export type WebhookReceiverConfig = z.infer<typeof webhookReceiverSchema>;
export type SlackReceiverConfig = z.infer<typeof slackReceiverSchema>;

/** The config with every default applied, for tests and callers that build one in code. */
export function defaultRulerConfig(overrides: Record<string, unknown> = {}): RulerConfig {
  return rulerConfigSchema.parse(overrides);
}

/** Where PromQL rule files live: prometheus_rules_dir, else `<data_dir>/prometheus-rules`. */
export function promqlRulesDirOf(config: Pick<RulerConfig, 'prometheus_rules_dir'>, dataDir: string): string {
  return config.prometheus_rules_dir === '' ? join(dataDir, 'prometheus-rules') : config.prometheus_rules_dir;
}
