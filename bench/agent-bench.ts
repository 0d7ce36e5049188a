// `bench/agent-bench.ts [--quick] [--out DIR]`: the agent's benchmark, run by `npm run bench`.
// 1. Throughput: generated per-rank training logs (bench/synthetic-log.ts) are written first,
//    then a real `rankscope agent` child process tails them into a real server; lines/s and MB/s are
//    divided by the agent's own CPU seconds (from /proc), so they are per core.
// 2. Steady load: a writer appends 10k lines/s over the rank files for a while; the agent's CPU (as
//    a fraction of one core) and RSS are sampled over the steady part. Targets: < 5% and < 100 MB.
// Prints a human summary, then one JSON line with every figure.

import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSyntheticLogs, generateTrainingLog } from './synthetic-log.ts';
import { readProcessUsage } from './process-usage.ts';
import { startServerChild } from './server-child.ts';
import { startAgentChild } from './agent-child.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1_000_000;
const STEADY_LINES_PER_SECOND = 10_000;
const WRITER_TICK_MS = 100;
const TARGET_STEADY_CPU_FRACTION = 0.05;
const TARGET_STEADY_RSS_BYTES = 100 * 1024 * 1024;

async function scrape(metricsUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const space = line.lastIndexOf(' ');
    const name = line.slice(0, space);
    values.set(name, (values.get(name) ?? 0) + Number(line.slice(space + 1)));
  }
  return values;
}

function agentConfig(dir: string, serverUrl: string, logDir: string): string {
  const path = join(dir, 'agent.yaml');
  writeFileSync(
    path,
    [
      'server:',
      `  url: ${serverUrl}`,
      'queue:',
      `  dir: ${join(dir, 'queue')}`,
      'positions:',
      `  file: ${join(dir, 'positions.json')}`,
      'metrics:',
      '  listen: 127.0.0.1:0',
      'labels:',
      '  job: agent-bench',
      'sources:',
      '  - name: ranks',
      '    type: file',
      `    paths: ["${logDir}/*.log"]`,
      "    path_labels: '(?P<host>node-\\d+)-(?:rank-(?P<rank>\\d+)|launcher)\\.log$'",
      '',
    ].join('\n'),
  );
  return path;
}

/**
 * The file-backed part of a process's RSS (RssFile in /proc/<pid>/status), 0 once it is gone. For
 * the agent that is mostly the node executable's own pages, which every Node process on the host
 * shares; it is reported next to RSS (the verdict stays on RSS) to tell it from what the agent allocates.
 */
