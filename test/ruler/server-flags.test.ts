// `rankscope server --rules-dir DIR --alertmanager-url URL…` as a real child process: the rules in DIR
// run, a rule file added later is picked up without a restart, and both Alertmanagers given on the
// command line receive the alert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startListener } from './support/http-listener.ts';
import { until } from '../support/until.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'rankscope.js');

test('--rules-dir and repeated --alertmanager-url configure the ruler', async () => {
  const root = mkdtempSync(join(tmpdir(), 'rankscope-flags-'));
  // Two stand-in Alertmanagers: local listeners that record what is POSTed to /api/v2/alerts.
  const first = await startListener();
  const second = await startListener();
  const rulesDir = join(root, 'rules');
  mkdirSync(rulesDir);
  writeFileSync(
    join(rulesDir, 'always.yaml'),
    'groups:\n  - name: always\n    interval: 1s\n    rules:\n      - alert: AlwaysOn\n        expr: vector(1)\n        labels:\n          severity: info\n',
  );
  const child = spawn(
    process.execPath,
    [bin, 'server', '--listen', '127.0.0.1:0', '--data-dir', join(root, 'data'), '--rules-dir', rulesDir, '--alertmanager-url', first.url, '--alertmanager-url', second.url],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const url = await until('the ready line', async () => /ready on (http:\/\/[^\s]+)/.exec(stdout)?.[1], 20_000).catch((error: Error) => {
      throw new Error(`${error.message}\nstdout: ${stdout}\nstderr: ${stderr}`);
    });
    for (const listener of [first, second]) {
      const request = await listener.waitFor((r) => r.path === '/api/v2/alerts', 10_000);
      const alerts = request.body as Array<{ labels: Record<string, string>; startsAt: string; endsAt: string }>;
      assert.deepEqual(alerts[0]!.labels, { alertname: 'AlwaysOn', severity: 'info' });
      assert.ok(Date.parse(alerts[0]!.endsAt) > Date.now(), 'a firing alert ends in the future');
    }

    writeFileSync(join(rulesDir, 'later.yaml'), 'groups:\n  - name: later\n    rules:\n      - record: one\n        expr: vector(1)\n');
    await until('the new file to load', async () => {
      const body = (await (await fetch(`${url}/prometheus/api/v1/rules`)).json()) as { data: { groups: Array<{ name: string }> } };
      return body.data.groups.some((g) => g.name === 'later') ? true : undefined;
    });
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    await first.close();
    await second.close();
    rmSync(root, { recursive: true, force: true });
  }
});
