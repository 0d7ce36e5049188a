// Parser-query speed on a real disk store, one thread, against `grep -c` on the same raw text: for
// iterating on the pipeline stages without the full `npm run bench`. The store and the raw file are
// kept in --dir and reused when present.
//   node_modules/node/bin/node bench/parser-profile.ts [--size-mb 128] [--dir /tmp/parser-profile] [--repeat 3] [--threads 1]
// --base DIR also loads another checkout's store and engine (DIR/src, e.g. /work/main) into this
// process, on a copy of the store (--dir/store-base), and runs each query on the two in turn: on a
// shared machine only CPU time measured side by side says which is faster. Its figures are printed
// as `base` lines, with this checkout's CPU over the base's (sums over all rounds).

import { execFileSync } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { generateTrainingLog, syntheticLabels } from './synthetic-log.ts';
import { openStore } from '../src/store/store.ts';
import { createEngine } from '../src/logql/index.ts';
import type { PushEntry } from '../src/store/types.ts';
import { PARSER_QUERY_SHAPES } from './query-bench.ts';

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '128' },
    dir: { type: 'string', default: '/tmp/rankscope-parser-profile' },
    repeat: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    only: { type: 'string' },
    base: { type: 'string' },
  },
});
const dir = values.dir;
const rawPath = join(dir, 'raw.log');
const storeDir = join(dir, 'store');
const fresh = !existsSync(rawPath);
mkdirSync(storeDir, { recursive: true });
const store = await openStore({ dataDir: storeDir, walFsync: false, headCutBytes: 64 * 1024 * 1024, headCutAgeMs: 3_600_000, blockTargetBytes: 2 * 1024 * 1024, compactionIntervalMs: 0, retentionPeriodMs: 0 });
let firstNs = 0n;
let lastNs = 0n;
if (fresh) {
  const targetBytes = Number(values['size-mb']) * 1024 * 1024;
  const raw = createWriteStream(rawPath);
  let rawBytes = 0;
  const pending = new Map<string, { labels: Record<string, string>; entries: PushEntry[] }>();
  let pendingBytes = 0;
  for (const entry of generateTrainingLog({ seed: 42 })) {
    const labels = syntheticLabels(entry);
    const key = JSON.stringify(labels);
    let batch = pending.get(key);
    if (!batch) pending.set(key, (batch = { labels, entries: [] }));
    batch.entries.push({ timestampNs: entry.timestampNs, line: entry.line });
    raw.write(`${entry.line}\n`);
    rawBytes += Buffer.byteLength(entry.line) + 1;
    pendingBytes += entry.line.length;
    if (pendingBytes >= 1024 * 1024) {
      await store.append('fake', [...pending.values()]);
      pending.clear();
      pendingBytes = 0;
    }
    if (rawBytes >= targetBytes) break;
  }
  await store.append('fake', [...pending.values()]);
  await new Promise((resolve) => raw.end(resolve));
  await store.flush();
}
const rawBytes = statSync(rawPath).size;
// The data's time span, from the store's own view of it.
const probe = createEngine(store, { workerThreads: 1 });
const span = await probe.query({ tenant: 'fake', query: 'count_over_time({job="train"}[100000h])', startNs: 4_102_444_800_000_000_000n, endNs: 4_102_444_800_000_000_000n, stepMs: 0, intervalMs: 0, limit: 1, direction: 'backward', instant: true });
void span;
const first = await probe.query({ tenant: 'fake', query: '{job="train"}', startNs: 0n, endNs: 4_102_444_800_000_000_000n, stepMs: 0, intervalMs: 0, limit: 1, direction: 'forward', instant: false });
const last = await probe.query({ tenant: 'fake', query: '{job="train"}', startNs: 0n, endNs: 4_102_444_800_000_000_000n, stepMs: 0, intervalMs: 0, limit: 1, direction: 'backward', instant: false });
if (first.resultType === 'streams' && last.resultType === 'streams') {
  firstNs = first.streams[0]!.entries[0]!.timestampNs;
  lastNs = last.streams[0]!.entries[0]!.timestampNs;
}
console.log(`${(rawBytes / 1e6).toFixed(0)} MB raw over ${(Number(lastNs - firstNs) / 3.6e12).toFixed(1)} h`);

