// Starts the real Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1 for a test: a fresh
// config and storage dir under os.tmpdir(), a free port, and a bounded wait for /-/ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../../support/peers.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';


export interface RunningAlertmanager {
  url: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Alertmanager config for tests: one route grouping by alertname with short waits (100 ms group
 * wait, 500 ms group interval), to a webhook at `webhookUrl` (or to a receiver with none).
 */
export function fastRouteConfig(webhookUrl: string | undefined, sendResolved = false): string {
  const receiver = webhookUrl === undefined ? '  - name: hook\n' : `  - name: hook\n    webhook_configs:\n      - url: ${webhookUrl}\n${sendResolved ? '        send_resolved: true\n' : ''}`;
  return `route:\n  receiver: hook\n  group_by: ['alertname']\n  group_wait: 100ms\n  group_interval: 500ms\n  repeat_interval: 1h\nreceivers:\n${receiver}`;
}

/** `configYaml` is Alertmanager's own config (route, receivers). */
export async function startAlertmanager(configYaml: string, readyTimeoutMs = 15_000): Promise<RunningAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-am-'));
  writeFileSync(join(dir, 'alertmanager.yml'), configYaml);
  const port = await freePort();
  const child = spawn(
    ALERTMANAGER_BIN,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(`${url}/-/ready`);
      if (response.ok) return { url, process: child, output: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`Alertmanager did not become ready within ${readyTimeoutMs}ms:\n${output}`);
}
