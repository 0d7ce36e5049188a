// `npm run bench`: generates ~1 GB of multi-rank training logs, pushes them into a real rankscope
// server, and measures ingest, storage and queries, each against a reference (zstd, grep) timed in
// the same run on the same machine. Prints a table and writes bench/out/results.json.
// See bench/README.md for the options and how to read the figures.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDataset, GENERATED_BYTES_PER_SIMULATED_SECOND, type Dataset } from './dataset.ts';
import { runIngest } from './ingest-bench.ts';
import { timeCommand } from './process-usage.ts';
import { measureScanCeiling } from './scan-ceiling.ts';
import { measureQuery, previousQueryFigures, queryWindow, querySpecs, type QueryMeasurement, type QuerySpec } from './query-bench.ts';
import { errorMessage, formatBytes, formatCount, formatNumber, Report } from './report.ts';
import { startServerChild, type ServerChild } from './server-child.ts';
import { runTrainingBench } from './training-bench.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1_000_000;

const TARGET_INGEST_MB_PER_CORE_SECOND = 50;
const TARGET_STORED_FRACTION = 0.1;
/** Issue 9: raw MB per server CPU-second from the first push to the end of POST /flush. */
const TARGET_INGEST_WITH_FLUSH_MB_PER_CPU_SECOND = 62;
/** Issue 9: peak server RSS while ingesting the 1 GB bench. */
const TARGET_PEAK_RSS_MB_1GB = 256;

interface BenchOptions {
  sizeMb: number;
  quick: boolean;
  outDir: string;
  pushers: number;
  batchKb: number;
  repeat: number;
  seed: number;
  keepData: boolean;
  agent: boolean;
  ingestFlush: boolean;
  /** A checkout of the previous version, measured by the 244 MB ingest bench as its reference. */
  beforeRepo: string | undefined;
  tsdb: boolean;
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      'size-mb': { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: join(repoRoot, 'bench', 'out') },
      pushers: { type: 'string', default: '4' },
      'batch-kb': { type: 'string', default: '1024' },
      repeat: { type: 'string', default: '3' },
      seed: { type: 'string', default: '42' },
      'keep-data': { type: 'boolean', default: false },
      'no-agent': { type: 'boolean', default: false },
      'no-ingest-flush': { type: 'boolean', default: false },
      'before-repo': { type: 'string' },
      'no-tsdb': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run bench -- [--quick] [--size-mb N] [--pushers N] [--batch-kb N] [--repeat N] [--seed N] [--out DIR] [--keep-data] [--no-agent] [--no-ingest-flush] [--before-repo DIR] [--no-tsdb]');
    process.exit(0);
  }
  const positive = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(text)}`);
    return value;
  };
  return {
    sizeMb: positive('size-mb', values['size-mb'] ?? (values.quick ? '50' : '1024')),
    quick: values.quick,
    outDir: values.out,
    pushers: Math.round(positive('pushers', values.pushers)),
    batchKb: positive('batch-kb', values['batch-kb']),
    repeat: Math.round(positive('repeat', values.repeat)),
    seed: Math.round(positive('seed', values.seed)),
    keepData: values['keep-data'],
    agent: !values['no-agent'],
    ingestFlush: !values['no-ingest-flush'],
    beforeRepo: values['before-repo'],
    tsdb: !values['no-tsdb'],
  };
}

/**
 * The server runs with its shipped defaults (fsync on, default head and block sizes) except limits
 * that would measure the limit instead of the server: the per-tenant ingestion rate, the query
 * timeout, and the time a SIGTERM flush of ~1 GB of heads may take.
 */
const SERVER_CONFIG_YAML = `# written by bench/run.ts
server:
  shutdown_timeout: 10m
limits:
  ingestion_rate_mb: 100000
  ingestion_burst_size_mb: 100000
  query_timeout: 10m
  max_query_series: 10000
