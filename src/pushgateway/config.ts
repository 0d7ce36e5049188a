// The `pushgateway:` section of the server config (snake_case YAML keys, every key with a default).

import { z } from 'zod';
import { durationMsSchema } from '../config/config-values.ts';

const durationMs = durationMsSchema;

export const pushgatewayConfigSchema = z
  .object({
    /** Serve the Pushgateway API (`/metrics/job/…`, `/api/v1/metrics`, `/api/v1/status`); needs tsdb.enabled. */
    enabled: z.boolean().default(true),
    /** How often each group's last values are written to the TSDB (a Prometheus scrape_interval). */
    sample_interval: durationMs.prefault('15s'),
    /** TTL of groups pushed without `?ttl=` or `Rankscope-Push-TTL`; 0 = until deleted (the Pushgateway's behaviour). */
    default_ttl: durationMs.prefault('0s'),
  })
  .strict()
  .refine((config) => config.sample_interval >= 10, { message: 'pushgateway.sample_interval must be at least 10ms', path: ['sample_interval'] });

export type PushgatewayConfig = z.output<typeof pushgatewayConfigSchema>;
