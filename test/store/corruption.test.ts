// Corrupt stored bytes, written by the test: a damaged block is an error for that block only (named
// by its object and offset), a damaged part index leaves its part out instead of stopping the store,
// and a query over a damaged block, a damaged part index or a vanished data object answers 200 with
// every readable block's data and a warning that names the part (Loki's `warnings`), on the main
// thread and in scan workers alike.

import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createEngine } from '../../src/logql/index.ts';
import { openStore } from '../../src/store/store.ts';
import type { LogStore } from '../../src/store/types.ts';
import { startServer } from '../../src/server/server.ts';
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

/**
 * A log query and a metric query over the streams `good` (200 readable lines) and `bad` (damaged):
 * each answers 200 with only the good stream's data and the one warning `isWarning` accepts.
 */
async function assertGoodOnlyWithWarning(url: string, firstNs: bigint, nowNs: bigint, isWarning: (warnings: unknown) => boolean): Promise<void> {
  const logParams = new URLSearchParams({ query: '{job=~"good|bad"}', start: String(firstNs - 1n), end: String(nowNs), limit: '1000' });
  const logs = await fetch(`${url}/loki/api/v1/query_range?${logParams}`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(logs.status, 200);
  const logBody = (await logs.json()) as { warnings?: string[]; data: { result: Array<{ stream: Record<string, string>; values: string[][] }> } };
  assert.ok(isWarning(logBody.warnings), `warning names the part: ${JSON.stringify(logBody.warnings)}`);
  assert.deepEqual(logBody.data.result.map((stream) => [stream.stream.job, stream.values.length]), [['good', 200]]);

  const metricParams = new URLSearchParams({ query: 'sum by (job) (count_over_time({job=~"good|bad"}[1h]))', time: String(nowNs) });
  const metric = await fetch(`${url}/loki/api/v1/query?${metricParams}`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(metric.status, 200);
  const metricBody = (await metric.json()) as { warnings?: string[]; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  assert.ok(isWarning(metricBody.warnings), `warning names the part: ${JSON.stringify(metricBody.warnings)}`);
  assert.deepEqual(metricBody.data.result.map((sample) => [sample.metric.job, sample.value[1]]), [['good', '200']]);
}

test('a corrupt block loads empty with a warning naming its object and offset; other blocks still read; compaction refuses it', async () => {
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
      const loaded = await reread!.load();
      assert.equal(loaded.timestampsNs.length, 0);
      assert.equal(loaded.unreadable?.length, 1);
      assert.ok(loaded.unreadable![0]!.includes(`@${bad!.location!.offset}`) && /checksum mismatch/.test(loaded.unreadable![0]!), loaded.unreadable![0]);
      assert.equal((await readAll(store, 'fake', [{ name: 'job', type: '=', value: 'good' }])).length, 300);
      // Compaction reads strictly: it must not rewrite the part without the entries it could not read.
      await store.append('fake', [{ labels: { job: 'good' }, entries: [{ timestampNs: DAY_START_NS + 1000n, line: 'late' }] }]);
      await store.flush();
      await assert.rejects(store.compact(), (error: Error) => error.name === 'BlockDecodeError' && /checksum mismatch/.test(error.message));
      assert.equal(store.metrics().parts, 2, 'both parts kept');
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

test('a query over a corrupt block answers 200 with the readable streams and a warning naming the part', async () => {
  const server = await startTestServer();
  try {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const firstNs = nowNs - 60_000_000_000n;
    const streams = ['bad', 'good'].map((job) => ({ stream: { job }, values: Array.from({ length: 200 }, (_, i) => [String(firstNs + BigInt(i)), `${job} line ${i}`]) }));
    const pushed = await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ streams }) });
    assert.equal(pushed.status, 204);
    await server.store.flush();
    const [ref] = await server.store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'job', type: '=', value: 'bad' }], ...ALL_TIME });
    const day = new Date(Number(firstNs / 1_000_000n)).toISOString().slice(0, 10);
    const partsDir = join(server.dataDir, 'objects', 'tenants', 'fake', day, 'parts');
    const dataFile = (await readdir(partsDir)).find((name) => name.endsWith('.data'))!;
    const partId = dataFile.slice(0, -'.data'.length);
    await flipByte(join(partsDir, dataFile), ref!.location!.offset + 10);

    const isWarning = (warnings: unknown): boolean =>
      Array.isArray(warnings) && warnings.length === 1 && String(warnings[0]).includes(`part ${partId}`) && String(warnings[0]).includes('{job="bad"}') && /checksum mismatch/.test(String(warnings[0]));
    await assertGoodOnlyWithWarning(server.url, firstNs, nowNs, isWarning);

    // A query that reads only readable blocks carries no warning.
    const goodParams = new URLSearchParams({ query: 'count_over_time({job="good"}[1h])', time: String(nowNs) });
    const good = (await (await fetch(`${server.url}/loki/api/v1/query?${goodParams}`)).json()) as { warnings?: string[] };
    assert.equal(good.warnings, undefined);
    assert.equal((await fetch(`${server.url}/ready`)).status, 200);
  } finally {
    await server.dispose();
  }
});

