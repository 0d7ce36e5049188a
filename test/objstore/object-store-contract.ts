// The behaviour both backends must share, run against each by its own test file.

import assert from 'node:assert/strict';
import { ObjectNotFoundError, type ObjectStore } from '../../src/objstore/object-store.ts';

export async function checkObjectStoreContract(store: ObjectStore, reopen: () => Promise<ObjectStore>): Promise<void> {
  const payload = Buffer.from('0123456789abcdefghij');
  await store.put('tenants/a/2025-01-01/parts/p1.data', payload);
  await store.put('tenants/a/2025-01-01/parts/p1.index', Buffer.from('index'));
  await store.put('tenants/b/2025-01-02/labels.index', Buffer.from('labels'));
  await store.put('other/key', Buffer.alloc(0));

  assert.deepEqual(await store.get('tenants/a/2025-01-01/parts/p1.data'), payload);
  assert.deepEqual(await store.getRange('tenants/a/2025-01-01/parts/p1.data', 3, 5), Buffer.from('34567'));
  assert.deepEqual(await store.getRange('tenants/a/2025-01-01/parts/p1.data', 15, 5), Buffer.from('fghij'));
  assert.equal((await store.get('other/key')).length, 0);

  // Overwrite replaces the whole object.
  await store.put('tenants/b/2025-01-02/labels.index', Buffer.from('labels-v2'));
  assert.equal((await store.get('tenants/b/2025-01-02/labels.index')).toString(), 'labels-v2');

  assert.deepEqual(await store.list('tenants/'), [
    'tenants/a/2025-01-01/parts/p1.data',
    'tenants/a/2025-01-01/parts/p1.index',
    'tenants/b/2025-01-02/labels.index',
  ]);
  assert.deepEqual(await store.list('tenants/a/2025-01-01/parts/p1.'), ['tenants/a/2025-01-01/parts/p1.data', 'tenants/a/2025-01-01/parts/p1.index']);
  assert.deepEqual(await store.list('nothing/'), []);

  await assert.rejects(store.get('tenants/a/missing'), ObjectNotFoundError);
  await assert.rejects(store.getRange('tenants/a/missing', 0, 1), ObjectNotFoundError);
  await assert.rejects(store.get('../escape'), /invalid object key/);
  await assert.rejects(store.put('a//b', Buffer.from('x')), /invalid object key/);

  // Survives a restart of the client.
  await store.close();
  const again = await reopen();
  assert.deepEqual(await again.get('tenants/a/2025-01-01/parts/p1.data'), payload);
  await again.delete('tenants/a/2025-01-01/parts/p1.data');
  await again.delete('tenants/a/2025-01-01/parts/never-existed');
  assert.deepEqual(await again.list('tenants/a/'), ['tenants/a/2025-01-01/parts/p1.index']);
  await assert.rejects(again.get('tenants/a/2025-01-01/parts/p1.data'), ObjectNotFoundError);
  await again.close();
}