`;

async function directoryBytes(path: string): Promise<{ total: number; byEntry: Record<string, number> }> {
  const byEntry: Record<string, number> = {};
  let total = 0;
  const walk = async (dir: string): Promise<number> => {
    let sum = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) sum += await walk(full);
      else if (entry.isFile()) sum += (await stat(full)).size;
    }
    return sum;
  };
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    const size = entry.isDirectory() ? await walk(full) : (await stat(full)).size;
    byEntry[entry.name] = size;
    total += size;
  }
  return { total, byEntry };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const report = new Report();
  const results: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    command: process.argv.length > 2 ? `npm run bench -- ${process.argv.slice(2).join(' ')}` : 'npm run bench',
    options,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemoryBytes: totalmem(), node: process.version },
  };
  const log = (message: string): void => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
  const rawDir = join(options.outDir, 'raw');
  const dataDir = join(options.outDir, 'server-data');
  await rm(rawDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(options.outDir, { recursive: true });
  const configPath = join(options.outDir, 'server.yaml');
  await writeFile(configPath, SERVER_CONFIG_YAML);
  results.serverConfig = SERVER_CONFIG_YAML;

  // 1. Data. Timestamps end about an hour before now: recent enough for any "reject old samples"
  // limit, never in the future.
  const sizeBytes = Math.round(options.sizeMb * MB);
  const spanSeconds = sizeBytes / GENERATED_BYTES_PER_SIMULATED_SECOND;
  const startTimeNs = BigInt(Math.floor(Date.now() / 1000 - spanSeconds - 3600)) * 1_000_000_000n;
  log(`generating ${formatBytes(sizeBytes)} of training logs (seed ${options.seed})…`);
  const dataset: Dataset = await buildDataset({ dir: rawDir, sizeBytes, seed: options.seed, batchBytes: options.batchKb * 1024, startTimeNs });
  const spanHours = Number(dataset.lastTimestampNs - dataset.firstTimestampNs) / 3.6e12;
  if (dataset.lastTimestampNs > BigInt(Date.now()) * 1_000_000n) {
    throw new Error(`the generated run ends in the future (${spanHours.toFixed(1)} h span); lower GENERATED_BYTES_PER_SIMULATED_SECOND in bench/dataset.ts`);
  }
  results.dataset = {
    rawPath: dataset.rawPath,
    rawBytes: dataset.rawBytes,
    lineBytes: dataset.lineBytes,
    entries: dataset.entries,
    streams: dataset.streams,
    spanHours,
    firstTimestamp: new Date(Number(dataset.firstTimestampNs / 1_000_000n)).toISOString(),
    lastTimestamp: new Date(Number(dataset.lastTimestampNs / 1_000_000n)).toISOString(),
    pushBatches: dataset.batches.length,
    uniqueTokens: dataset.uniqueTokens.length,
    expected: dataset.expected,
    generateSeconds: dataset.generateSeconds,
  };
  report.add('data', 'raw text', `${formatBytes(dataset.rawBytes)}, ${formatCount(dataset.entries)} entries`, '', '', `${dataset.streams} streams, ${formatNumber(spanHours)} h of run, generated in ${formatNumber(dataset.generateSeconds)} s`);

  // 2. The compression reference.
  let zstdBytes: number | undefined;
  try {
    const zstPath = join(rawDir, 'combined.log.zst');
    const zstd = await timeCommand(['zstd', '-3', '-T1', '-q', '-f', '-o', zstPath, dataset.rawPath]);
    if (zstd.exitCode !== 0) throw new Error(`zstd exited with ${zstd.exitCode}`);
    zstdBytes = (await stat(zstPath)).size;
    results.zstd = { bytes: zstdBytes, ratio: dataset.rawBytes / zstdBytes, seconds: zstd.wallSeconds, cpuSeconds: zstd.cpuSeconds };
    report.add('storage', 'zstd -3 of the raw file', `${formatBytes(zstdBytes)} (raw/${formatNumber(dataset.rawBytes / zstdBytes)})`, '', '', `${formatNumber(dataset.rawBytes / MB / zstd.cpuSeconds)} MB/s per core`);
  } catch (error) {
    report.notAvailable('storage', 'zstd -3 of the raw file', errorMessage(error));
  }

  try {
    const ceiling = await measureScanCeiling(dataset.rawPath, 'loss');
    results.scanCeiling = ceiling;
    report.add('reference', 'Node zstd-decompress + indexOf "loss"', `${formatNumber(ceiling.rawGbPerCoreSecond)} GB/s per core`, '', '', `2 MB zstd-3 chunks, one thread, ${formatCount(ceiling.matchingLines)} lines: the ceiling for a JS literal scan`);
  } catch (error) {
    report.notAvailable('reference', 'Node zstd-decompress + indexOf', errorMessage(error));
  }

  // 3. Ingest, then a SIGTERM that flushes every head into parts.
  let server: ServerChild | undefined;
  try {
    log(`starting rankscope server on ${dataDir}…`);
    server = await startServerChild(repoRoot, dataDir, configPath);
    log(`pushing ${dataset.batches.length} batches with ${options.pushers} concurrent pushers to ${server.url}…`);
    const ingest = await runIngest(server, dataset.batches, options.pushers);
    // POST /flush cuts every head into parts, so this figure includes the cuts and the encoding.
    const flushStartedMs = performance.now();
    const flushed = await fetch(`${server.url}/flush`, { method: 'POST', signal: AbortSignal.timeout(30 * 60_000) });
    if (flushed.status !== 204) throw new Error(`POST /flush answered ${flushed.status}: ${(await flushed.text()).slice(0, 300)}`);
    const flushSeconds = (performance.now() - flushStartedMs) / 1000;
    const afterFlush = server.usage();
    const cpuWithFlushSeconds = afterFlush.cpuSeconds - (ingest.serverCpuSecondsAtEnd - ingest.serverCpuSeconds);
    const stopped = await server.stop();
    server = undefined;
    const flushCpuSeconds = Math.max(0, stopped.usage.cpuSeconds - ingest.serverCpuSecondsAtEnd);
    results.ingest = { ...ingest, flushSeconds, serverCpuSecondsWithFlush: cpuWithFlushSeconds, peakRssBytesAfterFlush: afterFlush.peakRssBytes, stopSeconds: stopped.stopSeconds, stopExitCode: stopped.exitCode, peakRssBytesWithFlush: stopped.usage.peakRssBytes, serverCpuSecondsTotal: stopped.usage.cpuSeconds };
    const rawMb = ingest.rawBytes / MB;
    report.atLeast('ingest', 'protobuf+snappy, fsync on, per core', rawMb / ingest.serverCpuSeconds, 'MB/s', TARGET_INGEST_MB_PER_CORE_SECOND, `server CPU ${formatNumber(ingest.serverCpuSeconds)} s for ${formatNumber(rawMb)} MB of lines`);
    report.add('ingest', 'lines per core-second', `${formatNumber(ingest.entries / ingest.serverCpuSeconds)} lines/s`);
    report.add('ingest', 'wall throughput', `${formatNumber(rawMb / ingest.wallSeconds)} MB/s`, '', '', `${options.pushers} pushers, ${formatNumber(ingest.wallSeconds)} s; client CPU ${formatNumber(ingest.clientCpuSeconds)} s; ${ingest.throttled} throttled`);
    report.atLeast('ingest', 'per CPU-second, first push to end of POST /flush', rawMb / cpuWithFlushSeconds, 'MB/s', TARGET_INGEST_WITH_FLUSH_MB_PER_CPU_SECOND, `server CPU ${formatNumber(cpuWithFlushSeconds)} s; /flush took ${formatNumber(flushSeconds)} s`);
    report.atMost('ingest', `peak server RSS ingesting ${formatBytes(dataset.rawBytes)}`, afterFlush.peakRssBytes / MB, 'MB', TARGET_PEAK_RSS_MB_1GB, `through POST /flush; ${formatBytes(stopped.usage.peakRssBytes)} including the shutdown`);
    report.add('ingest', 'SIGTERM flush to parts', `${formatNumber(stopped.stopSeconds)} s`, '', stopped.exitCode === 0 ? '' : 'MISS', `exit code ${stopped.exitCode}; server CPU over its whole life ${formatNumber(stopped.usage.cpuSeconds)} s (≥ ${formatNumber(flushCpuSeconds)} s after the pushes)`);
    report.add('ingest', 'per core incl. start-up and flush', `${formatNumber(rawMb / stopped.usage.cpuSeconds)} MB/s`);

    if (options.beforeRepo !== undefined) {
      // The previous version writes its own store from the same pushes: it may not read this version's
      // format (a copy of this store made it answer wrongly, or fail while this version's queries ran).
      const beforeDataDir = `${dataDir}-before`;
      await rm(beforeDataDir, { recursive: true, force: true });
      log(`pushing the same batches to the previous version (${options.beforeRepo})…`);
      const beforeServer = await startServerChild(options.beforeRepo, beforeDataDir, configPath);
      try {
        await runIngest(beforeServer, dataset.batches, options.pushers);
        const beforeFlushed = await fetch(`${beforeServer.url}/flush`, { method: 'POST', signal: AbortSignal.timeout(30 * 60_000) });
        if (beforeFlushed.status !== 204) throw new Error(`previous version: POST /flush answered ${beforeFlushed.status}`);
      } finally {
        await beforeServer.stop();
      }
    }
    // The encoded requests (a third of the raw size) are not needed any more.
    dataset.batches.length = 0;

    const disk = await directoryBytes(dataDir);
    results.storage = { diskBytes: disk.total, byEntry: disk.byEntry, rawOverDisk: dataset.rawBytes / disk.total, zstdBytes };
    report.atMost('storage', 'bytes on disk / raw', disk.total / dataset.rawBytes, '', TARGET_STORED_FRACTION, `${formatBytes(disk.total)} on disk (${Object.entries(disk.byEntry).map(([name, bytes]) => `${name} ${formatBytes(bytes)}`).join(', ')})`);
    if (zstdBytes !== undefined) report.add('storage', 'bytes on disk / zstd -3', `${formatNumber(disk.total / zstdBytes)}×`);
  } catch (error) {
    report.notAvailable('ingest', 'ingest through HTTP', errorMessage(error));
    if (server !== undefined) {
      log(`server output tail:\n${server.output().slice(-2000)}`);
      await server.stop().catch(() => undefined);
      server = undefined;
    }
  }

  // 4. Queries against a restarted server: everything comes from parts on disk.
  const queries: QueryMeasurement[] = [];
  const queryErrors: Record<string, string> = {};
  let before: { repo: string; server: ServerChild } | undefined;
  try {
    if (!existsSync(dataDir)) throw new Error('no data was ingested');
    // --before-repo: the previous version answers the parser queries on the store it wrote from the
    // same pushes (above), in the same run (the loss curve has no other reference here).
    if (options.beforeRepo !== undefined) {
      const beforeDataDir = `${dataDir}-before`;
      try {
        before = { repo: options.beforeRepo, server: await startServerChild(options.beforeRepo, beforeDataDir, configPath) };
      } catch (error) {
        report.notAvailable('query', `previous version (${options.beforeRepo})`, errorMessage(error));
      }
    }
    const restartedMs = performance.now();
    server = await startServerChild(repoRoot, dataDir, configPath);
    report.add('query', 'restart until ready', `${formatNumber((performance.now() - restartedMs) / 1000)} s`);
    const window = queryWindow(dataset);
    const needle = dataset.uniqueTokens[Math.floor(dataset.uniqueTokens.length / 2)] ?? 'no-unique-token';
    const grepCache = new Map();
    const previous = await previousQueryFigures(join(options.outDir, 'results.json'));
    const measureBefore = async (reference: { repo: string; server: ServerChild }, spec: QuerySpec): Promise<QueryMeasurement['before']> => {
      try {
        const m = await measureQuery(reference.server, spec, window, dataset, options.repeat, grepCache);
        return { repo: reference.repo, latencyMs: m.latencyMs, serverCpuSeconds: m.serverCpuSeconds, correct: m.correct };
      } catch (error) {
        return { repo: reference.repo, error: errorMessage(error) };
      }
    };
    for (const spec of querySpecs(dataset, window, needle)) {
      log(`query ${spec.id}: ${spec.query}`);
      try {
        // Each version first every other query, so neither always runs on the other's warm caches.
        const beforeFirst = before !== undefined && spec.parser === true && queries.length % 2 === 1;
        const reference = beforeFirst ? await measureBefore(before!, spec) : undefined;
        const measured = await measureQuery(server, spec, window, dataset, options.repeat, grepCache, spec.parser ? previous.get(spec.id) : undefined);
        const sameRun = reference ?? (before !== undefined && spec.parser === true ? await measureBefore(before, spec) : undefined);
        if (sameRun !== undefined) measured.before = sameRun;
        queries.push(measured);
        addQueryRows(report, measured);
      } catch (error) {
        queryErrors[spec.id] = errorMessage(error);
        report.notAvailable('query', spec.title, errorMessage(error));
      }
    }
    const needleRun = queries.find((m) => m.id === 'needle');
    const blocksInStore = Math.max(0, ...queries.map((m) => m.blocksTotal ?? 0));
    if (needleRun !== undefined && blocksInStore > 0) {
      // The token occurs once, so it is in exactly one block; the full scans saw every block.
      report.add('query', 'needle: blocks holding the token', `1 of ${formatCount(blocksInStore)} (${formatNumber(100 / blocksInStore)}%)`, '< 0.01%', '', `the store read ${formatCount(needleRun.blocksRead ?? 0)} block(s) for it; below 10,000 blocks one block is more than 0.01%`);
    }
  } catch (error) {
    report.notAvailable('query', 'queries', errorMessage(error));
  } finally {
    if (server !== undefined) await server.stop().catch(() => undefined);
    if (before !== undefined) await before.server.stop().catch(() => undefined);
    if (options.beforeRepo !== undefined) await rm(`${dataDir}-before`, { recursive: true, force: true });
  }
  results.queries = queries;
  results.queryErrors = queryErrors;

  // 5. Issue 9's ingest figures on the 244 MB, 8-rank log: CPU through POST /flush, peak RSS, and the
  // stored size against zstd -3 and zstd -19 --long=27 (bench/ingest-flush-bench.ts).
  if (options.ingestFlush) {
    try {
      log('running bench/ingest-flush-bench.ts…');
      const args = options.quick ? ['--size-mb', '50', '--no-zstd19'] : [];
      if (options.beforeRepo !== undefined) args.push('--before-repo', options.beforeRepo);
      const figures = await runJsonBench(join(repoRoot, 'bench', 'ingest-flush-bench.ts'), [...args, '--out', join(options.outDir, 'ingest-flush')]);
      results.ingestFlush = figures;
      addIngestFlushRows(report, figures);
    } catch (error) {
      report.notAvailable('ingest 244 MB', 'bench/ingest-flush-bench.ts', errorMessage(error));
    }
    // The same log with stream groups off (store.stream_groups, on by default): what they save on
    // disk beside what they cost in memory and CPU, against the run above.
    try {
      log('running bench/ingest-flush-bench.ts with store.stream_groups.enabled: false…');
      const groupsConfig = join(options.outDir, 'stream-groups-off.yaml');
      await mkdir(options.outDir, { recursive: true });
      await writeFile(groupsConfig, 'store:\n  stream_groups:\n    enabled: false\n');
      const args = options.quick ? ['--size-mb', '50'] : [];
      const figures = await runJsonBench(join(repoRoot, 'bench', 'ingest-flush-bench.ts'), [...args, '--no-zstd19', '--config', groupsConfig, '--out', join(options.outDir, 'ingest-flush-groups-off')]);
      results.ingestFlushGroupsOff = figures;
      addGroupsOffRows(report, figures, results.ingestFlush as Record<string, number | string> | undefined);
    } catch (error) {
      report.notAvailable('groups off', 'bench/ingest-flush-bench.ts --config (stream_groups.enabled: false)', errorMessage(error));
    }
  }

  // 6. The agent's own benchmark, when it exists.
  const agentScript = join(repoRoot, 'bench', 'agent-bench.ts');
  if (options.agent && existsSync(agentScript)) {
    try {
      log('running bench/agent-bench.ts…');
      const agent = await runAgentBench(agentScript, options.quick, join(options.outDir, 'agent'));
      results.agent = agent;
      report.add('agent', 'bench/agent-bench.ts', agent.exitCode === 0 ? 'ran' : `exit ${agent.exitCode}`, '', agent.exitCode === 0 ? '' : 'MISS', 'its own figures are printed above the table and saved in results.json');
      addAgentRows(report, agent.figures);
    } catch (error) {
      report.notAvailable('agent', 'bench/agent-bench.ts', errorMessage(error));
    }
  } else {
    report.notAvailable('agent', 'bench/agent-bench.ts', options.agent ? 'bench/agent-bench.ts does not exist yet' : 'skipped (--no-agent)');
  }

  // 6. Training runs (issue 11): run-tracking cost at ingest and the series API on a big run.
  try {
    log('running bench/training-bench.ts…');
    const training = await runTrainingBench({ lines: options.quick ? 1_000_000 : 10_000_000, ingestMb: options.quick ? 30 : 200 });
    results.training = training;
    report.add('training', 'ingest CPU with run tracking', `+${formatNumber(training.trackerCpuRatio * 100)}%`, '≤ 15%', training.trackerCpuRatio <= 0.15 ? '' : 'MISS', `server CPU ${formatNumber(training.ingestCpuSecondsWithout)} s → ${formatNumber(training.ingestCpuSecondsWith)} s over ${formatCount(training.ingestLines)} lines`);
    report.add('training', 'run tracker CPU per line, in process', `${formatNumber(training.trackerUsPerLine)} µs`, '', '', `${formatCount(training.seriesLines)} lines; node bench/training-tracker-cpu.ts --base DIR compares two trackers`);
    report.add('training', `series API, ${formatCount(training.seriesLines)}-line run, all ranks`, `${formatNumber(training.seriesAllRanksMs)} ms`, '< 200 ms', training.seriesAllRanksMs < 200 ? '' : 'MISS', `${formatCount(training.seriesPoints)} points`);
    report.add('training', 'series API, one rank', `${formatNumber(training.seriesOneRankMs)} ms`, '< 200 ms', training.seriesOneRankMs < 200 ? '' : 'MISS');
  } catch (error) {
    report.notAvailable('training', 'bench/training-bench.ts', errorMessage(error));
  }

  // 7. What GPU and node collection adds to the agent (bench/agent-gpu-bench.ts).
  if (options.agent) {
    try {
      log('running bench/agent-gpu-bench.ts…');
      const gpu = await runAgentBench(join(repoRoot, 'bench', 'agent-gpu-bench.ts'), options.quick, join(options.outDir, 'agent-gpu'));
      results.agentGpu = gpu;
      const figures = gpu.figures as { extraCpuFraction?: number; cpuFractionWithout?: number; extraRssMb?: number; verdict?: string } | undefined;
      if (gpu.exitCode === 0 && figures?.extraCpuFraction !== undefined) {
        report.add('agent', 'GPU collection: extra CPU (8 GPUs, 1 s)', `${formatNumber(figures.extraCpuFraction * 100)}% of a core`, '< 1%', figures.verdict === 'ok' ? 'ok' : 'MISS', `agent without collection in the same run: ${formatNumber((figures.cpuFractionWithout ?? 0) * 100)}%; +${figures.extraRssMb} MB RSS`);
      } else report.notAvailable('agent', 'bench/agent-gpu-bench.ts', `exit ${gpu.exitCode}`);
    } catch (error) {
      report.notAvailable('agent', 'bench/agent-gpu-bench.ts', errorMessage(error));
    }
  }

  // 8. PromQL query latency against Debian's Prometheus in the same run (bench/promql-compare-bench.ts).
  if (existsSync('/usr/bin/prometheus')) {
    try {
      log('running bench/promql-compare-bench.ts…');
      const figures = await runJsonBench(join(repoRoot, 'bench', 'promql-compare-bench.ts'), options.quick ? ['--series', '2000', '--repeat', '3'] : []);
      results.promqlCompare = figures;
      addPromqlCompareRows(report, figures);
    } catch (error) {
      report.notAvailable('promql', 'bench/promql-compare-bench.ts', errorMessage(error));
    }
    // The issue's 24 h windows: a day and an hour of fewer series (about 2 minutes to write to both).
    try {
      log('running bench/promql-compare-bench.ts over 25 h…');
      const figures = await runJsonBench(join(repoRoot, 'bench', 'promql-compare-bench.ts'), ['--series', options.quick ? '300' : '1000', '--hours', '25', '--repeat', '3']);
      results.promqlCompareDay = figures;
      addPromqlCompareRows(report, figures);
    } catch (error) {
      report.notAvailable('promql', 'bench/promql-compare-bench.ts --hours 25', errorMessage(error));
    }
  } else report.notAvailable('promql', 'bench/promql-compare-bench.ts', '/usr/bin/prometheus is not installed');
  // 9. Metrics (issue 12): the TSDB beside Debian's Prometheus, fed the same remote write in the
  // same run (bench/tsdb-bench.ts): RSS, bytes per sample in blocks, ingest CPU.
  if (options.tsdb) {
    try {
      log('running bench/tsdb-bench.ts…');
      const args = ['--series', options.quick ? '20000' : '100000', '--hours', '2', '--out', join(options.outDir, 'tsdb')];
      const figures = await runJsonBench(join(repoRoot, 'bench', 'tsdb-bench.ts'), args);
      results.tsdb = figures;
      addTsdbRows(report, figures);
    } catch (error) {
      report.notAvailable('metrics', 'bench/tsdb-bench.ts', errorMessage(error));
    }
  } else {
    report.notAvailable('metrics', 'bench/tsdb-bench.ts', 'skipped (--no-tsdb)');
  }

  results.table = report.rows;
  results.finishedAt = new Date().toISOString();
  const resultsPath = join(options.outDir, 'results.json');
  await writeFile(resultsPath, JSON.stringify(results, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2) + '\n');
  if (!options.keepData) {
    await rm(dataDir, { recursive: true, force: true });
    await rm(rawDir, { recursive: true, force: true });
  }
  console.log(report.format());
  console.log(`\nresults: ${resultsPath}`);
}

function addQueryRows(report: Report, m: QueryMeasurement): void {
  const verdictWrong = m.correct ? undefined : `WRONG ANSWER: ${m.verifyMessage}`;
  const context = `${formatNumber(m.latencyMs)} ms (first ${formatNumber(m.firstLatencyMs)} ms), server CPU ${formatNumber(m.serverCpuSeconds * 1000)} ms; grep ${formatNumber(m.grepMs)} ms → ${formatCount(m.grepCount)} lines; answer ${m.id.startsWith('loss-curve') ? `${m.answerSeries} series` : formatCount(m.answerTotal)}${m.blocksTotal === undefined ? '' : `; read ${formatCount(m.blocksRead ?? 0)} of ${formatCount(m.blocksTotal)} blocks`}`;
  if (m.target?.latencyMs !== undefined) {
    report.atMost('query', `${m.title}: latency`, m.latencyMs, 'ms', m.target.latencyMs, verdictWrong ?? context);
  } else {
    report.add('query', `${m.title}: latency`, `${formatNumber(m.latencyMs)} ms`, '', m.correct ? '' : 'WRONG', verdictWrong ?? context);
  }
  if (m.target?.gbPerCoreSecond !== undefined) report.atLeast('query', `${m.title}: raw per core`, m.rawGbPerCoreSecond, 'GB/s', m.target.gbPerCoreSecond);
  else if (m.target?.latencyMs === undefined) report.add('query', `${m.title}: raw per core`, `${formatNumber(m.rawGbPerCoreSecond)} GB/s`);
  if (m.target?.grepRatio !== undefined) {
    report.atMost('query', `${m.title}: time vs grep`, m.wallRatioVsGrep, '×', m.target.grepRatio, `CPU vs grep ${formatNumber(m.cpuRatioVsGrep)}×`);
  } else if (m.target?.latencyMs === undefined) {
    report.add('query', `${m.title}: time vs grep`, `${formatNumber(m.wallRatioVsGrep)}×`, '', '', `CPU vs grep ${formatNumber(m.cpuRatioVsGrep)}×`);
  }
  if (m.before !== undefined) {
    const b = m.before;
    if (b.error !== undefined) report.notAvailable('query', `${m.title}: previous version, same run`, b.error);
    else report.add('query', `${m.title}: previous version, same run`, `${formatNumber(b.latencyMs!)} ms`, '', b.correct ? '' : 'WRONG', `${b.repo}: server CPU ${formatNumber(b.serverCpuSeconds! * 1000)} ms; this version ${formatNumber(m.serverCpuSeconds / b.serverCpuSeconds!)}× its CPU, ${formatNumber(m.latencyMs / b.latencyMs!)}× its latency`);
  }
  if (m.previous !== undefined) {
    const p = m.previous;
    report.add('query', `${m.title}: previous run`, `${formatNumber(p.latencyMs)} ms`, '', '', `${formatNumber(p.rawGbPerCoreSecond)} GB/s per core, ${formatNumber(p.wallRatioVsGrep)}× grep${p.finishedAt === undefined ? '' : ` (${p.finishedAt})`}`);
  }
}

/** Runs a bench script that prints its table and, last, its figures as one JSON line. */
async function runJsonBench(script: string, args: string[]): Promise<Record<string, number | string>> {
  const child = spawn(process.execPath, [script, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    output += chunk.toString('utf8');
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  if (exitCode !== 0) throw new Error(`${script} exited with ${exitCode}`);
  const jsonLine = output.split('\n').reverse().find((line) => line.trim().startsWith('{'));
  if (jsonLine === undefined) throw new Error(`${script} printed no figures`);
  return JSON.parse(jsonLine) as Record<string, number | string>;
}

function addIngestFlushRows(report: Report, figures: Record<string, number | string>): void {
  const number = (name: string): number => (typeof figures[name] === 'number' ? (figures[name] as number) : Number.NaN);
  const rawBytes = number('rawBytes');
  const note = `${figures.command as string}; ${formatBytes(rawBytes)}, ${number('pushes')} pushes`;
  // With --before-repo, the same figures of the previous version from the same run.
  const before = (figures as Record<string, unknown>).before as { repo: string; mbPerServerCpuSecond: number; peakRssBytes: number } | undefined;
  const versus = (value: number, reference: number | undefined): string => (reference === undefined ? '' : `; ${formatNumber(value / reference)}× ${before!.repo} (${formatNumber(reference)})`);
  report.atLeast('ingest 244 MB', 'per CPU-second, first push to end of POST /flush', number('mbPerServerCpuSecond'), 'MB/s', TARGET_INGEST_WITH_FLUSH_MB_PER_CPU_SECOND, note + versus(number('mbPerServerCpuSecond'), before?.mbPerServerCpuSecond));
  report.atMost('ingest 244 MB', `peak server RSS for ${formatBytes(rawBytes)} of log`, number('peakRssBytes') / MB, 'MB', 150, versus(number('peakRssBytes') / MB, before === undefined ? undefined : before.peakRssBytes / MB).replace(/^; /, '') || undefined);
  const references = ['zstd -3', 'zstd -19 --long=27'].filter((name) => typeof figures[name] === 'number');
  report.atMost('ingest 244 MB', 'stored after POST /flush, % of raw', (100 * number('storedBytes')) / rawBytes, '%', 100 * TARGET_STORED_FRACTION, references.map((name) => `${name}: ${formatNumber((100 * number(name)) / rawBytes)}%`).join(', '));
}

/** The 244 MB ingest with stream groups off, beside the default run's figures (no targets: the default carries them). */
function addGroupsOffRows(report: Report, figures: Record<string, number | string>, defaults: Record<string, number | string> | undefined): void {
  const number = (from: Record<string, number | string> | undefined, name: string): number => (typeof from?.[name] === 'number' ? (from[name] as number) : Number.NaN);
  const rawBytes = number(figures, 'rawBytes');
  const beside = (name: string, scale: number, unit: string): string => (defaults === undefined ? '' : `groups on (the default, above): ${formatNumber(number(defaults, name) * scale)} ${unit}`);
  report.add('groups off', 'stored after POST /flush, % of raw', `${formatNumber((100 * number(figures, 'storedBytes')) / rawBytes)} %`, '', '', `${beside('storedBytes', 100 / number(defaults, 'rawBytes'), '%')}; ${figures.command as string}`);
  report.add('groups off', `peak server RSS for ${formatBytes(rawBytes)} of log`, `${formatNumber(number(figures, 'peakRssBytes') / MB)} MB`, '', '', beside('peakRssBytes', 1 / MB, 'MB'));
  report.add('groups off', 'per CPU-second, first push to end of POST /flush', `${formatNumber(number(figures, 'mbPerServerCpuSecond'))} MB/s`, '', '', beside('mbPerServerCpuSecond', 1, 'MB/s'));
}

/** One row per query: rankscope's median latency over Prometheus' in the same run (target ≤ 1, answers equal). */
function addPromqlCompareRows(report: Report, figures: Record<string, unknown>): void {
  const queries = Array.isArray(figures.queries) ? (figures.queries as Array<{ id: string; oursMs: number; prometheusMs: number; latencyRatio: number; agree: boolean; difference?: string }>) : [];
  const workload = `${String(figures.series)} series × ${String(figures.hours)} h`;
  for (const query of queries) {
    const note = `${formatNumber(query.oursMs)} ms vs Prometheus ${formatNumber(query.prometheusMs)} ms; ${workload}`;
    if (query.agree) report.atMost('promql', `${query.id}: time / Prometheus`, query.latencyRatio, '×', 1, note);
    else report.add('promql', `${query.id}: time / Prometheus`, `${formatNumber(query.latencyRatio)}×`, '≤ 1 ×', 'WRONG', `answers differ: ${query.difference ?? ''}`);
  }
  if (typeof figures.geometricMeanLatencyRatio === 'number') report.add('promql', 'geometric mean of the ratios', `${formatNumber(figures.geometricMeanLatencyRatio)}×`, '', '', String(figures.command));
}

/** The TSDB beside Prometheus: RSS, bytes per sample in blocks and ingest CPU, same run. */
function addTsdbRows(report: Report, figures: Record<string, number | string>): void {
  const number = (name: string): number => (typeof figures[name] === 'number' ? (figures[name] as number) : Number.NaN);
  const workload = `${formatCount(number('series'))} series × ${number('steps')} scrapes (${figures.workload as string}); ${figures.command as string}`;
  report.atMost('metrics', 'RSS at end of ingest vs Prometheus', number('rssRatio'), '×', 0.5, `${formatBytes(number('oursRssPerSeriesBytes'))} vs ${formatBytes(number('prometheusRssPerSeriesBytes'))} per series; ${workload}`);
  report.atMost('metrics', 'bytes per sample in blocks', number('oursBytesPerSample'), 'B', 1.0, `Prometheus: ${formatNumber(number('prometheusBytesPerSample'))} B (its blocks and head snapshot, same run)`);
  report.atLeast('metrics', 'ingest samples per CPU-second vs Prometheus', number('ingestRatio'), '×', 2, `${formatCount(number('oursSamplesPerCpuSecond'))} vs ${formatCount(number('prometheusSamplesPerCpuSecond'))}`);
}

/** The agent bench's JSON figures, where present (it owns their names; absent ones are skipped). */
function addAgentRows(report: Report, figures: unknown): void {
  if (figures === null || typeof figures !== 'object') return;
  const value = (name: string): number | undefined => {
    const found = (figures as Record<string, unknown>)[name];
    return typeof found === 'number' ? found : undefined;
  };
  const mbPerCore = value('mbPerCoreSecond');
  const linesPerCore = value('linesPerCoreSecond');
  const steadyCpu = value('steadyCpuFractionOfCore');
  const steadyRssMb = value('steadyMaxRssMb');
  if (mbPerCore !== undefined) report.add('agent', 'tailing into the server, per core', `${formatNumber(mbPerCore)} MB/s`, '', '', linesPerCore === undefined ? undefined : `${formatCount(linesPerCore)} lines/s per core`);
  if (steadyCpu !== undefined) report.atMost('agent', 'CPU at a steady 10k lines/s', steadyCpu * 100, '% of a core', 5);
  if (steadyRssMb !== undefined) report.atMost('agent', 'RSS at a steady 10k lines/s', steadyRssMb, 'MB', 100);
}

async function runAgentBench(script: string, quick: boolean, outDir: string): Promise<{ exitCode: number | null; output: string; figures?: unknown }> {
  await mkdir(outDir, { recursive: true });
  const args = [script, '--out', outDir];
  if (quick) args.push('--quick');
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    output += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), 15 * 60_000);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  }).finally(() => clearTimeout(timer));
  // The agent bench may print its figures as one JSON line; keep them if it does.
  const jsonLine = output.split('\n').reverse().find((line) => line.trim().startsWith('{'));
  let figures: unknown;
  try {
    figures = jsonLine === undefined ? undefined : JSON.parse(jsonLine);
  } catch {
    figures = undefined;
  }
  return { exitCode, output: output.slice(-20_000), ...(figures === undefined ? {} : { figures }) };
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${errorMessage(error)}`);
  process.exitCode = 1;
});
