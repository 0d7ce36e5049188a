// `bench/agent-gpu-bench.ts [--quick] [--seconds N] [--out DIR]`: what GPU and node collection costs
// the agent. Two real `rankscope agent` child processes run side by side against one real server,
// same config, one with `metrics.enabled: true` at a 1 s interval on 8 stand-in GPUs (the test's
// stand-in nvidia-smi on PATH, 8 real `sleep` processes as ranks in compute-apps, real /proc and
// /sys), one without. Their CPU (fraction of one core, from /proc over the same steady window) and
// RSS are compared. Target: collection adds < 1% of a core.
// The stand-in nvidia-smi's own CPU is reported apart: it is a python loop, not the real tool, so
// it says nothing about nvidia-smi's cost on a GPU host (which is nvidia-smi's, not the agent's).
// Prints a summary, then one JSON line with every figure.

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeComputeApps, writeStandInNvidiaSmi } from '../test/agent/host-metrics/stand-in-nvidia-smi.ts';
import { readProcessUsage } from './process-usage.ts';
import { startServerChild } from './server-child.ts';
import { startAgentChild, type AgentChild } from './agent-child.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const GPU_COUNT = 8;
const TARGET_EXTRA_CPU_FRACTION = 0.01;
const WARMUP_MS = 5000;

async function metricValue(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

function agentConfig(dir: string, serverUrl: string, collect: boolean): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'agent.yaml');
  const lines = [
    'server:',
    `  url: ${serverUrl}`,
    'queue:',
    `  dir: ${join(dir, 'queue')}`,
    'positions:',
    `  file: ${join(dir, 'positions.json')}`,
    'metrics:',
    '  listen: 127.0.0.1:0',
    ...(collect ? ['  enabled: true', '  interval: 1s'] : []),
    'labels:',
    `  host: bench-${collect ? 'with' : 'without'}-collection`,
    'sources:',
    '  - name: logs',
    '    type: file',
    `    paths: ["${join(dir, 'logs', '*.log')}"]`,
    '',
  ];
  writeFileSync(path, lines.join('\n'));
  return path;
}

