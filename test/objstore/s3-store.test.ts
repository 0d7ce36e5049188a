import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openObjectStore } from '../../src/objstore/open-object-store.ts';
import type { S3ObjectStoreConfig } from '../../src/objstore/object-store.ts';
import { checkObjectStoreContract } from './object-store-contract.ts';
import { startS3rver, type RunningS3rver } from './s3rver-fixture.ts';

let s3: RunningS3rver;
before(async () => {
  s3 = await startS3rver();
});
after(async () => {
  await s3.stop();
});

function config(prefix: string, listPageSize?: number): S3ObjectStoreConfig {
  return {
    backend: 's3',
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    region: 'us-east-1',
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    prefix,
    ...(listPageSize === undefined ? {} : { listPageSize }),
  };
}

test('s3 backend against s3rver: put/get/getRange/list/delete and reopen', async () => {
  await checkObjectStoreContract(openObjectStore(config('run1/')), async () => openObjectStore(config('run1/')));
});

test('s3 backend: prefixes isolate stores in one bucket; listing follows continuation pages', async () => {
  const store = openObjectStore(config('paging/', 2));
  const keys = Array.from({ length: 7 }, (_, i) => `k/${String(i).padStart(5, '0')}`);
  for (const key of keys) await store.put(key, Buffer.from(key));
  assert.deepEqual(await store.list('k/'), keys);
  const other = openObjectStore(config('elsewhere/'));
  assert.deepEqual(await other.list('k/'), []);
  await other.close();
  await store.close();
});
