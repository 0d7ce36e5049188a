// Entry point of one simulated node's launcher, a small stand-in for torchrun: it starts the node's
// ranks as child processes with RANK/LOCAL_RANK/WORLD_SIZE/NODE_RANK set, and either
// - tees their output to its own stdout/stderr with torchrun's `[default<rank>]:` prefix, or
// - (with DEMO_LOG_DIR) lets each rank write <dir>/<host>-rank<R>.{stdout,stderr}.log, as
//   `torchrun --log-dir` does.
// When a rank fails it stops the others with SIGTERM and prints torchrun's ChildFailedError report;
// on SIGTERM it stops its ranks and exits 1. Configuration comes from DEMO_* environment variables.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamLineSplitter } from '../agent/stream-lines.ts';
import { childFailedReport, type RankIdentity } from './rank-output.ts';

const RANK_PROCESS = join(fileURLToPath(new URL('.', import.meta.url)), 'rank-process.ts');
const TERMINATE_GRACE_MS = 3000;

function intFromEnv(name: string, fallback?: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0) throw new Error(`node launcher: ${name}=${JSON.stringify(process.env[name])} is not a non-negative integer`);
  return value;
}

const nodeRank = intFromEnv('DEMO_NODE_RANK');
const nodes = intFromEnv('DEMO_NODES');
const ranksPerNode = intFromEnv('DEMO_RANKS_PER_NODE');
const failRank = process.env.DEMO_FAIL_RANK ? intFromEnv('DEMO_FAIL_RANK') : undefined;
const host = process.env.DEMO_HOST ?? `node-${nodeRank}`;
const logDir = process.env.DEMO_LOG_DIR;

let launcherLogFd: number | undefined;
if (logDir !== undefined) {
  mkdirSync(logDir, { recursive: true });
  launcherLogFd = openSync(join(logDir, `${host}-launcher.log`), 'a');
}
function launcherLog(text: string): void {
  if (launcherLogFd !== undefined) writeSync(launcherLogFd, text);
  else process.stderr.write(text);
}

interface Worker {
  identity: RankIdentity;
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const workers: Worker[] = [];
for (let localRank = 0; localRank < ranksPerNode; localRank++) {
  const rank = nodeRank * ranksPerNode + localRank;
  const env = {
    ...process.env,
    RANK: String(rank),
    LOCAL_RANK: String(localRank),
    WORLD_SIZE: String(nodes * ranksPerNode),
    NODE_RANK: String(nodeRank),
    GROUP_RANK: String(nodeRank),
    DEMO_HOST: host,
    DEMO_FAIL_STEP: rank === failRank ? (process.env.DEMO_FAIL_STEP ?? '') : '',
    // One rank per run reports a flaky socket, as real clusters do now and then.
    DEMO_NCCL_WARNING: rank === nodes * ranksPerNode - 2 ? '1' : '0',
  };
  let child: ChildProcess;
  if (logDir !== undefined) {
    // Separate files per stream, as torchrun --log-dir keeps them: a tqdm bar on stderr that has no
    // newline yet must not glue itself to a stdout line.
    const stdoutFd = openSync(join(logDir, `${host}-rank${rank}.stdout.log`), 'a');
    const stderrFd = openSync(join(logDir, `${host}-rank${rank}.stderr.log`), 'a');
    child = spawn(process.execPath, [RANK_PROCESS], { env, stdio: ['ignore', stdoutFd, stderrFd] });
    closeSync(stdoutFd);
    closeSync(stderrFd);
  } else {
    child = spawn(process.execPath, [RANK_PROCESS], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = `[default${rank}]:`;
    child.stdout!.on('data', (chunk: Buffer) => out.write(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.write(chunk));
    const out = new StreamLineSplitter((line) => process.stdout.write(`${prefix}${line}\n`));
    const err = new StreamLineSplitter((line) => process.stderr.write(`${prefix}${line}\n`));
    child.stdout!.once('end', () => out.end());
    child.stderr!.once('end', () => err.end());
  }
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  workers.push({ identity: { rank, localRank, worldSize: nodes * ranksPerNode, nodeRank, host, pid: child.pid ?? 0 }, child, exit });
}

let stopping = false;

async function stopWorkers(except: Worker | undefined): Promise<void> {
  for (const worker of workers) {
    if (worker === except || worker.child.exitCode !== null || worker.child.signalCode !== null) continue;
    launcherLog(`${new Date().toISOString()} WARNING torch.distributed.elastic.multiprocessing.api: Sending process ${worker.child.pid} closing signal SIGTERM\n`);
    worker.child.kill('SIGTERM');
  }
  const killTimer = setTimeout(() => {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  }, TERMINATE_GRACE_MS);
  await Promise.all(workers.map((worker) => worker.exit));
  clearTimeout(killTimer);
}

process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  launcherLog(`${new Date().toISOString()} INFO torch.distributed.elastic.agent.server.api: Received Signals.SIGTERM death signal, shutting down workers\n`);
  void stopWorkers(undefined).then(() => {
    launcherLog(`torch.distributed.elastic.multiprocessing.api.SignalException: Process ${process.pid} got signal: 15\n`);
    process.exit(1);
  });
});

const results = await Promise.all(
  workers.map(async (worker) => {
    const result = await worker.exit;
    if (result.code !== 0 && result.code !== null && !stopping) {
      stopping = true;
      await stopWorkers(worker);
      launcherLog(childFailedReport(worker.identity, result.code, new Date()));
      process.exit(1);
    }
    return result;
  }),
);
if (!stopping) process.exit(results.every((result) => result.code === 0) ? 0 : 1);