const allSeconds = Number((lastNs - firstNs) / 1_000_000_000n) + 2;
const engine = createEngine(store, { workerThreads: Number(values.threads) });
type Engine = typeof engine;
let base: { engine: Engine; close(): Promise<void> } | undefined;
if (values.base !== undefined) {
  const baseStoreDir = join(dir, 'store-base');
  if (!existsSync(baseStoreDir)) cpSync(storeDir, baseStoreDir, { recursive: true });
  const baseStoreModule = (await import(pathToFileURL(join(values.base, 'src/store/store.ts')).href)) as { openStore: typeof openStore };
  const baseEngineModule = (await import(pathToFileURL(join(values.base, 'src/logql/index.ts')).href)) as { createEngine: typeof createEngine };
  const baseStore = await baseStoreModule.openStore({ dataDir: baseStoreDir, walFsync: false, headCutBytes: 64 * 1024 * 1024, headCutAgeMs: 3_600_000, blockTargetBytes: 2 * 1024 * 1024, compactionIntervalMs: 0, retentionPeriodMs: 0 });
  base = { engine: baseEngineModule.createEngine(baseStore, { workerThreads: Number(values.threads) }), close: () => baseStore.close() };
}
await new Promise((resolve) => setTimeout(resolve, 1000));
try {
  // The floor: a literal count reads and decompresses every block as the parser queries do.
  const floor = { id: 'literal-floor', kind: 'instant' as const, query: (all: string) => `sum(count_over_time({job="train"} |= "loss" [${all}]))`, grep: ['-c', '-F', 'loss'] };
  for (const shape of [floor, ...PARSER_QUERY_SHAPES]) {
    if (values.only && !shape.id.includes(values.only)) continue;
    const query = shape.query(`${allSeconds + 86_400}s`, '1m');
    const grepStarted = performance.now();
    const grepCount = Number(execFileSync('grep', [...shape.grep, rawPath], { env: { LC_ALL: 'C' } }).toString().trim() || '0');
    const grepMs = performance.now() - grepStarted;
    const instant = shape.kind === 'instant';
    const params = { tenant: 'fake', query, startNs: instant ? lastNs + 1_000_000_000n : ((firstNs / 60_000_000_000n) + 1n) * 60_000_000_000n, endNs: lastNs + 60_000_000_000n, stepMs: 60_000, intervalMs: 0, limit: 100, direction: 'backward' as const, instant };
    const times: string[] = [];
    const cpuSums = { this: 0, base: 0 };
    const measure = async (which: 'this' | 'base', target: Engine): Promise<void> => {
      const cpu = process.cpuUsage();
      const start = performance.now();
      const result = await target.query(params);
      const wallMs = performance.now() - start;
      const used = process.cpuUsage(cpu);
      const cpuS = (used.user + used.system) / 1e6;
      cpuSums[which] += cpuS;
      let total = 0;
      let series = 0;
      if (result.resultType === 'matrix') for (const s of result.series) { series++; for (const [, v] of s.samples) total += v; }
      if (result.resultType === 'vector') for (const s of result.samples) { series++; total += s.value; }
      const label = base === undefined ? '' : `${which} `;
      times.push(`${label}${wallMs.toFixed(0)} ms wall (${(wallMs / grepMs).toFixed(2)}× grep), ${(cpuS * 1000).toFixed(0)} ms CPU, ${(rawBytes / cpuS / 1e9).toFixed(3)} GB/s/core, ${series} series, total ${total.toFixed(2)}`);
    };
    for (let round = 0; round < Number(values.repeat); round++) {
      // The two in turn, each first every other round: neither always finds what the other warmed.
      if (base !== undefined && round % 2 === 1) await measure('base', base.engine);
      await measure('this', engine);
      if (base !== undefined && round % 2 === 0) await measure('base', base.engine);
    }
    if (base !== undefined) times.push(`this / base CPU: ${(cpuSums.this / cpuSums.base).toFixed(3)} (${(cpuSums.this * 1000).toFixed(0)} / ${(cpuSums.base * 1000).toFixed(0)} ms over ${values.repeat} rounds)`);
    console.log(`${shape.id}: ${query}\n  grep ${grepMs.toFixed(0)} ms → ${grepCount}\n  ${times.join('\n  ')}`);
  }
} finally {
  await store.close();
  await base?.close();
}
