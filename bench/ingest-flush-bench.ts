// Ingest through the flush (issue 9): generates the 8-rank training log, pushes it to a real server
// child as protobuf+snappy requests (4 in flight), then POST /flush. Prints, each beside a reference
// from the same run:
// - MB of raw log per server CPU-second, counted from the first push to the end of POST /flush, so
//   the head cuts and block encoding are in it;
// - the server's peak RSS beside the data size;
// - bytes stored after the flush as a share of raw, beside `zstd -3` and `zstd -19 --long=27`.
//
//   node bench/ingest-flush-bench.ts [--size-mb 244] [--pushers 4] [--batch-kb 1000] [--no-zstd19]
//                                     [--config extra.yaml] [--out DIR] [--keep-data]
//                                     [--before-repo DIR] [--rounds N]
// --before-repo runs a checkout of the previous version the same way in the same run (a reference
// for every figure); --rounds alternates the two N times and reports medians.
// The last stdout line is the figures as JSON (bench/run.ts and scripts read it).

import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDataset, GENERATED_BYTES_PER_SIMULATED_SECOND } from './dataset.ts';
import { runIngest } from './ingest-bench.ts';
import { median, timeCommand } from './process-usage.ts';
import { errorMessage, formatBytes, formatNumber, Report } from './report.ts';
import { FLUSH_TIMEOUT_MS, sampleServerMemory, startServerChild, unthrottledServerConfig } from './server-child.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1_000_000;
/** Issue 9's targets on the 244 MB log. */
const TARGET_MB_PER_CPU_SECOND = 62;
const TARGET_PEAK_RSS_MB = 150;
const TARGET_STORED_FRACTION = 0.1;

const BASE_CONFIG_YAML = unthrottledServerConfig('bench/ingest-flush-bench.ts');

interface ServerFigures {
  rawBytes: number;
  mbPerServerCpuSecond: number;
  serverCpuSeconds: number;
  peakRssBytes: number;
  peakRssBytesBeforeFlush: number;
  flushSeconds: number;
  ingestWallSeconds: number;
  throttled: number;
  storedBytes: number;
  walBytesAfterFlush: number;
  /** Stored bytes by kind, as "part data 31.2 MB (12.8%), part indexes …" (text: the first round's). */
  storedBreakdown: string;
}

/** Per figure, the median over rounds. */
function medianFigures(rounds: ServerFigures[]): ServerFigures {
  const result = { ...rounds[0]! };
  const numeric = Object.keys(result).filter((key) => key !== 'storedBreakdown') as Array<Exclude<keyof ServerFigures, 'storedBreakdown'>>;
  for (const key of numeric) result[key] = median(rounds.map((round) => round[key]));
  return result;
}

async function directoryBytes(path: string): Promise<number> {
  let sum = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) sum += await directoryBytes(full);
    else if (entry.isFile()) sum += (await stat(full)).size;
  }
  return sum;
}

/**
 * Where the stored bytes are: log part data (blocks), part indexes (block lists and token filters),
 * label indexes, the log WAL, and anything else by top-level directory (the TSDB, say).
 */
async function storedBreakdown(dataDir: string): Promise<{ parts: number; bytes: Record<string, number> }> {
  const bytes: Record<string, number> = {};
  let parts = 0;
  const walk = async (path: string, top: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) {
        await walk(full, top === '' ? entry.name : top);
        continue;
      }
      if (!entry.isFile()) continue;
      let kind = top === '' ? 'other' : top;
      if (top === 'objects') {
        if (entry.name.endsWith('.data')) kind = 'part data';
        else if (entry.name === 'labels.index') kind = 'label indexes';
        else if (entry.name.endsWith('.index')) kind = 'part indexes';
      } else if (top === 'wal') kind = 'WAL';
      if (kind === 'part data') parts++;
      bytes[kind] = (bytes[kind] ?? 0) + (await stat(full)).size;
    }
  };
  await walk(dataDir, '');
  return { parts, bytes };
}

