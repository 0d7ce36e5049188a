import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { storeConfigSchema, storeOptionsFromConfig } from '../../src/store/config.ts';

test('store config: every key has a default', () => {
  const config = storeConfigSchema.parse({});
  assert.equal(config.data_dir, './rankscope-data');
  assert.equal(config.wal.fsync, true);
  assert.equal(config.retention_period, 0);
  assert.equal(config.object_store.backend, 'filesystem');
  const options = storeOptionsFromConfig(config);
  assert.equal(options.dataDir, resolve('./rankscope-data'));
  assert.equal(options.retentionPeriodMs, 0);
  assert.deepEqual(options.objectStore, { backend: 'filesystem', directory: resolve('./rankscope-data/objects') });
  assert.ok(options.headCutBytes > 0 && options.blockTargetBytes > 0 && options.headCutAgeMs > 0);
  assert.deepEqual([options.headBudgetBytes, options.walBufferBytes, options.encoderBudgetBytes], [5 * 1024 * 1024, 8 * 1024 * 1024, 4 * 1024 * 1024]);
  assert.equal(storeOptionsFromConfig(storeConfigSchema.parse({ memory: { head_bytes: '1MB' } })).headBudgetBytes, 1024 * 1024);
  assert.throws(() => storeConfigSchema.parse({ memory: { head_bytes: 0 } }));
});

test('store config: durations, sizes and the s3 backend map to StoreOptions', () => {
  const config = storeConfigSchema.parse({
    data_dir: '/var/lib/rankscope',
    wal: { fsync: false },
    head: { cut_size: '32MB', cut_age: '2m' },
    block_target_size: '4MiB',
    compaction_interval: '30s',
    retention_period: '7d',
    object_store: {
      backend: 's3',
      s3: { endpoint: 'http://127.0.0.1:9000', bucket: 'logs', force_path_style: true, access_key_id: 'k', secret_access_key: 's', prefix: 'rs/' },
    },
  });
  const options = storeOptionsFromConfig(config);
  assert.equal(options.walFsync, false);
  assert.equal(options.headCutBytes, 32 * 1024 * 1024);
  assert.equal(options.headCutAgeMs, 120_000);
  assert.equal(options.blockTargetBytes, 4 * 1024 * 1024);
  assert.equal(options.compactionIntervalMs, 30_000);
  assert.equal(options.retentionPeriodMs, 604_800_000);
  assert.deepEqual(options.objectStore, {
    backend: 's3',
    endpoint: 'http://127.0.0.1:9000',
    bucket: 'logs',
    region: 'us-east-1',
    forcePathStyle: true,
    accessKeyId: 'k',
    secretAccessKey: 's',
    prefix: 'rs/',
  });
});

test('store config: bad keys and values are reported with their path', () => {
  const issues = (input: unknown) => storeConfigSchema.safeParse(input).error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? [];
  assert.match(issues({ retention_period: '7x' }).join(), /retention_period: not a valid duration string: "7x"/);
  assert.match(issues({ head: { cut_size: 'huge' } }).join(), /head\.cut_size: invalid size "huge"/);
  assert.match(issues({ object_store: { backend: 's3' } }).join(), /object_store\.s3\.bucket: object_store\.s3\.bucket is required/);
  assert.match(issues({ object_store: { backend: 'gcs' } }).join(), /object_store\.backend/);
  assert.match(issues({ wal: { fsync: 'yes' } }).join(), /wal\.fsync/);
  assert.match(issues({ retention: '7d' }).join(), /retention/, 'unknown keys are errors');
});

test('store config: stream groups are on by default in the reference layout, off when disabled, with the labels and member limit given', () => {
  const defaults = storeOptionsFromConfig(storeConfigSchema.parse({}));
  assert.equal(defaults.streamGrouping?.maxMembers, 16);
  assert.equal(defaults.streamGrouping?.layout, 'reference');
  assert.equal(defaults.streamGrouping?.without.has('rank'), true);
  assert.equal(storeOptionsFromConfig(storeConfigSchema.parse({ stream_groups: { enabled: false } })).streamGrouping?.maxMembers, 0);
  const on = storeOptionsFromConfig(storeConfigSchema.parse({ stream_groups: { enabled: true, without: ['rank', 'pod'], max_members: 8, layout: 'shared' } })).streamGrouping!;
  assert.deepEqual([...on.without].sort(), ['pod', 'rank']);
  assert.equal(on.maxMembers, 8);
  assert.equal(on.layout, 'shared');
  assert.throws(() => storeConfigSchema.parse({ stream_groups: { enabled: true, max_members: 1 } }), /max_members/);
  assert.throws(() => storeConfigSchema.parse({ stream_groups: { layout: 'interleaved' } }), /layout/);
  // Shared frames cut every member at once into one frame buffer: a smaller head budget unless one
  // is set. The reference layout and no groups keep the default.
  assert.equal(storeOptionsFromConfig(storeConfigSchema.parse({ stream_groups: { layout: 'shared' } })).headBudgetBytes, 3 * 1024 * 1024);
  assert.equal(defaults.headBudgetBytes, 5 * 1024 * 1024);
  assert.equal(storeOptionsFromConfig(storeConfigSchema.parse({ stream_groups: { enabled: false } })).headBudgetBytes, 5 * 1024 * 1024);
  assert.equal(storeOptionsFromConfig(storeConfigSchema.parse({ stream_groups: { layout: 'shared' }, memory: { head_bytes: '6MB' } })).headBudgetBytes, 6 * 1024 * 1024);
});
