// A real `rankscope agent` child process for the agent benchmarks: started from bin/rankscope.js,
// ready once it logs where its /metrics listen, stopped with SIGTERM (SIGKILL after 30 s).

import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

export interface AgentChild {
  child: ChildProcess;
  metricsUrl: string;
  /** SIGTERM, then SIGKILL if it has not exited after 30 s; resolves to the exit code. */
  stop(): Promise<number | null>;
}

export interface AgentChildOptions {
  env?: NodeJS.ProcessEnv;
  /** Pass the agent's stdout through (the throughput bench shows it); ignored otherwise. */
  inheritStdout?: boolean;
}

export async function startAgentChild(configPath: string, options: AgentChildOptions = {}): Promise<AgentChild> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'rankscope.js'), 'agent', '--config', configPath], {
    env: options.env ?? process.env,
    stdio: ['ignore', options.inheritStdout === true ? 'inherit' : 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  const metricsUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent not ready after ${READY_TIMEOUT_MS / 1000} s: ${stderr}`)), READY_TIMEOUT_MS);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-10_000);
      const match = /metrics at (http:\/\/\S+)/.exec(stderr);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code}: ${stderr}`));
    });
  });
  return {
    child,
    metricsUrl,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