test('scans in worker threads report a corrupt block as a warning too', async () => {
  const dir = await makeTempDir('store-corrupt-workers');
  try {
    const options = testOptions(dir.path);
    let store = await openStore(options);
    await fill(store);
    const [bad] = await store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'job', type: '=', value: 'bad' }], ...ALL_TIME });
    await store.close();
    await flipByte(await partFile(dir.path, '.data'), bad!.location!.offset + 20);
    store = await openStore(options);
    try {
      const engine = createEngine(store, { workerThreads: 2, parallelScanMinRawBytes: 0 });
      const atNs = DAY_START_NS + 3_600_000_000_000n;
      const base = { tenant: 'fake', startNs: atNs, endNs: atNs, stepMs: 0, intervalMs: 0, limit: 1000, direction: 'backward' as const, instant: true };
      const metric = await engine.query({ ...base, query: 'sum by (job) (count_over_time({job=~".+"}[2h]))' });
      assert.deepEqual(metric.resultType === 'vector' && metric.samples.map((sample) => [sample.labels.job, sample.value]), [['good', 300]]);
      assert.equal(metric.warnings?.length, 1);
      assert.match(metric.warnings![0]!, /the block of stream \{job="bad"\} at byte \d+ is unreadable/);
      const logs = await engine.query({ ...base, query: '{job=~".+"}', startNs: DAY_START_NS, instant: false });
      assert.deepEqual(logs.resultType === 'streams' && logs.streams.map((stream) => [stream.labels.job, stream.entries.length]), [['good', 300]]);
      assert.deepEqual(logs.warnings, metric.warnings);
    } finally {
      await store.close();
    }
  } finally {
    await dir.remove();
  }
});

test('a part index found corrupt answers queries over its day with 200, the data of the other parts and a warning naming the part', async () => {
  const dir = await makeTempDir('store-corrupt-index-query');
  try {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const firstNs = nowNs - 60_000_000_000n;
    const day = new Date(Number(firstNs / 1_000_000n)).toISOString().slice(0, 10);
    const partsDir = join(dir.path, 'objects', 'tenants', 'fake', day, 'parts');
    // Two parts: 'good' in the first, 'bad' in the second, whose index the test then damages.
    const store = await openStore(testOptions(dir.path));
    let badPartId = '';
    for (const job of ['good', 'bad']) {
      await store.append('fake', [{ labels: { job }, entries: Array.from({ length: 200 }, (_, i) => ({ timestampNs: firstNs + BigInt(i), line: `${job} line ${i}` })) }]);
      const before = new Set(await readdir(partsDir).catch(() => []));
      await store.flush();
      badPartId = (await readdir(partsDir)).find((name) => !before.has(name) && name.endsWith('.index'))!.slice(0, -'.index'.length);
    }
    await store.close();
    await flipByte(join(partsDir, `${badPartId}.index`), 20);

    const server = await startServer({ server: { listen: '127.0.0.1:0', log_level: 'error' }, store: { data_dir: dir.path }, ruler: { enabled: false }, ui: { enabled: false } });
    try {
      const isWarning = (warnings: unknown): boolean =>
        Array.isArray(warnings) && warnings.length === 1 && String(warnings[0]).includes(`part ${badPartId}`) && /index is unreadable/.test(String(warnings[0]));
      await assertGoodOnlyWithWarning(server.url, firstNs, nowNs, isWarning);

      // Scan workers see the same warning; a query over another day sees none.
      const engine = createEngine(server.store, { workerThreads: 2, parallelScanMinRawBytes: 0 });
      const base = { tenant: 'fake', startNs: nowNs, endNs: nowNs, stepMs: 0, intervalMs: 0, limit: 1000, direction: 'backward' as const, instant: true };
      const offloaded = await engine.query({ ...base, query: 'sum by (job) (count_over_time({job=~".+"}[1h]))' });
      assert.deepEqual(offloaded.resultType === 'vector' && offloaded.samples.map((sample) => [sample.labels.job, sample.value]), [['good', 200]]);
      assert.ok(isWarning(offloaded.warnings), JSON.stringify(offloaded.warnings));
      const threeDaysAgoNs = nowNs - 3n * 86_400_000_000_000n;
      const otherDay = await engine.query({ ...base, startNs: threeDaysAgoNs, endNs: threeDaysAgoNs, query: 'count_over_time({job=~".+"}[1h])' });
      assert.equal(otherDay.warnings, undefined);
      assert.equal((await fetch(`${server.url}/ready`)).status, 200);
    } finally {
      await server.close();
    }
  } finally {
    await dir.remove();
  }
});

test('a data object gone from the object store loads as an unreadable block with a warning, not an error', async () => {
  const dir = await makeTempDir('store-missing-data');
  try {
    const options = testOptions(dir.path);
    const store = await openStore(options);
    try {
      await fill(store);
      await rm(await partFile(dir.path, '.data'));
      const refs = await store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'job', type: '=~', value: '.+' }], ...ALL_TIME });
      const loaded = await Promise.all(refs.map((ref) => ref.load()));
      assert.ok(loaded.length > 0 && loaded.every((block) => block.timestampsNs.length === 0 && /object not found/.test(block.unreadable?.[0] ?? '')), JSON.stringify(loaded.map((block) => block.unreadable)));
    } finally {
      await store.close();
    }
  } finally {
    await dir.remove();
  }
});
