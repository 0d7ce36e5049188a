// Server CPU per query under different glibc mmap thresholds (MALLOC_MMAP_THRESHOLD_, which
// bin/rankscope.js sets for the server), same run: one real server per threshold on a copy of one
// store, the queries sent to each in turn (each first every other round), CPU read from /proc.
// The store is the one bench/parser-profile.ts builds (tenant `fake`), run that first.
//   node_modules/node/bin/node bench/malloc-threshold-ab.ts [--dir /tmp/rankscope-parser-profile] [--thresholds 131072,4194304] [--rounds 8]

import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createEngine } from '../src/logql/index.ts';
import { openStore } from '../src/store/store.ts';
import { startServerChild, type ServerChild } from './server-child.ts';

const { values } = parseArgs({
  options: { dir: { type: 'string', default: '/tmp/rankscope-parser-profile' }, thresholds: { type: 'string', default: '131072,4194304' }, rounds: { type: 'string', default: '8' } },
});
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const storeDir = join(values.dir, 'store');
const store = await openStore({ dataDir: storeDir, walFsync: false, headCutBytes: 64 * 1024 * 1024, headCutAgeMs: 3_600_000, blockTargetBytes: 2 * 1024 * 1024, compactionIntervalMs: 0, retentionPeriodMs: 0 });
const last = await createEngine(store, { workerThreads: 1 }).query({ tenant: 'fake', query: '{job="train"}', startNs: 0n, endNs: 4_102_444_800_000_000_000n, stepMs: 0, intervalMs: 0, limit: 1, direction: 'backward', instant: false });
await store.close();
if (last.resultType !== 'streams' || last.streams.length === 0) throw new Error(`no entries in ${storeDir}: run bench/parser-profile.ts --dir ${values.dir} first`);
const endS = last.streams[0]!.entries[0]!.timestampNs / 1_000_000_000n + 1n;

const QUERIES = [
  { name: 'literal count', query: 'sum(count_over_time({job="train"} |= "loss" [24h]))', range: false },
  { name: 'logfmt count', query: 'sum(count_over_time({job="train"} | logfmt | grad_norm != "" [24h]))', range: false },
  { name: 'sum by rank [1m]', query: 'sum by (rank) (count_over_time({job="train"} |= "loss" [1m]))', range: true },
];
const thresholds = values.thresholds.split(',');
const servers = new Map<string, ServerChild>();
const cpuSeconds = new Map<string, number>();
try {
  for (const threshold of thresholds) {
    const copy = join(values.dir, `store-malloc-${threshold}`);
    rmSync(copy, { recursive: true, force: true });
    mkdirSync(copy, { recursive: true });
    cpSync(storeDir, copy, { recursive: true });
    // The server child inherits the environment; bin/rankscope.js lets a value set here win.
    process.env.MALLOC_MMAP_THRESHOLD_ = threshold;
    servers.set(threshold, await startServerChild(repoRoot, copy, undefined));
  }
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const { name, query, range } of QUERIES) {
      const order = round % 2 === 0 ? thresholds : [...thresholds].reverse();
      for (const threshold of order) {
        const server = servers.get(threshold)!;
        const params = range ? `&start=${endS - 4n * 3600n}&end=${endS}&step=60` : `&time=${endS}`;
        const before = server.usage().cpuSeconds;
        const response = await fetch(`${server.url}/loki/api/v1/${range ? 'query_range' : 'query'}?query=${encodeURIComponent(query)}${params}`, { headers: { 'X-Scope-OrgID': 'fake' } });
        const body = await response.text();
        if (!response.ok) throw new Error(`${name}: ${response.status} ${body.slice(0, 300)}`);
        const key = `${name}\t${threshold}`;
        cpuSeconds.set(key, (cpuSeconds.get(key) ?? 0) + server.usage().cpuSeconds - before);
      }
    }
  }
} finally {
  for (const server of servers.values()) await server.stop();
}
for (const { name } of QUERIES) {
  const reference = cpuSeconds.get(`${name}\t${thresholds[0]}`)!;
  const figures = thresholds.map((threshold) => {
    const seconds = cpuSeconds.get(`${name}\t${threshold}`)!;
    return `${threshold}: ${((seconds * 1000) / Number(values.rounds)).toFixed(0)} ms (${(seconds / reference).toFixed(2)}×)`;
  });
  console.log(`${name}: server CPU a query, ${values.rounds} rounds — ${figures.join(', ')}`);
}
