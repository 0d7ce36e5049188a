// The benchmark queries of promql-compare-bench.ts in one process, without HTTP or a Prometheus beside
// it: the same workload appended straight into an embedded TSDB, then each query evaluated and
// rendered to Prometheus' JSON --repeat times. For profiling the engine and the select path
// (`node --cpu-prof bench/promql-compare-profile.ts --only range`); the figures that count are the
// side-by-side ones of promql-compare-bench.ts.
//
//   node_modules/node/bin/node [--max-semi-space-size=2] bench/promql-compare-profile.ts [--series 2000] [--hours 2] [--repeat 20] [--only substring] [--cpu-profile out.cpuprofile] [--heap-profile out.heapprofile] [--object-json]
//
// --cpu-profile writes a V8 CPU profile of the queries alone (not of the ingest before them); answers are
// written as the HTTP API writes them (prometheusDataJson), or with --object-json as JSON.stringify of
// toPrometheusData.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FilesystemObjectStore } from '../src/objstore/filesystem-store.ts';
import { PromQLEngine, prometheusDataJson, toPrometheusData } from '../src/promql/engine/engine.ts';
import { openTsdb } from '../src/tsdb/tsdb.ts';
import { benchQueries } from './promql-compare-queries.ts';
import { compareWorkload } from './promql-compare-workload.ts';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '2000' },
    hours: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '20' },
    seed: { type: 'string', default: '7' },
    only: { type: 'string', default: '' },
    'cpu-profile': { type: 'string' },
    /** A V8 sampling heap profile of the queries' allocations (kept and collected alike), as .heapprofile. */
    'heap-profile': { type: 'string' },
    'object-json': { type: 'boolean', default: false },
  },
});

const work = mkdtempSync(join(tmpdir(), 'rankscope-promql-profile-'));
const objectStore = new FilesystemObjectStore(join(work, 'objects'));
const tsdb = await openTsdb({ walDirectory: join(work, 'wal'), objectStore, fsync: false, maintenanceIntervalMs: 0 });
try {
  const endMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const hours = Number(args.hours);
  const workload = compareWorkload({ series: Number(args.series), hours, seed: Number(args.seed), startMs: endMs - Math.round(hours * 60) * 60_000 });
  for (const batch of workload.batches(2000)) await tsdb.append('fake', batch.series);
  console.log(`${workload.seriesCount} series × ${workload.steps} scrapes in the head`);
  const engine = new PromQLEngine(tsdb);
  const repeat = Math.max(1, Number(args.repeat));
  const profiler = args['cpu-profile'] === undefined ? undefined : new Session();
  if (profiler !== undefined) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const heapProfiler = args['heap-profile'] === undefined ? undefined : new Session();
  if (heapProfiler !== undefined) {
    heapProfiler.connect();
    await heapProfiler.post('HeapProfiler.enable');
    await heapProfiler.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  for (const spec of benchQueries(workload.startMs, workload.endMs)) {
    if (!spec.id.includes(args.only)) continue;
    const run = async (): Promise<number> => {
      const result = spec.range === undefined
        ? await engine.instantQuery('fake', spec.query, spec.timeMs!)
        : await engine.rangeQuery('fake', spec.query, spec.range.startMs, spec.range.endMs, spec.range.stepMs);
      return (args['object-json'] ? JSON.stringify(toPrometheusData(result.value)) : prometheusDataJson(result.value)).length;
    };
    await run();
    const times: number[] = [];
    const cpuTimes: number[] = [];
    // Young-generation collections during the timed runs: in the server's 2 MB semi-space (run this
    // with --max-semi-space-size=2 to match it) their count tracks the garbage a query leaves, a
    // steadier figure than CPU time on a shared machine.
    let scavenges = 0;
    // Full collections (incremental marking's steps and the final mark-compact): what an answer's
    // promoted garbage costs later, often inside the next query.
    let fullCollectionMs = 0;
    const collections = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = ((entry as { detail?: { kind?: number } }).detail)?.kind;
        if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
        else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR || kind === perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL) fullCollectionMs += entry.duration;
      }
    });
    collections.observe({ entryTypes: ['gc'] });
    for (let i = 0; i < repeat; i++) {
      const startedMs = performance.now();
      const cpuBefore = process.cpuUsage();
      await run();
      const cpu = process.cpuUsage(cpuBefore);
      times.push(performance.now() - startedMs);
      cpuTimes.push((cpu.user + cpu.system) / 1000);
    }
    // GC entries are delivered asynchronously: let the last ones arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 20));
    collections.disconnect();
    times.sort((a, b) => a - b);
    cpuTimes.sort((a, b) => a - b);
    // CPU time (this process, all threads) is the steadier figure on a shared machine.
    console.log(`${spec.id.padEnd(32)} wall median ${times[times.length >> 1]!.toFixed(2)} ms, min ${times[0]!.toFixed(2)} ms; CPU median ${cpuTimes[cpuTimes.length >> 1]!.toFixed(2)} ms; ${(scavenges / repeat).toFixed(2)} scavenges and ${(fullCollectionMs / repeat).toFixed(2)} ms of full collections a query`);
  }
  if (heapProfiler !== undefined) {
    const { profile } = await heapProfiler.post('HeapProfiler.stopSampling');
    writeFileSync(args['heap-profile']!, JSON.stringify(profile));
    heapProfiler.disconnect();
  }
  if (profiler !== undefined) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(args['cpu-profile']!, JSON.stringify(profile));
    profiler.disconnect();
  }
} finally {
  await tsdb.close();
  rmSync(work, { recursive: true, force: true });
}
