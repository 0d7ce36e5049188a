// The dashboards API on a real server with tenants on: import a Grafana dashboard (bare and in
// Grafana's {dashboard, overwrite} body), read it with its view, export it for Grafana, replace,
// delete; the status codes Grafana uses; tenants apart; saved dashboards survive a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestServer, type TestServer } from './test-server.ts';
import type { JsonObject } from '../../src/dashboards/grafana-import.ts';

const fixtureText = readFileSync(new URL('../dashboards/fixtures/grafana-gpu-nodes.json', import.meta.url), 'utf8');
let server: TestServer;

before(async () => {
  server = await startTestServer({ auth_enabled: true });
});
after(async () => {
  await server?.dispose();
});

async function call(method: string, path: string, options: { tenant?: string; body?: unknown; raw?: string } = {}): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const headers: Record<string, string> = { 'X-Scope-OrgID': options.tenant ?? 'team-a' };
  if (options.body !== undefined || options.raw !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${server.url}${path}`, { method, headers, body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain-text errors
  }
  return { status: response.status, body, text, headers: response.headers };
}

test('import a Grafana dashboard, read its view, export it for Grafana unchanged', async () => {
  const created = await call('POST', '/api/dashboards/db', { body: { dashboard: JSON.parse(fixtureText), overwrite: false, folderUid: '', message: 'from Grafana' } });
  assert.equal(created.status, 200, created.text);
  assert.deepEqual(created.body, { status: 'success', id: null, uid: 'gpu-nodes-7f3a', version: 1, url: '/?view=dashboards&uid=gpu-nodes-7f3a', title: 'GPU nodes' });

  const list = (await call('GET', '/api/dashboards')).body as { dashboards: Array<{ uid: string; builtIn: boolean; panels: number }> };
  assert.deepEqual(
    list.dashboards.map((entry) => [entry.uid, entry.builtIn]),
    [
      ['rankscope-cluster', true],
      ['rankscope-inference', true],
      ['rankscope-training-run', true],
      ['gpu-nodes-7f3a', false],
    ],
  );
  assert.equal(list.dashboards[3]!.panels, 10, 'panels, rows not counted');

  const read = await call('GET', '/api/dashboards/uid/gpu-nodes-7f3a');
  assert.equal(read.status, 200);
  const { dashboard, meta, view } = read.body as { dashboard: JsonObject; meta: JsonObject; view: { panels: Array<{ id: number; kind: string; type: string }> } };
  assert.equal(meta.builtIn, false);
  assert.equal(meta.canSave, true);
  assert.deepEqual(
    view.panels.filter((panel) => panel.kind === 'unsupported').map((panel) => panel.type),
    ['piechart'],
  );
  assert.equal(dashboard.version, 1, 'a new dashboard starts at version 1, as in Grafana');

  const exported = await call('GET', '/api/dashboards/uid/gpu-nodes-7f3a/export');
  assert.equal(exported.status, 200);
  assert.equal(exported.headers.get('content-disposition'), 'attachment; filename="gpu-nodes.json"');
  const original = JSON.parse(fixtureText) as JsonObject;
  assert.deepEqual({ ...(exported.body as JsonObject), id: original.id, version: original.version }, original, 'every field of the import comes back');
});

test('the uid exists: 412 unless overwrite; PUT replaces; DELETE removes; 404 after', async () => {
  const dashboard = { title: 'Scratch', uid: 'scratch', panels: [] };
  assert.equal((await call('POST', '/api/dashboards', { body: dashboard })).status, 200);
  const again = await call('POST', '/api/dashboards', { body: dashboard });
  assert.equal(again.status, 412);
  assert.match(again.text, /a dashboard with uid "scratch" exists already \("Scratch"\): set overwrite to replace it/);
  const overwritten = await call('POST', '/api/dashboards/db', { body: { dashboard: { ...dashboard, title: 'Scratch 2' }, overwrite: true } });
  assert.equal((overwritten.body as { version: number }).version, 2);
  const put = await call('PUT', '/api/dashboards/uid/scratch', { body: { title: 'Scratch 3', panels: [{ type: 'logs', targets: [{ expr: '{job="x"}' }] }] } });
  assert.equal(put.status, 200, put.text);
  assert.equal(((await call('GET', '/api/dashboards/uid/scratch')).body as { dashboard: JsonObject }).dashboard.title, 'Scratch 3');
  assert.equal((await call('PUT', '/api/dashboards/uid/scratch', { body: { title: 'x', uid: 'other' } })).status, 400);
  assert.equal((await call('PUT', '/api/dashboards/uid/missing', { body: { title: 'x' } })).status, 404);
  const deleted = await call('DELETE', '/api/dashboards/uid/scratch');
  assert.deepEqual(deleted.body, { title: 'Scratch 3', message: 'dashboard "Scratch 3" deleted' });
  assert.equal((await call('GET', '/api/dashboards/uid/scratch')).status, 404);
});

test('bad input gets a 4xx saying what and where', async () => {
  const cases: Array<[method: string, path: string, body: { body?: unknown; raw?: string }, status: number, message: RegExp]> = [
    ['POST', '/api/dashboards/db', { body: { dashboard: { title: 'x', panels: [{ type: 'stat', gridPos: { w: 99 } }] } } }, 400, /^invalid dashboard: panels\[0\]\.gridPos\.w: expected a whole number from 1 to 24, got 99$/],
    ['POST', '/api/dashboards/db', { body: [1, 2] }, 400, /^the body must be a JSON object/],
    ['POST', '/api/dashboards/db', { raw: '{"title": ' }, 400, /JSON/],
    ['POST', '/api/dashboards/db', { body: { title: '' } }, 400, /title: a dashboard needs a non-empty title/],
    ['GET', '/api/dashboards/uid/bad%20uid', {}, 400, /^invalid uid "bad uid"/],
    ['GET', '/api/dashboards/uid/nope', {}, 404, /^dashboard "nope" not found$/],
    ['DELETE', '/api/dashboards/uid/rankscope-cluster', {}, 403, /built-in dashboard and cannot be deleted/],
    ['POST', '/api/dashboards/db', { body: { dashboard: { title: 'x', uid: 'rankscope-inference' }, overwrite: true } }, 403, /belongs to a built-in dashboard/],
  ];
  for (const [method, path, body, status, message] of cases) {
    const answer = await call(method, path, body);
    assert.equal(answer.status, status, `${method} ${path}: ${answer.text}`);
    assert.match(answer.text, message, `${method} ${path}`);
  }
  const noTenant = await fetch(`${server.url}/api/dashboards`);
  assert.equal(noTenant.status, 401);
});

test('tenants do not see each other’s dashboards; every tenant has the built-ins with their views', async () => {
  assert.equal((await call('POST', '/api/dashboards', { tenant: 'team-b', body: { title: 'B only', uid: 'b-only' } })).status, 200);
  assert.equal((await call('GET', '/api/dashboards/uid/b-only', { tenant: 'team-a' })).status, 404);
  assert.equal((await call('GET', '/api/dashboards/uid/b-only', { tenant: 'team-b' })).status, 200);
  for (const uid of ['rankscope-training-run', 'rankscope-inference', 'rankscope-cluster']) {
    const read = await call('GET', `/api/dashboards/uid/${uid}`, { tenant: 'team-b' });
    assert.equal(read.status, 200);
    const { meta, view } = read.body as { meta: JsonObject; view: { panels: unknown[] } };
    assert.equal(meta.builtIn, true);
    assert.ok(view.panels.length > 5);
  }
});

test('saved dashboards survive a restart', async () => {
  assert.equal((await call('POST', '/api/dashboards', { body: { title: 'Durable', uid: 'durable' } })).status, 200);
  await server.close();
  const restarted = await startTestServer({ auth_enabled: true, store: { data_dir: server.dataDir } });
  try {
    const response = await fetch(`${restarted.url}/api/dashboards/uid/durable`, { headers: { 'X-Scope-OrgID': 'team-a' } });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { dashboard: JsonObject }).dashboard.title, 'Durable');
  } finally {
    await restarted.close();
  }
});
