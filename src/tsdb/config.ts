// The `tsdb:` section of the server config (snake_case YAML keys, every key with a default). The WAL
// lives under store.data_dir, and blocks go to the store's object store under the `tsdb/` prefix.

import { join, resolve } from 'node:path';
import { z } from 'zod';
import { durationMsSchema } from '../config/config-values.ts';
import type { ObjectStore } from '../objstore/object-store.ts';
import type { TsdbOptions } from './tsdb.ts';

const durationMs = durationMsSchema;

export const tsdbConfigSchema = z
  .object({
    /** Keep metrics (remote_write receiver, Prometheus API). */
    enabled: z.boolean().default(true),
    /** fsync the TSDB WAL (group commit) before remote_write is answered 204. */
    wal_fsync: z.boolean().default(true),
    /** Samples up to this much older than the newest one are accepted (Prometheus' out_of_order_time_window); 0 = in order only. */
    out_of_order_time_window: durationMs.prefault('10m'),
    /** Time range of a block cut from the head (Prometheus: 2h). */
    block_range: durationMs.prefault('2h'),
    /** Cut the head into blocks this long after the previous cut. */
    head_cut_interval: durationMs.prefault('1h'),
    /** …or once the head holds this many samples (bounds its memory). */
    head_max_samples: z.number().int().min(1000).default(50_000_000),
    /** Delete blocks older than this; 0 keeps everything. Prometheus' default is 15d. */
    retention_period: durationMs.prefault('15d'),
    /** Exemplars kept (one ring shared by every series, oldest overwritten first; Prometheus' storage.exemplars.max_exemplars); 0 keeps none. */
    max_exemplars: z.number().int().min(0).max(10_000_000).default(100_000),
    /** How often the head cut, compaction and retention run. */
    maintenance_interval: durationMs.prefault('1m'),
  })
  .strict()
  .refine((config) => config.block_range >= 60_000, { message: 'tsdb.block_range must be at least 1m', path: ['block_range'] });

export type TsdbConfig = z.output<typeof tsdbConfigSchema>;

export function tsdbOptionsFromConfig(config: TsdbConfig, dataDir: string, objectStore: ObjectStore): TsdbOptions {
  return {
    walDirectory: join(resolve(dataDir), 'tsdb-wal'),
    objectStore,
    keyPrefix: 'tsdb',
    fsync: config.wal_fsync,
    blockRangeMs: config.block_range,
    outOfOrderWindowMs: config.out_of_order_time_window,
    headCutIntervalMs: config.head_cut_interval,
    headMaxSamples: config.head_max_samples,
    retentionMs: config.retention_period,
    maintenanceIntervalMs: config.maintenance_interval,
    maxExemplars: config.max_exemplars,
  };
}
