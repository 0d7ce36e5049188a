// The parser queries' own work, without the scan's floor: the blocks of parser-profile's store are
// read and decompressed once and kept in memory, so each run times only the raw filters, the stages
// and the aggregation (what src/logql owns), not the read and the zstd pass that bench/parser-profile.ts
// measures with them. `--base DIR` loads another checkout's store and engine into this process (on a
// copy of the store) and runs each query on the two in turn; their answers must be equal.
//   node_modules/node/bin/node bench/parser-profile.ts --dir D        # once, to build the store
//   node_modules/node/bin/node bench/scan-pipeline.ts --dir D [--base DIR] [--repeat 10] [--only id]

import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openStore } from '../src/store/store.ts';
import { createEngine } from '../src/logql/index.ts';
import type { BlockData, BlockQuery, BlockRef, LogSource, LogStore } from '../src/store/types.ts';
import type { QueryParams, QueryResult } from '../src/logql/api.ts';
import { PARSER_QUERY_SHAPES } from './query-bench.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp/rankscope-parser-profile' },
    repeat: { type: 'string', default: '10' },
    only: { type: 'string' },
    base: { type: 'string' },
  },
});
const storeOptions = { walFsync: false, headCutBytes: 64 * 1024 * 1024, headCutAgeMs: 3_600_000, blockTargetBytes: 2 * 1024 * 1024, compactionIntervalMs: 0, retentionPeriodMs: 0 };
const storeDir = join(values.dir, 'store');
if (!existsSync(storeDir)) throw new Error(`no store in ${values.dir}: run bench/parser-profile.ts --dir ${values.dir} first`);

/** A source over a store whose blocks load once and stay in memory; scans stay on this thread. */
function cachedSource(store: LogStore): LogSource {
  const cache = new Map<string, Promise<BlockData>>();
  return {
    series: (...args) => store.series(...args),
    async selectBlocks(query: BlockQuery): Promise<BlockRef[]> {
      const refs = await store.selectBlocks(query);
      return refs.map((ref) => {
        const key = `${ref.stream.id}:${ref.minTimeNs}:${ref.maxTimeNs}:${ref.entryCount}`;
        // Without a location: the engine treats the block as shared (as a head's) and never releases it.
        const { location: _location, ...shared } = ref;
        return {
          ...shared,
          load() {
            let loaded = cache.get(key);
            if (loaded === undefined) cache.set(key, (loaded = ref.load()));
            return loaded;
          },
        };
      });
    },
  };
}

type Engine = ReturnType<typeof createEngine>;
const store = await openStore({ dataDir: storeDir, ...storeOptions });
const engines: Array<{ name: string; engine: Engine; close(): Promise<void> }> = [{ name: 'this', engine: createEngine(cachedSource(store), { workerThreads: 1 }), close: () => store.close() }];
if (values.base !== undefined) {
  const baseStoreDir = join(values.dir, 'store-base');
  if (!existsSync(baseStoreDir)) cpSync(storeDir, baseStoreDir, { recursive: true });
  const baseStoreModule = (await import(pathToFileURL(join(values.base, 'src/store/store.ts')).href)) as { openStore: typeof openStore };
  const baseEngineModule = (await import(pathToFileURL(join(values.base, 'src/logql/index.ts')).href)) as { createEngine: typeof createEngine };
  const baseStore = await baseStoreModule.openStore({ dataDir: baseStoreDir, ...storeOptions });
  engines.push({ name: 'base', engine: baseEngineModule.createEngine(cachedSource(baseStore), { workerThreads: 1 }), close: () => baseStore.close() });
}

const forward = await engines[0]!.engine.query({ tenant: 'fake', query: '{job="train"}', startNs: 0n, endNs: 4_102_444_800_000_000_000n, stepMs: 0, intervalMs: 0, limit: 1, direction: 'forward', instant: false });
const backward = await engines[0]!.engine.query({ tenant: 'fake', query: '{job="train"}', startNs: 0n, endNs: 4_102_444_800_000_000_000n, stepMs: 0, intervalMs: 0, limit: 1, direction: 'backward', instant: false });
if (forward.resultType !== 'streams' || backward.resultType !== 'streams') throw new Error('expected streams');
const firstNs = forward.streams[0]!.entries[0]!.timestampNs;
const lastNs = backward.streams[0]!.entries[0]!.timestampNs;
const allSeconds = Number((lastNs - firstNs) / 1_000_000_000n) + 2;

/** The answer as text, to compare the engines' answers exactly. */
function answerText(result: QueryResult): string {
  if (result.resultType === 'matrix') return JSON.stringify(result.series.map((s) => [s.labels, s.samples]));
  if (result.resultType === 'vector') return JSON.stringify(result.samples.map((s) => [s.labels, s.value]));
  return JSON.stringify(result, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

try {
  const floor = { id: 'literal-floor', kind: 'instant' as const, query: (all: string) => `sum(count_over_time({job="train"} |= "loss" [${all}]))` };
  for (const shape of [floor, ...PARSER_QUERY_SHAPES]) {
    if (values.only !== undefined && !shape.id.includes(values.only)) continue;
    const query = shape.query(`${allSeconds + 86_400}s`, '1m');
    const instant = shape.kind === 'instant';
    const params: QueryParams = { tenant: 'fake', query, startNs: instant ? lastNs + 1_000_000_000n : (firstNs / 60_000_000_000n + 1n) * 60_000_000_000n, endNs: lastNs + 60_000_000_000n, stepMs: 60_000, intervalMs: 0, limit: 100, direction: 'backward', instant };
    // A first run per engine loads the blocks into the cache (and warms the code) outside the timings.
    const answers = new Map<string, string>();
    for (const { name, engine } of engines) answers.set(name, answerText(await engine.query(params)));
    const cpuMs = new Map<string, number[]>(engines.map(({ name }) => [name, []]));
    for (let round = 0; round < Number(values.repeat); round++) {
      // In turn, each first every other round.
      const order = round % 2 === 0 ? engines : [...engines].reverse();
      for (const { name, engine } of order) {
        const before = process.cpuUsage();
        const text = answerText(await engine.query(params));
        const used = process.cpuUsage(before);
        cpuMs.get(name)!.push((used.user + used.system) / 1000);
        if (text !== answers.get(name)) throw new Error(`${shape.id}: ${name} answered differently from its first run`);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const line = engines.map(({ name }) => `${name} median ${median(cpuMs.get(name)!).toFixed(1)} ms CPU`).join(', ');
    let compare = '';
    if (engines.length === 2) {
      const same = answers.get('this') === answers.get('base');
      compare = `; this / base CPU ${(sum(cpuMs.get('this')!) / sum(cpuMs.get('base')!)).toFixed(3)} over ${values.repeat} rounds; answers ${same ? 'equal' : 'DIFFER'}`;
      if (!same) process.exitCode = 1;
    }
    console.log(`${shape.id}: ${line}${compare}`);
  }
} finally {
  for (const { close } of engines) await close();
}
