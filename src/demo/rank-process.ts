// Entry point of one simulated training rank, run as a real child process by the node launcher.
// Configuration comes from the environment, as torchrun passes it: RANK, LOCAL_RANK, WORLD_SIZE,
// NODE_RANK, plus DEMO_* settings. It prints one step every DEMO_STEP_MS and exits 0 after the last
// step, or 1 right after printing its traceback when DEMO_FAIL_STEP is reached.

import { hostname } from 'node:os';
import { RankOutput } from './rank-output.ts';

function intFromEnv(name: string, fallback?: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`rank process: environment variable ${name} is required`);
  }
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`rank process: ${name}=${JSON.stringify(text)} is not a non-negative integer`);
  return value;
}

const steps = intFromEnv('DEMO_STEPS');
const stepMs = intFromEnv('DEMO_STEP_MS', 200);
const failStep = process.env.DEMO_FAIL_STEP ? intFromEnv('DEMO_FAIL_STEP') : undefined;
const output = new RankOutput(
  {
    rank: intFromEnv('RANK'),
    localRank: intFromEnv('LOCAL_RANK'),
    worldSize: intFromEnv('WORLD_SIZE'),
    nodeRank: intFromEnv('NODE_RANK', 0),
    host: process.env.DEMO_HOST ?? hostname(),
    pid: process.pid,
  },
  { seed: intFromEnv('DEMO_SEED', 1), steps, failAtStep: failStep, ncclWarning: process.env.DEMO_NCCL_WARNING === '1' },
);

function write(lines: { stream: 'stdout' | 'stderr'; text: string }[]): void {
  // Writes to files and pipes are synchronous on Linux, so nothing is lost when the process exits.
  for (const line of lines) (line.stream === 'stdout' ? process.stdout : process.stderr).write(line.text);
}

write(output.startup(new Date()));
let step = 0;
const timer = setInterval(() => {
  step++;
  write(output.step(step, new Date(), stepMs));
  if (step === failStep) {
    clearInterval(timer);
    process.exitCode = 1;
  } else if (step >= steps) {
    clearInterval(timer);
  }
}, stepMs);
