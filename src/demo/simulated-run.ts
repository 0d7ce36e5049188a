// A simulated multi-node training run: one launcher process per node (node-launcher.ts), each
// starting its ranks as real processes (rank-process.ts). Each node's output goes either to the
// launcher's stdout/stderr (torchrun --tee style), optionally wrapped by a command such as
// `rankscope run … --`, or to per-rank files in a directory (torchrun --log-dir style) for an agent
// to tail. Used by `rankscope demo`, the tests and the benchmark.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const NODE_LAUNCHER = fileURLToPath(new URL('./node-launcher.ts', import.meta.url));
const STOP_GRACE_MS = 5000;

export type NodeOutput =
  /** stdout/stderr of the launcher; `wrap` is a command prefix (e.g. rankscope run … --). */
  | { kind: 'stdio'; wrap?: string[]; stdio?: 'ignore' | 'inherit' | 'pipe' }
  /** Per-rank files node-<N>-rank<R>.stdout.log / .stderr.log and node-<N>-launcher.log in `dir`. */
  | { kind: 'files'; dir: string };

export interface SimulatedRunOptions {
  seed: number;
  nodes: number;
  ranksPerNode: number;
  steps: number;
  /** Wall-clock time per training step. */
  stepMs: number;
  /** The rank that dies with a traceback and the step it dies at; null = no failure. Default: the last
   * rank at 60% of the steps. */
  failure?: { rank: number; step: number } | null;
  /** Labels the run the way TORCHELASTIC_RUN_ID does for a real torchrun. */
  runId: string;
  output: (nodeRank: number) => NodeOutput;
  /** Extra environment for every node (merged over process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface NodeResult {
  nodeRank: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface SimulatedRun {
  /** Launchers (or their wrappers), in node order. */
  processes: ChildProcess[];
  /** Settles when every node has exited. */
  done: Promise<NodeResult[]>;
  /** SIGTERM to every node still running, SIGKILL after a grace period; resolves when all exited. */
  stop(): Promise<NodeResult[]>;
}

export function defaultFailure(options: Pick<SimulatedRunOptions, 'nodes' | 'ranksPerNode' | 'steps'>): { rank: number; step: number } {
  return { rank: options.nodes * options.ranksPerNode - 1, step: Math.max(1, Math.floor(options.steps * 0.6)) };
}

export function startSimulatedRun(options: SimulatedRunOptions): SimulatedRun {
  for (const [name, value] of Object.entries({ nodes: options.nodes, ranksPerNode: options.ranksPerNode, steps: options.steps, stepMs: options.stepMs })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`simulated run: ${name} must be a positive integer, got ${value}`);
  }
  const failure = options.failure === undefined ? defaultFailure(options) : options.failure;
  const processes: ChildProcess[] = [];
  const exits: Promise<NodeResult>[] = [];
  for (let nodeRank = 0; nodeRank < options.nodes; nodeRank++) {
    const output = options.output(nodeRank);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...options.env,
      DEMO_NODE_RANK: String(nodeRank),
      DEMO_NODES: String(options.nodes),
      DEMO_RANKS_PER_NODE: String(options.ranksPerNode),
      DEMO_SEED: String(options.seed),
      DEMO_STEPS: String(options.steps),
      DEMO_STEP_MS: String(options.stepMs),
      DEMO_FAIL_RANK: failure === null ? '' : String(failure.rank),
      DEMO_FAIL_STEP: failure === null ? '' : String(failure.step),
      DEMO_HOST: `node-${nodeRank}`,
      TORCHELASTIC_RUN_ID: options.runId,
      NODE_RANK: String(nodeRank),
      GROUP_RANK: String(nodeRank),
      WORLD_SIZE: String(options.nodes * options.ranksPerNode),
      LOCAL_WORLD_SIZE: String(options.ranksPerNode),
    };
    if (output.kind === 'files') env.DEMO_LOG_DIR = output.dir;
    const launcher = [process.execPath, NODE_LAUNCHER];
    const command = output.kind === 'stdio' && output.wrap !== undefined ? [...output.wrap, ...launcher] : launcher;
    const stdio = output.kind === 'stdio' ? (output.stdio ?? 'ignore') : 'ignore';
    const child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', stdio, stdio] });
    processes.push(child);
    exits.push(
      new Promise<NodeResult>((resolve) => {
        child.once('error', () => resolve({ nodeRank, exitCode: null, signal: null }));
        child.once('exit', (exitCode, signal) => resolve({ nodeRank, exitCode, signal }));
      }),
    );
  }
  const done = Promise.all(exits);
  // A node whose rank failed takes the job down: the other nodes are stopped, as an elastic agent's
  // rendezvous would after a peer failure.
  void Promise.race(exits).then((first) => {
    if (first.exitCode !== 0) for (const child of processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  return {
    processes,
    done,
    async stop(): Promise<NodeResult[]> {
      for (const child of processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killTimer = setTimeout(() => {
        for (const child of processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, STOP_GRACE_MS);
      const results = await done;
      clearTimeout(killTimer);
      return results;
    },
  };
}
