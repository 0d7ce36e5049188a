// A real client library pushes to rankscope: Debian's python3-prometheus-client, with
// push_to_gateway (PUT), pushadd_to_gateway (POST) and delete_from_gateway (DELETE), a grouping key
// with a `/` in a value (the client sends it in base64). Then the groups survive a restart.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, type RunningServer } from '../../src/server/server.ts';

const run = promisify(execFile);
/** Debian's interpreter: python3-prometheus-client is installed for it, not for a pyenv one on PATH. */
const PYTHON = '/usr/bin/python3';
let server: RunningServer;
let dataDir: string;
let clientMissing: string | false = false;

function config(dir: string) {
  return { server: { listen: '127.0.0.1:0', log_level: 'error' as const }, store: { data_dir: dir }, ruler: { enabled: false }, ui: { enabled: false }, pushgateway: { sample_interval: '200ms' } };
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'rankscope-pushgateway-client-'));
  server = await startServer(config(dataDir));
  try {
    await run(PYTHON, ['-c', 'import prometheus_client']);
  } catch {
    clientMissing = 'python3-prometheus-client is not installed';
  }
});

after(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function python(code: string): Promise<void> {
  const prelude = ['from prometheus_client import CollectorRegistry, Gauge, Counter, push_to_gateway, pushadd_to_gateway, delete_from_gateway', `url = ${JSON.stringify(server.url)}`, ''].join('\n');
  await run(PYTHON, ['-c', prelude + code], { timeout: 20_000 });
}

type Group = Record<string, { metrics?: Array<{ labels: Record<string, string>; value: string }> }> & { labels: Record<string, string> };

async function groups(): Promise<Group[]> {
  return ((await (await fetch(`${server.url}/api/v1/metrics`)).json()) as { data: Group[] }).data;
}

test('push_to_gateway, pushadd_to_gateway and delete_from_gateway from the Python client; groups survive a restart', async (t) => {
  if (clientMissing !== false) return t.skip(clientMissing);
  await python(
    [
      'r = CollectorRegistry()',
      "g = Gauge('train_loss', 'Last loss.', ['rank'], registry=r)",
      "g.labels('0').set(1.5)",
      "g.labels('1').set(2.5)",
      "push_to_gateway(url, job='trainer', registry=r, grouping_key={'run': 'exp/7'})",
      'r2 = CollectorRegistry()',
      "c = Counter('train_steps', 'Steps done.', registry=r2)",
      'c.inc(100)',
      "pushadd_to_gateway(url, job='trainer', registry=r2, grouping_key={'run': 'exp/7'})",
      'r3 = CollectorRegistry()',
      "Gauge('other_value', 'x', registry=r3).set(1)",
      "push_to_gateway(url, job='other', registry=r3)",
    ].join('\n'),
  );
  let trainer = (await groups()).find((group) => group.labels.job === 'trainer');
  assert.ok(trainer !== undefined);
  assert.deepEqual(trainer.labels, { job: 'trainer', run: 'exp/7' });
  assert.deepEqual(
    trainer.train_loss!.metrics!.map((metric) => [metric.labels.rank, metric.value]).sort(),
    [
      ['0', '1.5'],
      ['1', '2.5'],
    ],
  );
  assert.equal(trainer.train_steps_total!.metrics![0]!.value, '100', 'pushadd kept train_loss and added the counter');
  const query = await (await fetch(`${server.url}/api/v1/query?query=${encodeURIComponent('train_loss{job="trainer",run="exp/7"}')}`)).json();
  assert.equal((query as { data: { result: unknown[] } }).data.result.length, 2);

  await python("delete_from_gateway(url, job='other')");
  assert.ok(!(await groups()).some((group) => group.labels.job === 'other'), 'delete_from_gateway removed the group');

  await server.close();
  server = await startServer(config(dataDir));
  trainer = (await groups()).find((group) => group.labels.job === 'trainer');
  assert.ok(trainer !== undefined, 'the group is back after a restart');
  assert.equal(trainer.train_steps_total!.metrics![0]!.value, '100');
  assert.ok(!(await groups()).some((group) => group.labels.job === 'other'));
});
