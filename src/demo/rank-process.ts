// Entry point of one simulated training rank, run as a real child process by the node launcher.
// Configuration comes from the environment, as torchrun passes it: RANK, LOCAL_RANK, WORLD_SIZE,
// NODE_RANK, plus DEMO_* settings. It prints one step every DEMO_STEP_MS and exits 0 after the last
// step, or 1 right after printing its traceback when DEMO_FAIL_STEP is reached. With DEMO_METRICS_URL
// it also remote_writes its GPU and training metrics there (rank-metrics.ts).

import { hostname } from 'node:os';
import { RankOutput, type RankIdentity } from './rank-output.ts';

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
const identity: RankIdentity = {
  rank: intFromEnv('RANK'),
  localRank: intFromEnv('LOCAL_RANK'),
  worldSize: intFromEnv('WORLD_SIZE'),
  nodeRank: intFromEnv('NODE_RANK', 0),
  host: process.env.DEMO_HOST ?? hostname(),
  pid: process.pid,
};
const seed = intFromEnv('DEMO_SEED', 1);
const output = new RankOutput(identity, { seed, steps, failAtStep: failStep, ncclWarning: process.env.DEMO_NCCL_WARNING === '1' });
const metricsUrl = process.env.DEMO_METRICS_URL;
// Loaded only when asked for: without metrics a rank starts as fast as before (start-up skew between
// ranks is what the simulator's timing relies on).
const metrics =
  metricsUrl === undefined || metricsUrl === ''
    ? undefined
    : new (await import('./rank-metrics.ts')).RankMetrics({ url: metricsUrl, identity, runId: process.env.TORCHELASTIC_RUN_ID ?? 'demo', job: process.env.DEMO_JOB ?? 'demo-train', seed });

function write(lines: { stream: 'stdout' | 'stderr'; text: string }[]): void {
  // Writes to files and pipes are synchronous on Linux, so nothing is lost when the process exits.
  for (const line of lines) (line.stream === 'stdout' ? process.stdout : process.stderr).write(line.text);
}

write(output.startup(new Date()));
let step = 0;
let lastStepMs = Date.now();
const timer = setInterval(() => {
  step++;
  const now = new Date();
  write(output.step(step, now, stepMs));
  metrics?.step(step, now.getTime(), { loss: output.lastLoss, stepSeconds: (now.getTime() - lastStepMs) / 1000, failed: step === failStep });
  lastStepMs = now.getTime();
  if (step === failStep) {
    clearInterval(timer);
    process.exitCode = 1;
    void metrics?.flush();
  } else if (step >= steps) {
    clearInterval(timer);
    void metrics?.flush();
  }
}, stepMs);
