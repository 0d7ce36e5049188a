// Server memory variants side by side (issue 9, item 3): generates the 8-rank training log once,
// then ingests it (protobuf+snappy, 4 pushes in flight, then POST /flush) into one real server child
// per variant, the variants alternating over rounds, and prints each one's peak RSS and server
// CPU-seconds (medians), beside the first variant's as a ratio. A variant is a checkout, extra
// environment (V8 flags through NODE_OPTIONS, glibc's MALLOC_* tunables) and extra config YAML.
//
//   node_modules/node/bin/node bench/server-rss-ab.ts --variant 'base|repo=/work/base-4d04bd6' \
//     --variant 'arena2|env=MALLOC_ARENA_MAX=2' --variant 'heads8|config=store: {memory: {head_bytes: 8MB}}' \
//     [--size-mb 244] [--rounds 2] [--pushers 4] [--sample-ms 1000]
//
// A variant is `name|key=value|…` with keys repo (default: this checkout), env (NAME=value, repeatable)
// and config (YAML appended to the harness's config). The last stdout line is the medians as JSON.

import { readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDataset, GENERATED_BYTES_PER_SIMULATED_SECOND } from './dataset.ts';
import { runIngest } from './ingest-bench.ts';
import { median } from './process-usage.ts';
import { FLUSH_TIMEOUT_MS, sampleServerMemory, startServerChild, unthrottledServerConfig } from './server-child.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1_000_000;
const BASE_CONFIG_YAML = unthrottledServerConfig('bench/server-rss-ab.ts');

interface Variant {
  name: string;
  repo: string;
  env: Record<string, string>;
  config: string;
}

interface Round {
  /** RSS once /ready answers, before any push. */
  idleRssBytes: number;
  peakRssBytes: number;
  serverCpuSeconds: number;
  /** At the largest RSS sampled every 100 ms: anonymous memory (heaps, buffers) and file pages (the node binary, libraries). */
  sampledPeakAnonBytes: number;
  sampledPeakFileBytes: number;
}

const SPLIT_SAMPLE_MS = 100;

/** Samples /proc/<pid>/status and keeps the anonymous/file split of the largest RSS seen. */
function sampleRssSplit(pid: number): { stop(): { anonBytes: number; fileBytes: number } } {
  let best = { anonBytes: 0, fileBytes: 0 };
  const sample = (): void => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
      const anonBytes = kib('RssAnon');
      const fileBytes = kib('RssFile') + kib('RssShmem');
      if (anonBytes + fileBytes > best.anonBytes + best.fileBytes) best = { anonBytes, fileBytes };
    } catch {
      // the server exited: keep what was seen
    }
  };
  const timer = setInterval(sample, SPLIT_SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return best;
    },
  };
}

/** Whether `repo`'s server bundle was built from its sources as they are (the check src/cli/prebuilt.mjs makes). */
function bundleIsCurrent(repo: string): boolean {
  try {
    const { files } = JSON.parse(readFileSync(join(repo, 'dist', 'server', 'inputs.json'), 'utf8')) as { files: Array<{ path: string; sizeBytes: number; mtimeMs: number }> };
    return files.every((file) => {
      const stat = statSync(join(repo, file.path));
      return stat.size === file.sizeBytes && stat.mtimeMs === file.mtimeMs;
    });
  } catch {
    return false;
  }
}

function parseVariant(text: string): Variant {
  const [name, ...pairs] = text.split('|');
  const variant: Variant = { name: name!, repo: repoRoot, env: {}, config: '' };
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals < 0) throw new Error(`--variant ${text}: "${pair}" is not key=value`);
    const key = pair.slice(0, equals);
    const value = pair.slice(equals + 1);
    if (key === 'repo') variant.repo = value;
    else if (key === 'config') variant.config += `${value}\n`;
    else if (key === 'env') {
      const inner = value.indexOf('=');
      if (inner < 0) throw new Error(`--variant ${text}: env wants NAME=value, got "${value}"`);
      variant.env[value.slice(0, inner)] = value.slice(inner + 1);
    } else throw new Error(`--variant ${text}: unknown key "${key}" (repo, env, config)`);
  }
  return variant;
}

const { values } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true, default: [] },
    'size-mb': { type: 'string', default: '244' },
    rounds: { type: 'string', default: '2' },
    pushers: { type: 'string', default: '4' },
    'batch-kb': { type: 'string', default: '1000' },
    'sample-ms': { type: 'string', default: '0' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'out', 'server-rss-ab') },
  },
});
const variants = values.variant.map(parseVariant);
if (variants.length === 0) variants.push({ name: 'this tree', repo: repoRoot, env: {}, config: '' });
// A checkout whose bundle is older than its sources runs from the .ts sources, ~10 MB more RSS.
for (const variant of variants) {
  if (!bundleIsCurrent(variant.repo)) throw new Error(`${variant.name}: no current server bundle in ${variant.repo}: run \`node scripts/build-server.mjs\` there`);
}
const sizeBytes = Math.round(Number(values['size-mb']) * MB);
const rounds = Math.max(1, Math.round(Number(values.rounds)));
const sampleMs = Number(values['sample-ms']);
const log = (message: string): void => console.error(`[server-rss-ab ${new Date().toISOString().slice(11, 19)}] ${message}`);

