// A CPU profile of the rankscope server itself while it answers the compare bench's queries: the
// same child process and remote-written workload as bench/promql-compare-bench.ts (no Prometheus
// beside it), started with the inspector on a random 127.0.0.1 port, profiled over the query rounds
// only (not the ingest before them). bench/promql-compare-profile.ts profiles the engine in one
// process; this one sees what the server adds (HTTP, its 2 MB young generation, the head chunk file).
//
//   node_modules/node/bin/node bench/promql-server-profile.ts [--series 10000] [--hours 2] [--repeat 50] [--only substring] --cpu-profile out.cpuprofile
//
// Prints the server CPU per query (from /proc), then writes the profile (open it in Chrome DevTools).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { remoteWriteToAll, runQuery } from './promql-compare-peers.ts';
import { benchQueries } from './promql-compare-queries.ts';
import { compareWorkload } from './promql-compare-workload.ts';
import { startServerChild, type ServerChild } from './server-child.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '10000' },
    hours: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '50' },
    seed: { type: 'string', default: '7' },
    only: { type: 'string', default: '' },
    /** Run this query (an id of the bench's table) untimed before every timed run: what the query after a large one pays. */
    after: { type: 'string' },
    'cpu-profile': { type: 'string' },
  },
});

/** The server's CPU time in ms, all threads (/proc/<pid>/stat utime + stime, 10 ms ticks). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A minimal DevTools-protocol client over the inspector's WebSocket. */
async function inspectorSession(url: string): Promise<{ send(method: string, params?: object): Promise<Record<string, unknown>>; close(): void }> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  let nextId = 1;
  const pending = new Map<number, (result: Record<string, unknown>) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown> };
    if (message.id !== undefined) pending.get(message.id)?.(message.result ?? {});
  };
  return {
    send(method, params = {}) {
      const id = nextId++;
      socket.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve) => pending.set(id, resolve));
    },
    close: () => socket.close(),
  };
}

/**
 * Evaluated in the server: counts its garbage collections by kind (perf_hooks 'gc' entries: 1 minor,
 * 2 major, 4 incremental, 8 weak callbacks) and their time, until GC_OBSERVER_STOP reports them.
 */
const GC_OBSERVER_START = `(() => {
  const { PerformanceObserver } = process.getBuiltinModule('node:perf_hooks');
  const stats = (globalThis.__benchGcStats = { byKind: {}, observer: undefined });
  stats.observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = entry.detail?.kind ?? 0;
      const slot = (stats.byKind[kind] ??= { count: 0, ms: 0 });
      slot.count++;
      slot.ms += entry.duration;
    }
  });
  stats.observer.observe({ entryTypes: ['gc'] });
})()`;
/** GC entries arrive asynchronously: the last ones are let in before the counts are read. */
const GC_OBSERVER_STOP = `new Promise((resolve) => setTimeout(() => {
  globalThis.__benchGcStats.observer.disconnect();
  resolve(JSON.stringify(globalThis.__benchGcStats.byKind));
}, 50))`;
const GC_KINDS: Record<string, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weak callbacks' };

const work = mkdtempSync(join(tmpdir(), 'rankscope-promql-server-profile-'));
const configPath = join(work, 'rankscope.yaml');
writeFileSync(configPath, 'ruler:\n  enabled: false\nui:\n  enabled: false\n');
let server: ServerChild | undefined;
try {
  const hours = Number(args.hours);
  const endMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const workload = compareWorkload({ series: Number(args.series), hours, seed: Number(args.seed), startMs: endMs - Math.round(hours * 60) * 60_000 });
  // Only the server gets the inspector (the option is read when the child starts).
  const nodeOptions = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${nodeOptions ?? ''} --inspect=127.0.0.1:0`;
  try {
    server = await startServerChild(repoRoot, join(work, 'data'), configPath);
  } finally {
    if (nodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = nodeOptions;
  }
  // The last one: the server re-executes itself (bin/rankscope.js), and the first process printed one too.
  const inspectorUrl = server.output().match(/ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/g)?.at(-1);
  if (inspectorUrl === undefined) throw new Error(`no inspector URL in the server's output:\n${server.output()}`);
  await remoteWriteToAll([server.url], workload, { batchSeries: 2000, concurrency: 4, stepsPerBatch: Math.max(1, Math.floor(10_000 / workload.seriesCount)) });
  console.log(`${workload.seriesCount} series × ${workload.steps} scrapes written`);
  const session = await inspectorSession(inspectorUrl);
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: 200 });
  const repeat = Math.max(1, Number(args.repeat));
  const all = benchQueries(workload.startMs, workload.endMs);
  const specs = all.filter((spec) => spec.id.includes(args.only));
  const before = args.after === undefined ? undefined : all.find((spec) => spec.id === args.after);
  if (args.after !== undefined && before === undefined) throw new Error(`--after ${args.after}: no such query (${all.map((spec) => spec.id).join(', ')})`);
  for (const spec of specs) await runQuery(server.url, spec);
  await session.send('Profiler.start');
  for (const spec of specs) {
    await session.send('Runtime.evaluate', { expression: GC_OBSERVER_START });
    let spentMs = 0;
    for (let i = 0; i < repeat; i++) {
      if (before !== undefined) await runQuery(server.url, before);
      const startMs = cpuMs(server.pid);
      const answer = await runQuery(server.url, spec);
      spentMs += cpuMs(server.pid) - startMs;
      if (answer.status !== 'success') throw new Error(`${spec.id}: ${answer.error}`);
    }
    console.log(`${spec.id.padEnd(32)} server CPU ${(spentMs / repeat).toFixed(2)} ms a query (${repeat} runs${before ? `, each after ${before.id}` : ''})`);
    const gc = await session.send('Runtime.evaluate', { expression: GC_OBSERVER_STOP, awaitPromise: true, returnByValue: true });
    const byKind = JSON.parse((gc.result as { value: string }).value) as Record<string, { count: number; ms: number }>;
    const perQuery = Object.entries(byKind).map(([kind, { count, ms }]) => `${GC_KINDS[kind] ?? kind} ${(count / repeat).toFixed(2)} (${(ms / repeat).toFixed(2)} ms)`);
    console.log(`  collections a query: ${perQuery.join(', ') || 'none'}`);
  }
  const { profile } = await session.send('Profiler.stop');
  session.close();
  if (args['cpu-profile'] !== undefined) writeFileSync(args['cpu-profile'], JSON.stringify(profile));
} finally {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
}
