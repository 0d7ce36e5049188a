// A real Prometheus (Debian's binary) scrapes a target served by this test and remote_writes to
// replica A of a three-replica cluster; PromQL on replica B returns what Prometheus itself holds:
// the same series, and the same values at the same timestamps, also after POST /flush moved them
// into blocks in the shared object store.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningServer } from '../../src/server/server.ts';
import { PROMETHEUS_MISSING, startPrometheus, type PrometheusPeer } from '../support/prometheus-peer.ts';
import { startNats, type NatsCluster } from './nats-fixture.ts';
import { startReplicas } from './replicas-fixture.ts';

let dir: string;
let nats: NatsCluster;
let replicas: RunningServer[] = [];
let target: Server;
let prometheus: PrometheusPeer | undefined;
let scrapes = 0;

type Matrix = Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;

async function matrix(url: string, query: string, atSeconds: number): Promise<Matrix> {
  const body = (await (await fetch(`${url}/api/v1/query?${new URLSearchParams({ query, time: String(atSeconds) })}`)).json()) as { status: string; data: { result: Matrix } };
  assert.equal(body.status, 'success', JSON.stringify(body));
  return body.data.result;
}

/** `labels → "t=v …"`, comparable between Prometheus and us. */
function flatten(result: Matrix): Record<string, string> {
  const out: Record<string, string> = {};
  for (const series of result) out[JSON.stringify(Object.entries(series.metric).sort())] = series.values.map(([t, v]) => `${t}=${v}`).join(' ');
  return out;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rankscope-cluster-prometheus-'));
  nats = await startNats(join(dir, 'nats'), 1);
  replicas = await startReplicas(dir, nats, 3, 4);
  target = createServer((_request, response) => {
    scrapes++;
    response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    response.end(['# TYPE gpu_util gauge', ...[0, 1, 2, 3, 4, 5, 6, 7].map((gpu) => `gpu_util{gpu="${gpu}"} ${(scrapes * (gpu + 1)) % 100}`), '# TYPE steps_total counter', `steps_total ${scrapes * 10}`, ''].join('\n'));
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  if (PROMETHEUS_MISSING !== false) return;
  prometheus = await startPrometheus(
    [
      'global: { scrape_interval: 1s }',
      'scrape_configs:',
      '  - job_name: target',
      `    static_configs: [{ targets: ['127.0.0.1:${(target.address() as AddressInfo).port}'] }]`,
      'remote_write:',
      `  - url: ${replicas[0]!.url}/api/v1/write`,
      '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms }',
      '',
    ].join('\n'),
  );
});

after(async () => {
  await prometheus?.stop();
  target?.close();
  for (const replica of replicas) await replica.close().catch(() => undefined);
  await nats?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

test('Prometheus remote_writes to replica A; PromQL on replica B returns the samples Prometheus holds', { timeout: 120_000, skip: PROMETHEUS_MISSING }, async () => {
  const wait = <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => prometheus!.waitFor(what, probe);
  // A window Prometheus has scraped at least 5 times, ending before now, so it is complete on both sides.
  const atSeconds = await wait('five scrapes in Prometheus', async () => {
    const result = await matrix(prometheus!.url, 'steps_total[1h]', Date.now() / 1000);
    const values = result[0]?.values ?? [];
    return values.length >= 5 ? values[values.length - 1]![0] : undefined;
  });
  const query = '{job="target", __name__=~"gpu_util|steps_total|up"}[1h]';
  const theirs = flatten(await matrix(prometheus!.url, query, atSeconds));
  assert.equal(Object.keys(theirs).length, 10, 'eight GPUs, the counter and up');
  // Remote write lags the scrape by up to its batch deadline: wait until replica B has the window.
  await wait('the same samples on replica B', async () => (JSON.stringify(flatten(await matrix(replicas[1]!.url, query, atSeconds))) === JSON.stringify(theirs) ? true : undefined)).catch(() => undefined);
  assert.deepEqual(flatten(await matrix(replicas[1]!.url, query, atSeconds)), theirs);

  // After a cluster-wide flush the samples come from blocks in the object store: still the same.
  assert.equal((await fetch(`${replicas[2]!.url}/flush`, { method: 'POST' })).status, 204);
  assert.deepEqual(flatten(await matrix(replicas[1]!.url, query, atSeconds)), theirs);
});
