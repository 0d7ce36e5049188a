import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openObjectStore } from '../../src/objstore/open-object-store.ts';
import { checkObjectStoreContract } from './object-store-contract.ts';

let directory: string;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rankscope-fs-store-'));
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

test('filesystem backend: put/get/getRange/list/delete and reopen', async () => {
  const root = join(directory, 'contract');
  await checkObjectStoreContract(openObjectStore({ backend: 'filesystem', directory: root }), async () =>
    openObjectStore({ backend: 'filesystem', directory: root }),
  );
});

test('filesystem backend: writes leave no temp files and concurrent puts of one key end whole', async () => {
  const root = join(directory, 'atomic');
  const store = openObjectStore({ backend: 'filesystem', directory: root });
  const versions = Array.from({ length: 8 }, (_, i) => Buffer.alloc(256 * 1024, 65 + i));
  await Promise.all(versions.map((data) => store.put('x/obj', data)));
  const final = await store.get('x/obj');
  assert.ok(versions.some((data) => data.equals(final)), 'object is one of the written versions, never a mix');
  assert.deepEqual(await readdir(join(root, 'x')), ['obj']);
  await store.close();
});
