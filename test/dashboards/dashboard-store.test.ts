// Dashboards kept per tenant as JSON files: save, list, overwrite with versions, delete, built-ins
// read-only, what a restart reads back, and a broken file left out (and reported) rather than
// hiding the others.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DashboardStore, DashboardStoreError } from '../../src/dashboards/dashboard-store.ts';
import { DashboardError } from '../../src/dashboards/grafana-import.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-dashboards-'));
  dirs.push(dir);
  return dir;
}

const refusedWith = (reason: string) => (error: unknown) => error instanceof DashboardStoreError && error.reason === reason;

test('save, list, get, overwrite and delete, per tenant, beside the built-ins', () => {
  const dataDir = freshDir();
  const store = new DashboardStore({ dataDir });
  assert.deepEqual(
    store.list('a').map((entry) => [entry.uid, entry.builtIn]),
    [
      ['rankscope-cluster', true],
      ['rankscope-inference', true],
      ['rankscope-training-run', true],
    ],
  );
  const saved = store.save('a', { title: 'Mine', uid: 'mine', id: 7, panels: [{ type: 'stat', id: 1, targets: [{ expr: 'up' }] }], custom_field: { kept: true } }, { overwrite: false });
  assert.deepEqual([saved.json.uid, saved.json.version, saved.json.id], ['mine', 1, null]);
  assert.deepEqual(store.list('a').find((entry) => entry.uid === 'mine'), { uid: 'mine', title: 'Mine', tags: [], builtIn: false, panels: 1, version: 1, updatedMs: saved.updatedMs });
  assert.equal(store.list('b').find((entry) => entry.uid === 'mine'), undefined, 'another tenant does not see it');
  assert.throws(() => store.get('b', 'mine'), refusedWith('not_found'));

  assert.throws(() => store.save('a', { title: 'Again', uid: 'mine' }, { overwrite: false }), refusedWith('exists'));
  const second = store.save('a', { title: 'Mine v2', uid: 'mine' }, { overwrite: true });
  assert.equal(second.json.version, 2);
  assert.equal(store.get('a', 'mine').json.title, 'Mine v2');

  const generated = store.save('a', { title: 'No uid' }, { overwrite: false });
  assert.match(String(generated.json.uid), /^[A-Za-z0-9]{14}$/);

  store.delete('a', 'mine');
  assert.throws(() => store.get('a', 'mine'), refusedWith('not_found'));
  assert.throws(() => store.delete('a', 'mine'), refusedWith('not_found'));
  assert.deepEqual(readdirSync(join(dataDir, 'dashboards', 'a')), [`${String(generated.json.uid)}.json`], 'no temporary files stay behind');
});

test('built-ins cannot be replaced or deleted; their copies can be saved under another uid', () => {
  const store = new DashboardStore({ dataDir: freshDir() });
  const builtin = store.get('a', 'rankscope-cluster');
  assert.equal(builtin.builtIn, true);
  assert.throws(() => store.save('a', builtin.json, { overwrite: true }), refusedWith('read_only'));
  assert.throws(() => store.save('a', { ...builtin.json, uid: 'rankscope-mine' }, { overwrite: true }), refusedWith('read_only'), 'the prefix is reserved');
  assert.throws(() => store.delete('a', 'rankscope-cluster'), refusedWith('read_only'));
  const copy = store.save('a', { ...builtin.json, uid: undefined, title: 'Cluster (copy)' }, { overwrite: false });
  assert.notEqual(copy.json.uid, 'rankscope-cluster');
  // get hands out copies: editing one does not change the built-in.
  (builtin.json as { title: string }).title = 'changed';
  assert.equal(store.get('a', 'rankscope-cluster').json.title, 'Cluster');
});

test('an invalid dashboard is refused with its JSON path, and nothing is written', () => {
  const dataDir = freshDir();
  const store = new DashboardStore({ dataDir });
  assert.throws(
    () => store.save('a', { title: 'x', panels: [{ type: 'stat', gridPos: { x: 0, y: 0, w: 0, h: 1 } }] }, { overwrite: false }),
    (error: unknown) => error instanceof DashboardError && error.path === 'panels[0].gridPos.w',
  );
  assert.deepEqual(store.list('a').filter((entry) => !entry.builtIn), []);
});

test('a new store reads back what was saved; a broken file is reported and left out', () => {
  const dataDir = freshDir();
  new DashboardStore({ dataDir }).save('t1', { title: 'Kept', uid: 'kept', panels: [] }, { overwrite: false });
  const tenantDir = join(dataDir, 'dashboards', 't1');
  assert.equal(JSON.parse(readFileSync(join(tenantDir, 'kept.json'), 'utf8')).title, 'Kept', 'the file is the Grafana JSON itself');
  writeFileSync(join(tenantDir, 'broken.json'), '{"title": "half');
  writeFileSync(join(tenantDir, 'renamed.json'), JSON.stringify({ title: 'Wrong name', uid: 'other' }));
  const reported: string[] = [];
  const reopened = new DashboardStore({ dataDir, onUnreadable: (path, error) => reported.push(`${path.slice(tenantDir.length + 1)}: ${error.message}`) });
  assert.deepEqual(
    reopened
      .list('t1')
      .filter((entry) => !entry.builtIn)
      .map((entry) => [entry.uid, entry.version]),
    [['kept', 1]],
  );
  assert.equal(reported.length, 2);
  assert.match(reported.sort()[0]!, /^broken\.json: /);
  assert.match(reported[1]!, /^renamed\.json: uid: the file is named for uid "renamed" but holds "other"$/);
  assert.equal(reopened.save('t1', { title: 'Kept 2', uid: 'kept' }, { overwrite: true }).json.version, 2, 'versions continue after a restart');
});
