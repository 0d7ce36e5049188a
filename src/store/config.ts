// The store's config section: snake_case YAML keys, every key with a default. The server composes
// this schema into its own and maps it to StoreOptions with `storeOptionsFromConfig`.

import { resolve, join } from 'node:path';
import { z } from 'zod';
import type { ObjectStoreConfig } from '../objstore/object-store.ts';
import { byteSizeSchema as anyByteSizeSchema, durationMsSchema } from '../config/config-values.ts';
import { DEFAULT_STREAM_GROUPING, NO_STREAM_GROUPING, type StreamGrouping } from './stream-group.ts';

const durationSchema = durationMsSchema;
/** Store sizes (blocks, budgets) must be positive. */
const byteSizeSchema = anyByteSizeSchema.refine((bytes) => bytes > 0, { message: 'expected a positive size' });

export const s3ConfigSchema = z
  .object({
    endpoint: z.string().default(''),
    bucket: z.string().default(''),
    region: z.string().default('us-east-1'),
    force_path_style: z.boolean().default(false),
    access_key_id: z.string().default(''),
    secret_access_key: z.string().default(''),
    prefix: z.string().default(''),
  })
  .strict();

export const objectStoreConfigSchema = z
  .object({
    backend: z.enum(['filesystem', 's3']).default('filesystem'),
    s3: s3ConfigSchema.default(() => s3ConfigSchema.parse({})),
  })
  .strict()
  .refine((config) => config.backend !== 's3' || config.s3.bucket !== '', {
    message: 'object_store.s3.bucket is required when backend is s3',
    path: ['s3', 'bucket'],
  });

/**
 * Byte budgets for the store's memory, measured with bench/ingest-flush-bench.ts on the 244 MB
 * 8-rank training log (protobuf+snappy, 4 pushes in flight); see docs/config.md for the figures.
 * Heads: 8 MB against 16 MB, bench/server-rss-ab.ts, four runs of 2-3 rounds: peak RSS median
 * 200 against 210 MB (single rounds 197-227 against 206-229), server CPU within the runs' noise
 * (medians 6.4 against 6.3 s; per-run ratios 0.93x-1.12x). More cuts, each of smaller blocks:
 * stored size the same (13.7% of raw against 13.8%), 34 parts against 22 before compaction.
 * 6 MB was tried against 8 MB (with one malloc arena, bin/rankscope.js), 6 alternating rounds
 * each: peak RSS 141 against 147 MB with training off, 175 against 187 MB with it, server CPU
 * 0.99x and 1.01x, stored 13.34% of raw against 13.28%; but on the 1 GB log (2 rounds each) server
 * CPU 10.2 against 8.8 s with training off and 14.8 against 13.6 s with it, so 8 MB stayed then.
 * 5 MB since the WAL logs protobuf pushes as their body and cuts reuse one lines buffer (ingest got
 * ~25% cheaper): against 8 MB, 3 alternating rounds each, peak RSS 147 (146-148) against 160 MB on
 * the 244 MB log at 0.97x the server CPU (6 MB: 152 MB, 4 MB: 147 MB at 1.01x), and on the 1 GB log
 * (2 rounds) 1.05x the server CPU (11.1 against 10.5 s, 92 MB of log per CPU-second) at the same
 * peak (173 against 172 MB).
 */
/**
 * scan_bytes: 16 blocks of the 2 MB target. Two queries of a tenant (limits.max_concurrent_queries)
 * load 4 blocks at a time each and the scan workers one each, so one tenant's queries never wait; many
 * tenants querying at once share it instead of holding 4 decoded blocks per query.
 */
const MEMORY_DEFAULTS = { head_bytes: 'auto' as const, wal_buffer_bytes: 8 * 1024 * 1024, encoder_bytes: 4 * 1024 * 1024, scan_bytes: 32 * 1024 * 1024 };
const HEAD_BYTES_DEFAULT = 5 * 1024 * 1024;
/**
 * The head budget when stream groups with the `shared` layout are on and `head_bytes` is `auto` (the
 * default; the `reference` layout keeps HEAD_BYTES_DEFAULT). A group's heads are cut
 * together (every rank of a job at once, where the largest heads alone were cut before), so heads and
 * the generation being cut hold up to twice the budget. bench/server-rss-ab.ts on the 244 MB log, 5
 * alternating rounds: peak RSS 147 MB (144-150) with 3 MB heads, 147 (143-149) with 2 MB, 159-163
 * with 5 MB, against 139 MB with groups off; server CPU 1.03x; stored 9.25% of raw either way.
 */
const HEAD_BYTES_STREAM_GROUPS = 3 * 1024 * 1024;

const memorySchema = z
  .object({
    /** Raw bytes all heads may hold; past it the largest heads are cut into parts early. `auto`: 5 MB, 3 MB with `shared` stream groups. */
    head_bytes: z.union([z.literal('auto'), byteSizeSchema]).default('auto'),
    /** WAL frame buffers kept for reuse between group commits. */
    wal_buffer_bytes: byteSizeSchema.default(MEMORY_DEFAULTS.wal_buffer_bytes),
    /** Raw bytes in flight to the block encoder thread during a cut. */
    encoder_bytes: byteSizeSchema.default(MEMORY_DEFAULTS.encoder_bytes),
    /** Raw bytes of blocks all queries together hold decoded at once; past it scans wait their turn. */
    scan_bytes: byteSizeSchema.default(MEMORY_DEFAULTS.scan_bytes),
  })
  .strict();