await rm(values.out, { recursive: true, force: true });
await mkdir(values.out, { recursive: true });
const spanSeconds = sizeBytes / GENERATED_BYTES_PER_SIMULATED_SECOND;
const startTimeNs = BigInt(Math.floor(Date.now() / 1000 - spanSeconds - 3600)) * 1_000_000_000n;
log(`generating ${(sizeBytes / MB).toFixed(0)} MB of training logs…`);
const dataset = await buildDataset({ dir: join(values.out, 'raw'), sizeBytes, seed: 42, batchBytes: Math.round(Number(values['batch-kb']) * 1000), startTimeNs });
await rm(join(values.out, 'raw'), { recursive: true, force: true });

const results = new Map<string, Round[]>(variants.map((variant) => [variant.name, []]));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const variant of order) {
    const dataDir = join(values.out, 'server-data');
    await rm(dataDir, { recursive: true, force: true });
    const configPath = join(values.out, 'server.yaml');
    await writeFile(configPath, BASE_CONFIG_YAML + variant.config);
    const saved = { ...process.env };
    Object.assign(process.env, variant.env);
    let server;
    try {
      server = await startServerChild(variant.repo, dataDir, configPath);
    } finally {
      for (const name of Object.keys(variant.env)) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
    try {
      const sampler = sampleServerMemory(server, sampleMs);
      const split = sampleRssSplit(server.pid);
      const startCpu = server.usage().cpuSeconds;
      const idleRssBytes = server.usage().rssBytes;
      await runIngest(server, dataset.batches, Number(values.pushers));
      const response = await fetch(`${server.url}/flush`, { method: 'POST', signal: AbortSignal.timeout(FLUSH_TIMEOUT_MS) });
      if (response.status !== 204) throw new Error(`${variant.name}: POST /flush answered ${response.status}`);
      const timeline = sampler.stop();
      if (timeline.length > 0) console.error(`${variant.name}, round ${round + 1}:\n${timeline.join('\n')}`);
      const usage = server.usage();
      const peakSplit = split.stop();
      const figures = {
        idleRssBytes,
        peakRssBytes: usage.peakRssBytes,
        serverCpuSeconds: usage.cpuSeconds - startCpu,
        sampledPeakAnonBytes: peakSplit.anonBytes,
        sampledPeakFileBytes: peakSplit.fileBytes,
      };
      results.get(variant.name)!.push(figures);
      log(
        `${variant.name}, round ${round + 1}: idle RSS ${(idleRssBytes / MB).toFixed(0)} MB, peak RSS ${(figures.peakRssBytes / MB).toFixed(0)} MB ` +
          `(sampled: ${(peakSplit.anonBytes / MB).toFixed(0)} MB anonymous + ${(peakSplit.fileBytes / MB).toFixed(0)} MB file pages), server CPU ${figures.serverCpuSeconds.toFixed(2)} s`,
      );
    } finally {
      await server.stop();
    }
  }
}

const summary: Record<string, { idleRssMb: number; peakRssMb: number; peakAnonMb: number; peakFileMb: number; serverCpuSeconds: number; peakRssRatio: number; cpuRatio: number }> = {};
const first = variants[0]!.name;
const medianOf = (name: string, key: keyof Round) => median(results.get(name)!.map((round) => round[key]));
console.log(`${dataset.rawBytes / MB >= 1 ? (dataset.rawBytes / MB).toFixed(0) : dataset.rawBytes} MB raw, ${dataset.batches.length} pushes, ${rounds} rounds (medians)`);
for (const variant of variants) {
  const peak = medianOf(variant.name, 'peakRssBytes');
  const cpu = medianOf(variant.name, 'serverCpuSeconds');
  summary[variant.name] = {
    idleRssMb: medianOf(variant.name, 'idleRssBytes') / MB,
    peakRssMb: peak / MB,
    peakAnonMb: medianOf(variant.name, 'sampledPeakAnonBytes') / MB,
    peakFileMb: medianOf(variant.name, 'sampledPeakFileBytes') / MB,
    serverCpuSeconds: cpu,
    peakRssRatio: peak / medianOf(first, 'peakRssBytes'),
    cpuRatio: cpu / medianOf(first, 'serverCpuSeconds'),
  };
  const all = results.get(variant.name)!.map((round) => `${(round.peakRssBytes / MB).toFixed(0)}/${round.serverCpuSeconds.toFixed(1)}`).join(' ');
  console.log(
    `${variant.name.padEnd(24)} idle RSS ${summary[variant.name]!.idleRssMb.toFixed(0).padStart(4)} MB  peak RSS ${(peak / MB).toFixed(0).padStart(4)} MB (${summary[variant.name]!.peakRssRatio.toFixed(2)}×; ` +
      `anon ${summary[variant.name]!.peakAnonMb.toFixed(0)} + file ${summary[variant.name]!.peakFileMb.toFixed(0)} MB)  server CPU ${cpu.toFixed(2)} s (${summary[variant.name]!.cpuRatio.toFixed(2)}×)  rounds (peak MB/CPU-s): ${all}`,
  );
}
console.log(JSON.stringify({ command: `node bench/server-rss-ab.ts ${process.argv.slice(2).join(' ')}`, rawBytes: dataset.rawBytes, rounds, summary }));
