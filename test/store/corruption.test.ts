// Corrupt stored bytes, written by the test: a damaged block is an error for that block only (named
// by its object and offset), a damaged part index leaves its part out instead of stopping the store,
// and a query over a damaged block answers an error at once while the server stays up.

import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/store/store.ts';
import type { LogStore } from '../../src/store/types.ts';
import { startTestServer } from '../server/test-server.ts';
import { DAY_START_NS, makeTempDir, readAll, testOptions } from './store-fixture.ts';

const ALL_TIME = { startNs: 0n, endNs: 1n << 62n };

async function fill(store: LogStore): Promise<void> {
  for (const job of ['good', 'bad']) {
    await store.append('fake', [{ labels: { job }, entries: Array.from({ length: 300 }, (_, i) => ({ timestampNs: DAY_START_NS + BigInt(i), line: `${job} line ${i}` })) }]);
  }
  await store.flush();
}

async function partFile(dataDir: string, suffix: string): Promise<string> {
  const dir = join(dataDir, 'objects', 'tenants', 'fake', '2025-11-21', 'parts');
  const name = (await readdir(dir)).find((entry) => entry.endsWith(suffix));
  assert.ok(name !== undefined, `a ${suffix} object exists`);
  return join(dir, name);
}

async function flipByte(path: string, position: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[position]! ^= 0x40;
  await writeFile(path, bytes);
}

test('a corrupt block fails its own load with the object and offset named; other blocks still read', async () => {
  const dir = await makeTempDir('store-corrupt-block');
  try {
    const options = testOptions(dir.path);
    let store = await openStore(options);
    await fill(store);
    const [bad] = await store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'job', type: '=', value: 'bad' }], ...ALL_TIME });
    await store.close();
    await flipByte(await partFile(dir.path, '.data'), bad!.location!.offset + Math.floor(bad!.location!.length / 2));
    store = await openStore(options);
    try {
      const [reread] = await store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'job', type: '=', value: 'bad' }], ...ALL_TIME });
      await assert.rejects(reread!.load(), (error: Error) => error.name === 'BlockDecodeError' && error.message.includes(`@${bad!.location!.offset}`) && /checksum mismatch/.test(error.message));
      assert.equal((await readAll(store, 'fake', [{ name: 'job', type: '=', value: 'good' }])).length, 300);
    } finally {
      await store.close();
    }
  } finally {
    await dir.remove();
  }
});

test('a corrupt part index leaves that part out (its data kept) and the store opens', async () => {
  const dir = await makeTempDir('store-corrupt-index');
  try {
    const options = testOptions(dir.path);
    let store = await openStore(options);
    await fill(store);
    await store.close();
    const indexPath = await partFile(dir.path, '.index');
    await flipByte(indexPath, 20);
    store = await openStore(options);
    try {
      assert.deepEqual(await readAll(store, 'fake'), [], 'the unreadable part is left out');
      assert.equal(store.metrics().parts, 0);
    } finally {
      await store.close();
    }
    await partFile(dir.path, '.data');
  } finally {
    await dir.remove();
  }
});

test('a query over a corrupt block answers an error at once, and the server keeps serving', async () => {
  const server = await startTestServer();
  try {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const values = Array.from({ length: 200 }, (_, i) => [String(nowNs - 60_000_000_000n + BigInt(i)), `corrupt me ${i}`]);
    const pushed = await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ streams: [{ stream: { job: 'corrupt' }, values }] }) });
    assert.equal(pushed.status, 204);
    await server.store.flush();
    const [ref] = await server.store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'job', type: '=', value: 'corrupt' }], ...ALL_TIME });
    const day = new Date(Number(nowNs / 1_000_000n) - 60_000).toISOString().slice(0, 10);
    const dataDir = join(server.dataDir, 'objects', 'tenants', 'fake', day, 'parts');
    const dataFile = (await readdir(dataDir)).find((name) => name.endsWith('.data'))!;
    await flipByte(join(dataDir, dataFile), ref!.location!.offset + 10);
    const params = new URLSearchParams({ query: 'count_over_time({job="corrupt"}[1h])', time: String(nowNs) });
    const answer = await fetch(`${server.url}/loki/api/v1/query?${params}`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(answer.status, 500);
    assert.equal((await fetch(`${server.url}/ready`)).status, 200);
  } finally {
    await server.dispose();
  }
});
