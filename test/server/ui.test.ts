import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer } from './test-server.ts';

test('the built UI is served at /, client routes fall back to index.html, API misses stay 404', async () => {
  const dist = mkdtempSync(join(tmpdir(), 'rankscope-ui-'));
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>rankscope ui</title>');
  writeFileSync(join(dist, 'assets', 'app-1234.js'), 'console.log("app")');
  const server = await startTestServer({ ui: { enabled: true, dist_dir: dist } });
  try {
    const index = await fetch(`${server.url}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await index.text(), /rankscope ui/);
    const asset = await fetch(`${server.url}/assets/app-1234.js`);
    assert.equal(await asset.text(), 'console.log("app")');
    const clientRoute = await fetch(`${server.url}/explore?query=%7Bjob%3D%22x%22%7D`);
    assert.equal(clientRoute.status, 200);
    assert.match(await clientRoute.text(), /rankscope ui/);
    assert.equal((await fetch(`${server.url}/assets/missing.js`)).status, 404);
    const apiMiss = await fetch(`${server.url}/loki/api/v1/nope`);
    assert.equal(apiMiss.status, 404);
    assert.doesNotMatch(await apiMiss.text(), /rankscope ui/);
  } finally {
    await server.dispose();
    rmSync(dist, { recursive: true, force: true });
  }
});

test('without a built UI, / explains how to build it and the API still works', async () => {
  const server = await startTestServer({ ui: { enabled: true, dist_dir: join(tmpdir(), 'rankscope-no-such-ui-dir') } });
  try {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /web UI has not been built.*scripts\/build-web\.mjs/s);
    assert.equal((await fetch(`${server.url}/ready`)).status, 200);
  } finally {
    await server.dispose();
  }
});
