// Server CPU and latency per query for two or more server variants in the same run: each variant is
// a real server (a checkout, with environment overrides) on its own copy of one store, and every
// query goes to the variants in turn, each first every other round, so load on a shared machine
// falls on all of them alike. The store is the one bench/parser-profile.ts builds (tenant `fake`):
// run that first. Queries are bench/query-bench.ts' parser shapes and its literal count.
//   node_modules/node/bin/node bench/query-ab.ts --variant this=. --variant base=/work/base-4d04bd6 \
//     [--variant sources=/work/base-4d04bd6,RANKSCOPE_PREBUILT=0] [--dir /tmp/rankscope-parser-profile] [--rounds 8] [--only loss]

import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createEngine } from '../src/logql/index.ts';
import { openStore } from '../src/store/store.ts';
import { median } from './process-usage.ts';
import { PARSER_QUERY_SHAPES, queryWindow } from './query-bench.ts';
import { startServerChild, type ServerChild } from './server-child.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp/rankscope-parser-profile' },
    variant: { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '8' },
    only: { type: 'string' },
  },
});

interface Variant {
  name: string;
  repo: string;
  env: Record<string, string>;
}

const variants: Variant[] = values.variant.map((text) => {
  const [head, ...settings] = text.split(',');
  const [name, repo] = head!.split('=');
  if (!name || !repo) throw new Error(`--variant ${text}: expected name=DIR[,KEY=VALUE…]`);
  const env: Record<string, string> = {};
  for (const setting of settings) {
    const at = setting.indexOf('=');
    if (at <= 0) throw new Error(`--variant ${text}: expected KEY=VALUE, got ${setting}`);
    env[setting.slice(0, at)] = setting.slice(at + 1);
  }
  return { name, repo: resolve(repo), env };
});
if (variants.length < 2) throw new Error('give at least two --variant name=DIR[,KEY=VALUE…]');
if (new Set(variants.map((v) => v.name)).size !== variants.length) throw new Error('variant names must differ');

const storeDir = join(values.dir, 'store');
const store = await openStore({ dataDir: storeDir, walFsync: false, headCutBytes: 64 * 1024 * 1024, headCutAgeMs: 3_600_000, blockTargetBytes: 2 * 1024 * 1024, compactionIntervalMs: 0, retentionPeriodMs: 0 });
const engine = createEngine(store, { workerThreads: 1 });
const edge = async (direction: 'forward' | 'backward'): Promise<bigint> => {
  const result = await engine.query({ tenant: 'fake', query: '{job="train"}', startNs: 0n, endNs: 4_102_444_800_000_000_000n, stepMs: 0, intervalMs: 0, limit: 1, direction, instant: false });
  if (result.resultType !== 'streams' || result.streams.length === 0) throw new Error(`no entries in ${storeDir}: run bench/parser-profile.ts --dir ${values.dir} first`);
  return result.streams[0]!.entries[0]!.timestampNs;
};
const window = queryWindow({ firstTimestampNs: await edge('forward'), lastTimestampNs: await edge('backward') });
await store.close();

const all = `${window.instantRangeSeconds}s`;
const step = window.stepSeconds === 60 ? '1m' : `${window.stepSeconds}s`;
const queries = [
  { id: 'literal-count', kind: 'instant' as const, query: `sum(count_over_time({job="train"} |= "loss" [${all}]))` },
  ...PARSER_QUERY_SHAPES.map((shape) => ({ id: shape.id, kind: shape.kind, query: shape.query(all, step) })),
].filter((q) => values.only === undefined || q.id.includes(values.only));

const servers = new Map<string, ServerChild>();
/** Per query and variant: server CPU seconds and wall milliseconds of each round. */
const cpuSeconds = new Map<string, number[]>();
const wallMs = new Map<string, number[]>();
const answers = new Map<string, string>();
const rounds = Number(values.rounds);
const saved = { ...process.env };
try {
  for (const variant of variants) {
    const copy = join(values.dir, `store-ab-${variant.name}`);
    rmSync(copy, { recursive: true, force: true });
    mkdirSync(copy, { recursive: true });
    cpSync(storeDir, copy, { recursive: true });
    // The child inherits the environment: set the variant's overrides for its start only.
    Object.assign(process.env, variant.env);
    try {
      servers.set(variant.name, await startServerChild(variant.repo, copy, undefined));
    } finally {
      for (const key of Object.keys(variant.env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (const { id, kind, query } of queries) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        const server = servers.get(variant.name)!;
        const params =
          kind === 'range'
            ? `&start=${window.rangeStartNs}&end=${window.rangeEndNs}&step=${window.stepSeconds}`
            : `&time=${window.instantTimeNs}`;
        const before = server.usage().cpuSeconds;
        const started = performance.now();
        const response = await fetch(`${server.url}/loki/api/v1/${kind === 'range' ? 'query_range' : 'query'}?query=${encodeURIComponent(query)}${params}`);
        const body = await response.text();
        const elapsedMs = performance.now() - started;
        if (!response.ok) throw new Error(`${variant.name} ${id}: ${response.status} ${body.slice(0, 300)}`);
        const key = `${id}\t${variant.name}`;
        (cpuSeconds.get(key) ?? cpuSeconds.set(key, []).get(key)!).push(server.usage().cpuSeconds - before);
        (wallMs.get(key) ?? wallMs.set(key, []).get(key)!).push(elapsedMs);
        // The variants must agree: the same data, the same answer.
        const answer = JSON.stringify((JSON.parse(body) as { data?: { result?: unknown } }).data?.result);
        const first = answers.get(id);
        if (first === undefined) answers.set(id, answer);
        else if (first !== answer) console.log(`warning: ${variant.name} answered ${id} differently from ${variants[0]!.name}`);
      }
    }
  }
} finally {
  for (const server of servers.values()) await server.stop();
}
for (const { id, query } of queries) {
  const referenceKey = `${id}\t${variants[0]!.name}`;
  const referenceCpu = cpuSeconds.get(referenceKey)!.reduce((a, b) => a + b, 0);
  const referenceWall = median(wallMs.get(referenceKey)!);
  const figures = variants.map((variant) => {
    const key = `${id}\t${variant.name}`;
    const cpu = cpuSeconds.get(key)!.reduce((a, b) => a + b, 0);
    const wall = median(wallMs.get(key)!);
    return `${variant.name} ${((cpu * 1000) / rounds).toFixed(0)} ms CPU (${(cpu / referenceCpu).toFixed(2)}×), median ${wall.toFixed(0)} ms wall (${(wall / referenceWall).toFixed(2)}×)`;
  });
  console.log(`${id}: ${query}\n  ${rounds} rounds, server CPU a query (sum over rounds / rounds): ${figures.join('; ')}`);
}
