// Where a metrics server's RSS goes, A/B over checkouts: bench/tsdb-bench.ts' workload (fixed seed)
// sent by remote write 1.0 to one real server per checkout, each request to all of them at once (no
// Prometheus: a faster loop than tsdb-bench.ts for the "RSS per active series" figure). At the end of
// ingest it prints, per server, RSS split by mapping (glibc's [heap], the V8 heap's and other
// anonymous mappings, the node binary and other files, from /proc/<pid>/smaps), the JS heap used and
// reserved and external memory (from /metrics), and server CPU seconds, beside the first checkout's
// as a ratio.
//
//   node_modules/node/bin/node bench/tsdb-rss-probe.ts [--repo /work/base-6899ce7] [--repo '.|MALLOC_ARENA_MAX=2'] \
//     [--series 100000] [--hours 2] [--seed 42] [--batch 2000] [--concurrency 4]
//
// Each --repo needs its server bundle built (scripts/build-server.mjs); `|NAME=value` after a path sets
// an environment variable for that server. Default: this checkout only.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../src/push/remote-write-encode.ts';
import { seededRandom } from '../src/demo/torch-output.ts';
import { buildWorkload } from './metrics-workload.ts';
import { startServerChild, type ServerChild } from './server-child.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const INTERVAL_MS = 15_000;
const BLOCK_RANGE_MS = 2 * 3_600_000;
const MB = 1_000_000;

const { values: args } = parseArgs({
  options: {
    repo: { type: 'string', multiple: true, default: [repoRoot] },
    series: { type: 'string', default: '100000' },
    hours: { type: 'string', default: '2' },
    seed: { type: 'string', default: '42' },
    batch: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '4' },
  },
});
const variants = args.repo.map((spec) => {
  const [path, ...env] = spec.split('|');
  return { label: spec, repo: resolve(path!), env: env.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as const) };
});
const hours = Number(args.hours);
const batchSize = Number(args.batch);
const concurrency = Number(args.concurrency);
if (!(Number(args.series) > 0 && hours > 0 && batchSize > 0 && concurrency > 0)) throw new Error('--series, --hours, --batch and --concurrency must be positive numbers');

/** RSS by kind of mapping, bytes, from /proc/<pid>/smaps. */
function rssByMapping(pid: number): Record<'mallocHeap' | 'anonymous' | 'nodeBinary' | 'otherFiles', number> {
  const out = { mallocHeap: 0, anonymous: 0, nodeBinary: 0, otherFiles: 0 };
  let kind: keyof typeof out = 'anonymous';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header !== null) {
      const name = header[1]!;
      kind = name === '[heap]' ? 'mallocHeap' : name === '' || name.startsWith('[') ? 'anonymous' : name.endsWith('/bin/node') ? 'nodeBinary' : 'otherFiles';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) out[kind] += Number(rss[1]) * 1024;
  }
  return out;
}

async function gauges(server: ServerChild): Promise<Record<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const gauge = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { heapUsed: gauge('nodejs_heap_size_used_bytes'), heapTotal: gauge('nodejs_heap_size_total_bytes'), external: gauge('nodejs_external_memory_bytes') };
}

const random = seededRandom(Number(args.seed));
const workload = buildWorkload(Number(args.series), 'realistic', random);
const steps = Math.floor((hours * 3_600_000) / INTERVAL_MS);
const startMs = Math.floor((Date.now() - hours * 3_600_000) / BLOCK_RANGE_MS) * BLOCK_RANGE_MS;
const work = mkdtempSync(join(tmpdir(), 'rankscope-tsdb-rss-probe-'));
const configPath = join(work, 'rankscope.yaml');
writeFileSync(configPath, 'ruler:\n  enabled: false\nui:\n  enabled: false\ntsdb:\n  maintenance_interval: 1s\n  retention_period: 0\n');
const servers: ServerChild[] = [];
try {
  for (const [i, variant] of variants.entries()) {
    // The child inherits the environment at spawn: set the variant's variables for that moment only.
    const saved = variant.env.map(([name]) => [name, process.env[name]] as const);
    for (const [name, value] of variant.env) process.env[name] = value;
    try {
      servers.push(await startServerChild(variant.repo, join(work, `server-${i}`), configPath));
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }
  const idle = await Promise.all(servers.map(async (server) => ({ usage: server.usage(), mapping: rssByMapping(server.pid), js: await gauges(server) })));
  console.log(`workload: ${workload.length} series × ${steps} scrapes; servers: ${variants.map((variant) => variant.label).join(', ')}`);
  const inFlight = new Set<Promise<void>>();
  let failures = 0;
  for (let s = 0; s < steps; s++) {
    const timestampMs = startMs + s * INTERVAL_MS;
    for (let from = 0; from < workload.length; from += batchSize) {
      const batch: RemoteWriteSeriesInput[] = [];
      for (let i = from; i < Math.min(from + batchSize, workload.length); i++) batch.push({ labels: workload[i]!.labels, samples: [{ timestampMs, value: workload[i]!.step(random) }] });
      const body = snappyCompress(encodeWriteRequestV1(batch));
      const job = Promise.all(
        servers.map(async (server) => {
          const response = await fetch(`${server.url}/api/v1/write`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' }, body });
          if (response.status >= 300) failures++;
          await response.arrayBuffer();
        }),
      ).then(() => undefined);
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    // In order per series, as tsdb-bench.ts sends.
    await Promise.all(inFlight);
    if (s % 120 === 119) console.log(`  ${s + 1}/${steps} scrapes sent`);
  }
  if (failures > 0) console.log(`${failures} failed requests`);
  const rows: string[][] = [['MB (+ above idle)', 'RSS', 'malloc [heap]', 'anon (V8…)', 'node binary', 'files', 'JS heap used', 'JS heap total', 'external', 'CPU s', 'RSS ×', 'CPU ×']];
  let first: { rss: number; cpu: number } | undefined;
  for (const [i, server] of servers.entries()) {
    const usage = server.usage();
    const mapping = rssByMapping(server.pid);
    const js = await gauges(server);
    const cpu = usage.cpuSeconds - idle[i]!.usage.cpuSeconds;
    first ??= { rss: usage.rssBytes, cpu };
    const before = idle[i]!;
    const mb = (bytes: number, idleBytes: number): string => `${(bytes / MB).toFixed(1)} (+${((bytes - idleBytes) / MB).toFixed(1)})`;
    rows.push([
      variants[i]!.label, mb(usage.rssBytes, before.usage.rssBytes), mb(mapping.mallocHeap, before.mapping.mallocHeap), mb(mapping.anonymous, before.mapping.anonymous),
      mb(mapping.nodeBinary, before.mapping.nodeBinary), mb(mapping.otherFiles, before.mapping.otherFiles), mb(js.heapUsed!, before.js.heapUsed!),
      mb(js.heapTotal!, before.js.heapTotal!), mb(js.external!, before.js.external!), cpu.toFixed(1), (usage.rssBytes / first.rss).toFixed(3), (cpu / first.cpu).toFixed(3),
    ]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '));
} finally {
  for (const server of servers) await server.stop();
  rmSync(work, { recursive: true, force: true });
}
