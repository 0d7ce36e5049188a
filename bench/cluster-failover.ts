// What clients see when a NATS node dies under a running cluster: 3 nats-server nodes (R3), 3
// rankscope replica processes (tsdb off, 6 partitions, --ttl-ms lease TTL, request_timeout 8s), a
// probe per replica pushing a line every 100 ms and running a query every 200 ms. One NATS node is
// SIGKILLed; the timeline of failed/recovered pushes and queries and of the replicas' cluster log
// lines follows, then the seconds each kind of request failed.
//   node_modules/.bin/node bench/cluster-failover.ts [--ttl-ms 3000] [--node 1] [--observe-s 30]
// Figures: docs/cluster.md ("NATS node failover").

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BIN, NODE } from '../test/cli/server-process.ts';
import { startNats } from '../test/cluster/nats-fixture.ts';

const { values } = parseArgs({ options: { 'ttl-ms': { type: 'string', default: '3000' }, node: { type: 'string', default: '1' }, 'observe-s': { type: 'string', default: '30' } } });
const dir = mkdtempSync(join(tmpdir(), 'rankscope-cluster-failover-'));
const nats = await startNats(join(dir, 'nats'), 3);
let killedAtMs = 0;
const timeline: string[] = [];
const note = (text: string): void => void timeline.push(`${((Date.now() - killedAtMs) / 1000).toFixed(2)} s  ${text}`);
const urls: string[] = [];
const children: Array<ReturnType<typeof spawn>> = [];
try {
  for (let i = 0; i < 3; i++) {
    const file = join(dir, `replica-${i}.yaml`);
    const config = ['ui: { enabled: false }', 'training: { enabled: false }', 'ruler: { enabled: false }', 'tsdb: { enabled: false }', `store: { data_dir: ${JSON.stringify(join(dir, `replica-${i}`))} }`, 'cluster:', '  enabled: true'];
    config.push(`  nats_urls: ${JSON.stringify(nats.urls)}`, `  replica_id: replica-${i}`, '  partitions: 6', '  replicas: 3', `  lease_ttl: ${values['ttl-ms']}ms`, '  commit_interval: 1s', '  request_timeout: 8s', `  shared_directory: ${JSON.stringify(join(dir, 'shared'))}`);
    writeFileSync(file, config.join('\n') + '\n');
    const child = spawn(NODE, [BIN, 'server', '--listen', '127.0.0.1:0', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    urls.push(
      await new Promise<string>((resolve) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /ready on (http:\/\/\S+)/.exec(out);
          if (match !== null) resolve(match[1]!);
        });
      }),
    );
    let pending = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (killedAtMs > 0 && line.startsWith('rankscope cluster') && !/owning partition|handing partition/.test(line)) note(`replica-${i}: ${line.slice(0, 200)}`);
    });
  }
  // Let the start-up hand-overs settle.
  await new Promise((resolve) => setTimeout(resolve, 8000));
  let stop = false;
  const startNs = BigInt(Date.now()) * 1_000_000n;
  let sequence = 0;
  const failing = new Map<string, number>();
  const failedMs = new Map<string, number>();
  const track = (key: string, ok: boolean): void => {
    if (killedAtMs === 0) return;
    const since = failing.get(key);
    if (!ok && since === undefined) {
      failing.set(key, Date.now());
      note(`${key} failing`);
    } else if (ok && since !== undefined) {
      failing.delete(key);
      failedMs.set(key, (failedMs.get(key) ?? 0) + Date.now() - since);
      note(`${key} answering again`);
    }
  };
  const loops = urls.flatMap((url, i) => [
    (async () => {
      while (!stop) {
        const body = JSON.stringify({ streams: [{ stream: { job: 'failover', part: String(sequence % 6) }, values: [[String(startNs + BigInt(sequence++)), `line ${sequence}`]] }] });
        const status = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(15_000) }).then((response) => response.status, () => 0);
        track(`pushes to replica-${i}`, status === 204);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })(),
    (async () => {
      while (!stop) {
        const params = new URLSearchParams({ query: '{job="failover"}', limit: '10', start: String(startNs), end: String(startNs + 3_600_000_000_000n) });
        const status = await fetch(`${url}/loki/api/v1/query_range?${params}`, { signal: AbortSignal.timeout(20_000) }).then(async (response) => (await response.arrayBuffer(), response.status), () => 0);
        track(`queries on replica-${i}`, status === 200);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })(),
  ]);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const victim = nats.nodes[Number(values.node)]!;
  killedAtMs = Date.now();
  await victim.kill('SIGKILL');
  note(`SIGKILL of NATS node ${victim.name}`);
  await new Promise((resolve) => setTimeout(resolve, Number(values['observe-s']) * 1000));
  stop = true;
  await Promise.all(loops);
  for (const [key, since] of failing) failedMs.set(key, (failedMs.get(key) ?? 0) + Date.now() - since);
  console.log(timeline.join('\n'));
  console.log(`\nlease TTL ${values['ttl-ms']} ms, request_timeout 8 s; seconds failing in the ${values['observe-s']} s after the kill:`);
  for (const i of [0, 1, 2]) console.log(`replica-${i}: pushes ${((failedMs.get(`pushes to replica-${i}`) ?? 0) / 1000).toFixed(1)} s, queries ${((failedMs.get(`queries on replica-${i}`) ?? 0) / 1000).toFixed(1)} s`);
} finally {
  for (const child of children) child.kill('SIGKILL');
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}
