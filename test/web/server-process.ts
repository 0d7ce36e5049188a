// A real `rankscope server` child process on 127.0.0.1 with a fresh data dir, for the browser tests,
// and the push client that feeds it (protobuf+snappy, the agent's wire format).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePushRequest } from '../../src/push/protobuf.ts';
import type { PushStream } from '../../src/push/types.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 8_000;

/** Builds web/dist (a no-op when it is current), so the server has the UI to serve. */
export function buildWebUi(): void {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-web.mjs')], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`scripts/build-web.mjs failed:\n${result.stdout}\n${result.stderr}`);
  process.stderr.write(result.stdout);
}

export interface RankscopeServer {
  url: string;
  dataDir: string;
  push(streams: PushStream[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startRankscope(): Promise<RankscopeServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-web-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'rankscope.js'), 'server', '--listen', '127.0.0.1:0', '--data-dir', dataDir],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rankscope server did not print its ready line within ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`rankscope server exited with ${code} before it was ready:\n${output}`));
    });
  });
  // Keep draining so a chatty server never blocks on a full pipe.
  child.stdout!.resume();
  child.stderr!.resume();

  return {
    url,
    dataDir,
    async push(streams) {
      const response = await fetch(`${url}/loki/api/v1/push`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf' },
        body: encodePushRequest(streams),
      });
      if (response.status !== 204) throw new Error(`push answered ${response.status}: ${await response.text()}`);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