export const storeConfigSchema = z
  .object({
    data_dir: z.string().default('./rankscope-data'),
    wal: z
      .object({ fsync: z.boolean().default(true) })
      .strict()
      .default({ fsync: true }),
    head: z
      .object({
        /** Cut all heads into parts once their raw bytes pass this. */
        cut_size: byteSizeSchema.default(64 * 1024 * 1024),
        /** Cut heads whose oldest entry arrived this long ago. */
        cut_age: durationSchema.default(300_000),
      })
      .strict()
      .default({ cut_size: 64 * 1024 * 1024, cut_age: 300_000 }),
    memory: memorySchema.default(MEMORY_DEFAULTS),
    /**
     * Threads that encode blocks during head cuts and compaction; 0 encodes on the main thread.
     * `auto`: 1 on a machine with more than two cores, else 0 (measured in docs/config.md).
     */
    encoder_threads: z.union([z.literal('auto'), z.number().int().min(0).max(64)]).default('auto'),
    block_target_size: byteSizeSchema.default(2 * 1024 * 1024),
    /**
     * Streams whose labels are equal once `without` labels are left out (the ranks of one job) are
     * stored as a group, at most max_members streams each (src/store/stream-group.ts): the `reference`
     * layout codes every member's lines against one member's (reference-frames.ts), 9.3% of raw
     * instead of 13.4% on the 8-rank bench log; `shared` puts all members' lines in one frame.
     */
    stream_groups: z
      .object({
        enabled: z.boolean().default(true),
        without: z.array(z.string().min(1)).default(() => [...DEFAULT_STREAM_GROUPING.without]),
        max_members: z.number().int().min(2).max(256).default(DEFAULT_STREAM_GROUPING.maxMembers),
        layout: z.enum(['reference', 'shared']).default(DEFAULT_STREAM_GROUPING.layout),
      })
      .strict()
      .default(() => ({ enabled: true, without: [...DEFAULT_STREAM_GROUPING.without], max_members: DEFAULT_STREAM_GROUPING.maxMembers, layout: DEFAULT_STREAM_GROUPING.layout })),
    compaction_interval: durationSchema.default(60_000),
    retention_period: durationSchema.default(0),
    object_store: objectStoreConfigSchema.default(() => objectStoreConfigSchema.parse({})),
  })
  .strict();

export type StoreConfig = z.output<typeof storeConfigSchema>;
export type StoreConfigInput = z.input<typeof storeConfigSchema>;

export interface StoreOptions {
  dataDir: string;
  walFsync: boolean;
  headCutBytes: number;
  headCutAgeMs: number;
  blockTargetBytes: number;
  /** 0 disables background compaction (compact() still works). */
  compactionIntervalMs: number;
  /** 0 keeps data forever. */
  retentionPeriodMs: number;
  /** Default: the filesystem backend under dataDir/objects. */
  objectStore?: ObjectStoreConfig;
  /** Worker threads that encode blocks during head cuts and compaction; 0 encodes inline. Default: 1 when the machine has more than two cores. */
  encoderThreads?: number;
  /** Raw bytes all heads may hold before the largest are cut early. Default: no budget (cuts by headCutBytes only). */
  headBudgetBytes?: number;
  /** WAL frame buffers kept for reuse. Default: wal.ts's own. */
  walBufferBytes?: number;
  /** Raw bytes in flight to the encoder threads. Default: block-encoder-pool.ts's own. */
  encoderBudgetBytes?: number;
  /** Which streams share compressed frames. Default: none (NO_STREAM_GROUPING, stream-group.ts). */
  streamGrouping?: StreamGrouping;
}

export function storeOptionsFromConfig(config: StoreConfig): StoreOptions {
  const dataDir = resolve(config.data_dir);
  const s3 = config.object_store.s3;
  const objectStore: ObjectStoreConfig =
    config.object_store.backend === 's3'
      ? {
          backend: 's3',
          endpoint: s3.endpoint,
          bucket: s3.bucket,
          region: s3.region,
          forcePathStyle: s3.force_path_style,
          accessKeyId: s3.access_key_id,
          secretAccessKey: s3.secret_access_key,
          prefix: s3.prefix,
        }
      : { backend: 'filesystem', directory: join(dataDir, 'objects') };
  return {
    dataDir,
    walFsync: config.wal.fsync,
    headCutBytes: config.head.cut_size,
    headCutAgeMs: config.head.cut_age,
    blockTargetBytes: config.block_target_size,
    compactionIntervalMs: config.compaction_interval,
    retentionPeriodMs: config.retention_period,
    objectStore,
    headBudgetBytes: config.memory.head_bytes !== 'auto' ? config.memory.head_bytes : config.stream_groups.enabled && config.stream_groups.layout === 'shared' ? HEAD_BYTES_STREAM_GROUPS : HEAD_BYTES_DEFAULT,
    walBufferBytes: config.memory.wal_buffer_bytes,
    encoderBudgetBytes: config.memory.encoder_bytes,
    streamGrouping: config.stream_groups.enabled ? { without: new Set(config.stream_groups.without), maxMembers: config.stream_groups.max_members, layout: config.stream_groups.layout } : NO_STREAM_GROUPING,
    ...(config.encoder_threads === 'auto' ? {} : { encoderThreads: config.encoder_threads }),
  };
}