async function zstdReference(rawPath: string, args: string[], outPath: string): Promise<{ bytes: number; cpuSeconds: number }> {
  const run = await timeCommand(['zstd', ...args, '-T1', '-q', '-f', '-o', outPath, rawPath], { timeoutMs: 30 * 60_000 });
  if (run.exitCode !== 0) throw new Error(`zstd ${args.join(' ')} exited with ${run.exitCode}`);
  const bytes = (await stat(outPath)).size;
  await rm(outPath, { force: true });
  return { bytes, cpuSeconds: run.cpuSeconds };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'size-mb': { type: 'string', default: '244' },
      pushers: { type: 'string', default: '4' },
      'batch-kb': { type: 'string', default: '1000' },
      seed: { type: 'string', default: '42' },
      'no-zstd19': { type: 'boolean', default: false },
      config: { type: 'string' },
      out: { type: 'string', default: join(repoRoot, 'bench', 'out', 'ingest-flush') },
      'keep-data': { type: 'boolean', default: false },
      /** A checkout of the previous version: measured the same way in the same run, as the reference. */
      'before-repo': { type: 'string' },
      rounds: { type: 'string', default: '1' },
      /** Print a timeline of the server's RSS and head bytes, sampled this often. */
      'sample-ms': { type: 'string' },
    },
  });
  const sizeBytes = Math.round(Number(values['size-mb']) * MB);
  const pushers = Math.max(1, Math.round(Number(values.pushers)));
  const batchBytes = Math.round(Number(values['batch-kb']) * 1000);
  if (!(sizeBytes > 0) || !(batchBytes > 0)) throw new Error('--size-mb and --batch-kb must be positive numbers');
  const outDir = values.out;
  const rawDir = join(outDir, 'raw');
  const dataDir = join(outDir, 'server-data');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const configPath = join(outDir, 'server.yaml');
  const extra = values.config === undefined ? '' : await readFile(values.config, 'utf8');
  await writeFile(configPath, BASE_CONFIG_YAML + extra);
  const log = (message: string): void => console.error(`[ingest-flush ${new Date().toISOString().slice(11, 19)}] ${message}`);
  const report = new Report();
  const figures: Record<string, number | string | Record<string, number | string>> = { command: `node bench/ingest-flush-bench.ts ${process.argv.slice(2).join(' ')}`.trim() };

  const spanSeconds = sizeBytes / GENERATED_BYTES_PER_SIMULATED_SECOND;
  const startTimeNs = BigInt(Math.floor(Date.now() / 1000 - spanSeconds - 3600)) * 1_000_000_000n;
  log(`generating ${formatBytes(sizeBytes)} of training logs…`);
  const dataset = await buildDataset({ dir: rawDir, sizeBytes, seed: Number(values.seed), batchBytes, startTimeNs });
  figures.rawBytes = dataset.rawBytes;
  figures.entries = dataset.entries;
  figures.pushes = dataset.batches.length;
  report.add('data', 'raw log', `${formatBytes(dataset.rawBytes)}, ${dataset.entries} lines`, '', '', `${dataset.streams} streams, ${dataset.batches.length} pushes of ~${formatBytes(batchBytes)}, ${pushers} in flight`);

  const references: Array<[string, string[]]> = [['zstd -3', ['-3']]];
  if (!values['no-zstd19']) references.push(['zstd -19 --long=27', ['-19', '--long=27']]);
  const referenceBytes: Record<string, number> = {};
  for (const [name, args] of references) {
    log(`${name} of the raw file…`);
    try {
      const reference = await zstdReference(dataset.rawPath, args, join(rawDir, 'reference.zst'));
      referenceBytes[name] = reference.bytes;
      figures[name] = reference.bytes;
      report.add('storage', name, `${formatBytes(reference.bytes)} (${formatNumber((100 * reference.bytes) / dataset.rawBytes)}% of raw)`, '', '', `${formatNumber(dataset.rawBytes / MB / reference.cpuSeconds)} MB per CPU-second`);
    } catch (error) {
      report.notAvailable('storage', name, errorMessage(error));
    }
  }

  const serverFigures = async (repo: string, label: string): Promise<ServerFigures> => {
    await rm(dataDir, { recursive: true, force: true });
    log(`${label}: starting the server…`);
    const server = await startServerChild(repo, dataDir, configPath);
    try {
      log(`${label}: pushing ${dataset.batches.length} batches…`);
      const sampleMs = values['sample-ms'] === undefined ? 0 : Number(values['sample-ms']);
      const sampler = sampleServerMemory(server, sampleMs);
      const startCpu = server.usage().cpuSeconds;
      const ingest = await runIngest(server, dataset.batches, pushers);
      const peakBeforeFlush = server.usage().peakRssBytes;
      log(`${label}: POST /flush…`);
      const flushStartedMs = performance.now();
      const response = await fetch(`${server.url}/flush`, { method: 'POST', signal: AbortSignal.timeout(FLUSH_TIMEOUT_MS) });
      if (response.status !== 204) throw new Error(`POST /flush answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
      const flushSeconds = (performance.now() - flushStartedMs) / 1000;
      const timeline = sampler.stop();
      if (timeline.length > 0) console.error(timeline.join('\n'));
      const usage = server.usage();
      const cpuSeconds = usage.cpuSeconds - startCpu;
      const storedBytes = await directoryBytes(dataDir);
      const walBytes = await directoryBytes(join(dataDir, 'wal')).catch(() => 0);
      const breakdown = await storedBreakdown(dataDir);
      // Kinds under 1 KB (markers, empty WALs) are left out of the text, not out of the total.
      const storedBreakdownText = Object.entries(breakdown.bytes)
        .filter(([, bytes]) => bytes >= 1024)
        .sort((a, b) => b[1] - a[1])
        .map(([kind, bytes]) => `${kind} ${formatBytes(bytes)} (${formatNumber((100 * bytes) / dataset.rawBytes)}% of raw)`)
        .concat(`${breakdown.parts} parts`)
        .join(', ');
      return {
        rawBytes: ingest.rawBytes,
        mbPerServerCpuSecond: ingest.rawBytes / MB / cpuSeconds,
        serverCpuSeconds: cpuSeconds,
        peakRssBytes: usage.peakRssBytes,
        peakRssBytesBeforeFlush: peakBeforeFlush,
        flushSeconds,
        ingestWallSeconds: ingest.wallSeconds,
        throttled: ingest.throttled,
        storedBytes,
        walBytesAfterFlush: walBytes,
        storedBreakdown: storedBreakdownText,
      };
    } finally {
      await server.stop();
    }
  };

  // Rounds alternate the reference and this tree, so both see the same load on a shared machine;
  // each figure is the median over the rounds.
  const rounds = Math.max(1, Math.round(Number(values.rounds)));
  const beforeRepo = values['before-repo'];
  const ours: ServerFigures[] = [];
  const before: ServerFigures[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      if (beforeRepo !== undefined) before.push(await serverFigures(beforeRepo, `before (${beforeRepo}), round ${round + 1}`));
      ours.push(await serverFigures(repoRoot, `this tree, round ${round + 1}`));
    }
  } finally {
    if (!values['keep-data']) await rm(outDir, { recursive: true, force: true });
  }
  const result = medianFigures(ours);
  Object.assign(figures, result, { rounds });
  const rawMb = result.rawBytes / MB;
  const ratio = (value: number, reference: number | undefined): string => (reference === undefined ? '' : `; ${formatNumber(value / reference)}× before (${formatNumber(reference)})`);
  const reference = before.length > 0 ? medianFigures(before) : undefined;
  if (reference !== undefined) figures.before = { repo: beforeRepo!, ...reference };
  report.atLeast(
    'ingest',
    'raw MB per server CPU-second, pushes + flush',
    result.mbPerServerCpuSecond,
    'MB',
    TARGET_MB_PER_CPU_SECOND,
    `${formatNumber(result.serverCpuSeconds)} CPU-s for ${formatNumber(rawMb)} MB of lines; pushes ${formatNumber(result.ingestWallSeconds)} s wall, /flush ${formatNumber(result.flushSeconds)} s; ${result.throttled} throttled${ratio(result.mbPerServerCpuSecond, reference?.mbPerServerCpuSecond)}`,
  );
  report.atMost(
    'ingest',
    `peak server RSS for ${formatBytes(dataset.rawBytes)} of log`,
    result.peakRssBytes / MB,
    'MB',
    TARGET_PEAK_RSS_MB,
    `${formatNumber(result.peakRssBytesBeforeFlush / MB)} MB before the flush${ratio(result.peakRssBytes / MB, reference === undefined ? undefined : reference.peakRssBytes / MB)}`,
  );
  const notes = Object.entries(referenceBytes).map(([name, bytes]) => `${formatNumber(result.storedBytes / bytes)}× ${name}`);
  report.atMost('storage', 'stored after POST /flush, % of raw', (100 * result.storedBytes) / dataset.rawBytes, '%', 100 * TARGET_STORED_FRACTION, `${formatBytes(result.storedBytes)} (WAL ${formatBytes(result.walBytesAfterFlush)}); ${notes.join(', ')}`);
  report.add('storage', 'stored bytes by kind', '', '', '', result.storedBreakdown);
  if (rounds > 1) report.add('ingest', 'rounds', String(rounds), '', '', 'medians; the reference and this tree alternate');
  console.log(report.format());
  console.log(JSON.stringify(figures));
}

main().catch((error: unknown) => {
  console.error(`ingest-flush bench failed: ${errorMessage(error)}`);
  process.exitCode = 1;
});
