// The Pushgateway in cluster mode, three replicas in one process over one real nats-server: a group
// pushed to one replica is listed by another and queryable by PromQL on a third; the consistency
// check spans groups pushed through different replicas (400, push_failure_time_seconds); POST and
// DELETE behave as single-node; the groups survive the holder replica going away.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningServer } from '../../src/server/server.ts';
import { pollUntil } from '../support/peers.ts';
import { startNats, type NatsCluster } from './nats-fixture.ts';
import { leaseHolders, startReplicas } from './replicas-fixture.ts';

interface GroupJson {
  labels: Record<string, string>;
  push_time_seconds: { metrics: Array<{ value: string }> };
  push_failure_time_seconds: { metrics: Array<{ value: string }> };
  [family: string]: unknown;
}

async function send(url: string, method: string, path: string, body = ''): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'text/plain; version=0.0.4' }, ...(method === 'DELETE' ? {} : { body }) });
  return { status: response.status, text: await response.text() };
}

async function groups(url: string): Promise<GroupJson[]> {
  const body = (await (await fetch(`${url}/api/v1/metrics`)).json()) as { status: string; data: GroupJson[] };
  assert.equal(body.status, 'success');
  return body.data;
}

async function instant(url: string, query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const body = (await (await fetch(`${url}/api/v1/query?${new URLSearchParams({ query })}`)).json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  return body.data.result;
}

describe('cluster mode Pushgateway, three replicas in one process', () => {
  let dir: string;
  let nats: NatsCluster;
  const replicas: RunningServer[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rankscope-cluster-pushgateway-'));
    nats = await startNats(join(dir, 'nats'), 1);
    replicas.push(...(await startReplicas(dir, nats, 3, 3, { pushgateway: { sample_interval: '500ms' } })));
    await leaseHolders(nats, (holders) => holders.has('singleton.pushgateway'), 'a Pushgateway holder');
  });

  after(async () => {
    for (const replica of replicas) await replica.close().catch(() => undefined);
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a group pushed to one replica is listed by another and queryable on a third', async () => {
    const pushed = await send(replicas[0]!.url, 'PUT', '/metrics/job/train/instance/node-1', '# TYPE train_loss gauge\ntrain_loss{rank="0"} 2.5\ntrain_loss{rank="1"} 2.25\n');
    assert.equal(pushed.status, 200, pushed.text);
    const listed = (await groups(replicas[1]!.url)).find((group) => group.labels.job === 'train');
    assert.deepEqual(listed?.labels, { job: 'train', instance: 'node-1' });
    assert.ok(Number(listed.push_time_seconds.metrics[0]!.value) > 0, 'push_time_seconds set');
    // The 200 came after the samples were acknowledged by the cluster WAL: no polling needed.
    const losses = await instant(replicas[2]!.url, 'train_loss{job="train"}');
    assert.deepEqual(losses.map((sample) => [sample.metric.rank, sample.metric.instance, sample.value[1]]).sort(), [['0', 'node-1', '2.5'], ['1', 'node-1', '2.25']]);
    const pushTime = await instant(replicas[1]!.url, 'push_time_seconds{job="train"}');
    assert.equal(pushTime.length, 1);
  });

  test('the consistency check spans groups pushed through different replicas: 400 and push_failure_time_seconds', async () => {
    assert.equal((await send(replicas[1]!.url, 'PUT', '/metrics/job/a', '# TYPE shared_metric counter\nshared_metric 1\n')).status, 200);
    const refused = await send(replicas[2]!.url, 'PUT', '/metrics/job/b', '# TYPE shared_metric gauge\nshared_metric 2\n');
    assert.equal(refused.status, 400);
    assert.match(refused.text, /pushed metrics are invalid or inconsistent with existing metrics/);
    const failed = (await groups(replicas[0]!.url)).find((group) => group.labels.job === 'b');
    assert.ok(failed !== undefined, 'the refused push created its group');
    assert.ok(Number(failed.push_failure_time_seconds.metrics[0]!.value) > 0, 'push_failure_time_seconds set');
    assert.equal(Number(failed.push_time_seconds.metrics[0]!.value), 0);
    const bad = await send(replicas[0]!.url, 'PUT', '/metrics/job/c', 'not exposition {{{\n');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /text format parsing error/);
  });

  test('POST replaces only the families it carries; DELETE through any replica removes the group', async () => {
    assert.equal((await send(replicas[2]!.url, 'PUT', '/metrics/job/multi', '# TYPE m_one gauge\nm_one 1\n# TYPE m_two gauge\nm_two 2\n')).status, 200);
    assert.equal((await send(replicas[0]!.url, 'POST', '/metrics/job/multi', '# TYPE m_two gauge\nm_two 20\n')).status, 200);
    const group = (await groups(replicas[1]!.url)).find((candidate) => candidate.labels.job === 'multi')!;
    assert.ok(group.m_one !== undefined && group.m_two !== undefined, 'both families kept');
    assert.deepEqual((await instant(replicas[0]!.url, 'm_two{job="multi"}')).map((sample) => sample.value[1]), ['20']);
    assert.equal((await send(replicas[1]!.url, 'DELETE', '/metrics/job/multi')).status, 202);
    assert.equal((await groups(replicas[2]!.url)).some((candidate) => candidate.labels.job === 'multi'), false);
  });

  test('the groups survive the holder going away: another replica takes the lease and the state from the bucket', async () => {
    const holders = await leaseHolders(nats, (found) => found.has('singleton.pushgateway'), 'the Pushgateway holder');
    const holderIndex = Number(holders.get('singleton.pushgateway')!.replace('replica-', ''));
    const [holder] = replicas.splice(holderIndex, 1);
    await holder!.close();
    const survivor = replicas[0]!;
    const found = await pollUntil('the groups from the new holder', async () => {
      const listed = await groups(survivor.url).catch(() => undefined);
      return listed !== undefined && listed.some((group) => group.labels.job === 'train') ? listed : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    const train = found.find((group) => group.labels.job === 'train')!;
    assert.deepEqual(train.labels, { job: 'train', instance: 'node-1' });
    assert.ok(found.some((group) => group.labels.job === 'b' && Number(group.push_failure_time_seconds.metrics[0]!.value) > 0), 'failure times kept');
    assert.equal(found.some((group) => group.labels.job === 'multi'), false, 'the deleted group stays deleted');
    // The consistency check still knows the old groups.
    assert.equal((await send(survivor.url, 'PUT', '/metrics/job/d', '# TYPE shared_metric gauge\nshared_metric 3\n')).status, 400);
  });
});
