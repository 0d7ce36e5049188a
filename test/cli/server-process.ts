// Runs `rankscope server` as a real child process on 127.0.0.1:0 and reads its URL from the ready line.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const NODE = `${root}node_modules/.bin/node`;
export const BIN = `${root}bin/rankscope.js`;

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  readyLine: string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
}

const READY = /^rankscope ready on (http:\/\/\S+) \(data: .*\)$/m;

export function startServerProcess(args: string[], timeoutMs = 20_000): Promise<ServerProcess> {
  const child = spawn(NODE, [BIN, 'server', '--listen', '127.0.0.1:0', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server not ready within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = READY.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ url: match[1]!, child, readyLine: match[0], exited, stderr: () => stderr, kill: (signal) => child.kill(signal) });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready; stdout:\n${stdout}\nstderr:\n${stderr}`));
    });
  });
}

/** Runs a rankscope command to completion. */
export function runCommand(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode([BIN, ...args], {}, timeoutMs);
}

/** Runs the pinned Node on `args` (a script and its arguments) from the repository root, to completion. */
export function runNode(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(NODE, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
