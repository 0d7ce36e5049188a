// Pushgateway API push latency with many groups held, against Debian's Pushgateway measured in the
// same run: both are filled with the same groups over HTTP, then one group is re-pushed (PUT)
// sequentially and the median latency is reported. rankscope answers only once the group's file and
// its TSDB samples are fsync'd; the Pushgateway keeps pushes in memory (persisting every 5 minutes).
//   node_modules/.bin/node bench/pushgateway-bench.ts [--groups 1000] [--series 50] [--pushes 50]
// Figures (2-core shared machine, 1,000 groups of 50 series, 50 pushes, one run): rankscope median
// 3.01 ms (p90 4.74), Pushgateway 1.5.1 median 205 ms (p90 347): 0.015x. The Pushgateway gathers every
// group for each push's consistency check; rankscope checks against indexes (group-store.ts), which
// took it from 253 ms to 3 ms per push at this size.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from '../src/server/server.ts';

const PUSHGATEWAY = '/usr/bin/prometheus-pushgateway';
const { values } = parseArgs({ options: { groups: { type: 'string', default: '1000' }, series: { type: 'string', default: '50' }, pushes: { type: 'string', default: '50' } } });
const groupCount = Number(values.groups);
const seriesPerGroup = Number(values.series);
const pushCount = Number(values.pushes);

function body(group: number, round: number): string {
  const lines: string[] = [];
  for (let series = 0; series < seriesPerGroup; series++) lines.push(`# TYPE bench_metric_${series} gauge`, `bench_metric_${series}{rank="${group}"} ${round + series}`);
  return lines.join('\n') + '\n';
}

async function put(url: string, group: number, round: number): Promise<void> {
  const response = await fetch(`${url}/metrics/job/bench/group/${group}`, { method: 'PUT', body: body(group, round) });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${url}: push answered ${response.status}`);
}

async function measure(name: string, url: string): Promise<number> {
  // Fill with a few pushes in flight, as many short jobs would.
  for (let start = 0; start < groupCount; start += 8) await Promise.all(Array.from({ length: Math.min(8, groupCount - start) }, (_, offset) => put(url, start + offset, 0)));
  const latenciesMs: number[] = [];
  for (let round = 1; round <= pushCount; round++) {
    const started = performance.now();
    await put(url, round % groupCount, round);
    latenciesMs.push(performance.now() - started);
  }
  latenciesMs.sort((a, b) => a - b);
  const medianMs = latenciesMs[Math.floor(latenciesMs.length / 2)]!;
  console.log(`${name.padEnd(12)} ${groupCount} groups x ${seriesPerGroup} series: median PUT ${medianMs.toFixed(2)} ms (p90 ${latenciesMs[Math.floor(latenciesMs.length * 0.9)]!.toFixed(2)} ms)`);
  return medianMs;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-pushgateway-bench-'));
const server = await startServer({ server: { listen: '127.0.0.1:0', log_level: 'error' }, store: { data_dir: dataDir }, ruler: { enabled: false }, ui: { enabled: false } });
try {
  const ours = await measure('rankscope', server.url);
  if (existsSync(PUSHGATEWAY)) {
    const port = await freePort();
    const gateway = spawn(PUSHGATEWAY, [`--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      const url = `http://127.0.0.1:${port}`;
      // Bounded: the Pushgateway is up within a second or two.
      for (let attempt = 0; attempt < 100 && !(await fetch(`${url}/-/ready`).then((response) => response.ok).catch(() => false)); attempt++) await new Promise((resolve) => setTimeout(resolve, 100));
      const theirs = await measure('pushgateway', url);
      console.log(`ratio rankscope / Pushgateway: ${(ours / theirs).toFixed(2)}x (rankscope fsyncs each push; the Pushgateway does not)`);
    } finally {
      gateway.kill('SIGTERM');
    }
  } else {
    console.log(`${PUSHGATEWAY} is not installed: no reference`);
  }
} finally {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