/** CPU seconds of the process tree's direct children whose command line contains `needle`. */
function childrenCpuSeconds(parentPid: number, needle: string): number {
  let total = 0;
  let children: string[] = [];
  try {
    children = readFileSync(`/proc/${parentPid}/task/${parentPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return 0;
  }
  for (const pid of children) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) continue;
    } catch {
      continue;
    }
    total += readProcessUsage(Number(pid))?.cpuSeconds ?? 0;
  }
  return total;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, seconds: { type: 'string' }, out: { type: 'string', default: join(repoRoot, 'bench', 'out', 'agent-gpu') } },
  });
  const outDir = values.out!;
  const steadySeconds = Number(values.seconds ?? (values.quick ? 20 : 60));
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  const binDir = join(outDir, 'bin');
  const uuids = Array.from({ length: GPU_COUNT }, (_, index) => `GPU-${String(index).padStart(8, '0')}-b3nc-4h00-8000-00000000000${index}`);
  writeStandInNvidiaSmi(binDir, { gpus: uuids.map((uuid) => ({ uuid })) });
  // 8 real processes with a rank each, so attribution reads real /proc/<pid>/environ.
  const ranks = uuids.map((_, rank) =>
    spawn('sleep', [String(steadySeconds + 120)], { env: { ...process.env, RANKSCOPE_RUN_ID: 'bench-run', RANK: String(rank), LOCAL_RANK: String(rank) }, stdio: 'ignore' }),
  );
  writeComputeApps(
    binDir,
    ranks.map((rank, index) => ({ pid: rank.pid!, gpuUuid: uuids[index]!, usedMemoryMiB: 60_000 })),
  );

  const server = await startServerChild(repoRoot, join(outDir, 'server-data'), undefined);
  const env = { ...process.env, PATH: `${binDir}${delimiter}${process.env.PATH}` };
  const agents: AgentChild[] = [];
  try {
    const without = await startAgentChild(agentConfig(join(outDir, 'without'), server.url, false), { env });
    agents.push(without);
    const withCollection = await startAgentChild(agentConfig(join(outDir, 'with'), server.url, true), { env });
    agents.push(withCollection);
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    const sentBefore = await metricValue(withCollection.metricsUrl, 'rankscope_agent_metrics_sent_samples_total');
    if (sentBefore === 0) throw new Error('the collecting agent has sent no metric samples after the warm-up; nothing would be measured');
    const start = { without: readProcessUsage(without.child.pid!)!, with: readProcessUsage(withCollection.child.pid!)!, standIn: childrenCpuSeconds(withCollection.child.pid!, 'nvidia-smi'), atMs: Date.now() };
    await new Promise((resolve) => setTimeout(resolve, steadySeconds * 1000));
    const end = { without: readProcessUsage(without.child.pid!)!, with: readProcessUsage(withCollection.child.pid!)!, standIn: childrenCpuSeconds(withCollection.child.pid!, 'nvidia-smi'), atMs: Date.now() };
    const sentAfter = await metricValue(withCollection.metricsUrl, 'rankscope_agent_metrics_sent_samples_total');
    const up = await metricValue(withCollection.metricsUrl, 'rankscope_agent_gpu_collection_up');
    const wallSeconds = (end.atMs - start.atMs) / 1000;
    const fraction = (before: number, after: number): number => (after - before) / wallSeconds;
    const figures = {
      gpus: GPU_COUNT,
      intervalSeconds: 1,
      steadySeconds: Number(wallSeconds.toFixed(1)),
      cpuFractionWithout: Number(fraction(start.without.cpuSeconds, end.without.cpuSeconds).toFixed(4)),
      cpuFractionWith: Number(fraction(start.with.cpuSeconds, end.with.cpuSeconds).toFixed(4)),
      extraCpuFraction: 0,
      rssMbWithout: Number((end.without.rssBytes / 1024 / 1024).toFixed(1)),
      rssMbWith: Number((end.with.rssBytes / 1024 / 1024).toFixed(1)),
      extraRssMb: 0,
      samplesPerSecond: Number(((sentAfter - sentBefore) / wallSeconds).toFixed(1)),
      gpuCollectionUp: up,
      standInNvidiaSmiCpuFraction: Number(fraction(start.standIn, end.standIn).toFixed(4)),
      targetExtraCpuFraction: TARGET_EXTRA_CPU_FRACTION,
      verdict: '',
    };
    figures.extraCpuFraction = Number((figures.cpuFractionWith - figures.cpuFractionWithout).toFixed(4));
    figures.extraRssMb = Number((figures.rssMbWith - figures.rssMbWithout).toFixed(1));
    figures.verdict = up === 1 && figures.extraCpuFraction < TARGET_EXTRA_CPU_FRACTION ? 'ok' : 'MISS';
    console.log(
      `agent GPU collection (${GPU_COUNT} stand-in GPUs, 1 s, ${figures.samplesPerSecond} samples/s shipped, ${figures.steadySeconds} s): ` +
        `CPU ${(figures.cpuFractionWith * 100).toFixed(2)}% of a core vs ${(figures.cpuFractionWithout * 100).toFixed(2)}% without ` +
        `(+${(figures.extraCpuFraction * 100).toFixed(2)}%, target < ${TARGET_EXTRA_CPU_FRACTION * 100}%): ${figures.verdict}; ` +
        `RSS ${figures.rssMbWith} MB vs ${figures.rssMbWithout} MB (+${figures.extraRssMb} MB); ` +
        `stand-in nvidia-smi (python, not the real tool) ${(figures.standInNvidiaSmiCpuFraction * 100).toFixed(2)}%`,
    );
    console.log(JSON.stringify(figures));
  } finally {
    for (const agent of agents) await agent.stop();
    await server.stop().catch(() => undefined);
    for (const rank of ranks) rank.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  console.error(`agent GPU bench failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