function readRssFileBytes(pid: number): number {
  try {
    return Number(/^RssFile:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string', default: join(repoRoot, 'bench', 'out', 'agent') } } });
  const outDir = values.out!;
  const quick = values.quick!;
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const server = await startServerChild(repoRoot, join(outDir, 'server-data'), undefined);
  const figures: Record<string, number | string> = {};
  try {
    // 1. Throughput over pre-written files.
    const throughputDir = join(outDir, 'throughput');
    const logDir = join(throughputDir, 'logs');
    const written = await writeSyntheticLogs({ dir: logDir, targetBytes: (quick ? 20 : 200) * MB, layout: 'per-rank', seed: 7, startTimeNs: BigInt(Date.now() - 24 * 3600_000) * 1_000_000n });
    let physicalLines = 0;
    for (const file of written.files) {
      const buffer = readFileSync(file);
      for (let at = buffer.indexOf(10); at !== -1; at = buffer.indexOf(10, at + 1)) physicalLines++;
    }
    console.log(`agent bench: ${(written.bytes / MB).toFixed(1)} MB, ${physicalLines} lines in ${written.files.length} files`);
    const startedAt = Date.now();
    const agent = await startAgentChild(agentConfig(throughputDir, server.url, logDir), { inheritStdout: true });
    let sentEntries = 0;
    let rejectedEntries = 0;
    await waitUntil(
      async () => {
        const metrics = await scrape(agent.metricsUrl);
        sentEntries = metrics.get('rankscope_agent_sent_entries_total') ?? 0;
        rejectedEntries = metrics.get('rankscope_agent_dropped_entries_total{reason="rejected"}') ?? 0;
        const readLines = metrics.get('rankscope_agent_read_lines_total') ?? 0;
        const queuedEntries = metrics.get('rankscope_agent_queued_entries_total') ?? -1;
        // Every line read, the batch in memory written out (entries wait there up to the batch wait),
        // and every queued batch answered.
        return (
          readLines >= physicalLines &&
          queuedEntries > 0 &&
          (metrics.get('rankscope_agent_batch_entries') ?? 1) === 0 &&
          sentEntries + rejectedEntries === queuedEntries &&
          (metrics.get('rankscope_agent_queue_depth_batches') ?? 1) === 0
        );
      },
      600_000,
      'the agent to ship every line',
    );
    const wallSeconds = (Date.now() - startedAt) / 1000;
    const usage = readProcessUsage(agent.child.pid!)!;
    await agent.stop();
    figures.throughputLines = physicalLines;
    figures.throughputEntries = sentEntries;
    figures.throughputRejectedEntries = rejectedEntries;
    figures.throughputBytes = written.bytes;
    figures.throughputWallSeconds = Number(wallSeconds.toFixed(2));
    figures.throughputAgentCpuSeconds = usage.cpuSeconds;
    figures.linesPerCoreSecond = Math.round(physicalLines / usage.cpuSeconds);
    figures.mbPerCoreSecond = Number((written.bytes / MB / usage.cpuSeconds).toFixed(2));
    figures.throughputPeakRssMb = Math.round(usage.peakRssBytes / 1024 / 1024);
    console.log(
      `agent throughput: ${figures.linesPerCoreSecond} lines/s and ${figures.mbPerCoreSecond} MB/s per core ` +
        `(${usage.cpuSeconds.toFixed(1)} CPU s, ${wallSeconds.toFixed(1)} s wall, peak RSS ${figures.throughputPeakRssMb} MB)`,
    );
    rmSync(logDir, { recursive: true, force: true });

    // 2. Steady 10k lines/s.
    const steadyDir = join(outDir, 'steady');
    const steadyLogDir = join(steadyDir, 'logs');
    mkdirSync(steadyLogDir, { recursive: true });
    const pool: { file: string; text: string }[] = [];
    for (const entry of generateTrainingLog({ seed: 11 })) {
      if (entry.line.includes('\n')) continue;
      pool.push({ file: join(steadyLogDir, entry.rank === null ? `${entry.host}-launcher.log` : `${entry.host}-rank-${entry.rank}.log`), text: entry.line + '\n' });
      if (pool.length >= 50_000) break;
    }
    for (const file of new Set(pool.map((line) => line.file))) writeFileSync(file, '');
    const steadyAgent = await startAgentChild(agentConfig(steadyDir, server.url, steadyLogDir), { inheritStdout: true });
    const steadySeconds = quick ? 10 : 30;
    const warmupSeconds = 3;
    let next = 0;
    let linesWritten = 0;
    const perTick = (STEADY_LINES_PER_SECOND * WRITER_TICK_MS) / 1000;
    const writer = setInterval(() => {
      const byFile = new Map<string, string>();
      for (let i = 0; i < perTick; i++) {
        const line = pool[next++ % pool.length]!;
        byFile.set(line.file, (byFile.get(line.file) ?? '') + line.text);
      }
      for (const [file, text] of byFile) appendFileSync(file, text);
      linesWritten += perTick;
    }, WRITER_TICK_MS);
    await new Promise((resolve) => setTimeout(resolve, warmupSeconds * 1000));
    const before = readProcessUsage(steadyAgent.child.pid!)!;
    const measureStartedAt = Date.now();
    let maxRssBytes = 0;
    let maxRssFileBytes = 0;
    while (Date.now() - measureStartedAt < (steadySeconds - warmupSeconds) * 1000) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      maxRssBytes = Math.max(maxRssBytes, readProcessUsage(steadyAgent.child.pid!)?.rssBytes ?? 0);
      maxRssFileBytes = Math.max(maxRssFileBytes, readRssFileBytes(steadyAgent.child.pid!));
    }
    const after = readProcessUsage(steadyAgent.child.pid!)!;
    const measuredSeconds = (Date.now() - measureStartedAt) / 1000;
    clearInterval(writer);
    await waitUntil(async () => ((await scrape(steadyAgent.metricsUrl)).get('rankscope_agent_read_lines_total') ?? 0) >= linesWritten, 60_000, 'the agent to catch up');
    await steadyAgent.stop();
    figures.steadyLinesPerSecond = STEADY_LINES_PER_SECOND;
    figures.steadyCpuFractionOfCore = Number(((after.cpuSeconds - before.cpuSeconds) / measuredSeconds).toFixed(4));
    figures.steadyMaxRssMb = Math.round(maxRssBytes / 1024 / 1024);
    figures.steadyMaxRssFileMb = Math.round(maxRssFileBytes / 1024 / 1024);
    const cpuOk = figures.steadyCpuFractionOfCore < TARGET_STEADY_CPU_FRACTION;
    const rssOk = maxRssBytes < TARGET_STEADY_RSS_BYTES;
    figures.steadyVerdict = cpuOk && rssOk ? 'within target' : `MISS (${cpuOk ? '' : 'cpu '}${rssOk ? '' : 'rss'})`.replace(' )', ')');
    console.log(
      `agent at ${STEADY_LINES_PER_SECOND} lines/s: ${(figures.steadyCpuFractionOfCore * 100).toFixed(1)}% of a core (target < 5%), ` +
        `RSS ${figures.steadyMaxRssMb} MB (target < 100 MB; ${figures.steadyMaxRssFileMb} MB of it file-backed, mostly the node binary): ${figures.steadyVerdict}`,
    );
  } finally {
    await server.stop();
  }
  console.log(JSON.stringify(figures));
}

main().catch((error: unknown) => {
  console.error(`agent bench failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
