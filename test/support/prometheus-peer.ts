// Debian's Prometheus as a peer of a test: started on a free 127.0.0.1 port with the configuration
// the test gives, in a directory of its own; its log is kept for failure messages; `stop` sends
// SIGTERM, waits for the exit and removes the directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, pollUntil } from './peers.ts';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

/** The `skip` option of a test that needs Prometheus: false when it is installed, else the reason. */
export const PROMETHEUS_MISSING: string | false = existsSync(PROMETHEUS_BIN) ? false : `${PROMETHEUS_BIN} is not installed`;

const LOG_KEPT_CHARS = 5000;

export interface PrometheusPeer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The last few thousand characters of its log (stderr). */
  log(): string;
  /** Polls `probe` (throwing counts as not yet) with the Prometheus log in the timeout error. */
  waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

/** Starts Prometheus with `config` as its prometheus.yml and `flags` added to its command line. */
export async function startPrometheus(config: string, flags: readonly string[] = []): Promise<PrometheusPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-prometheus-peer-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, config);
  const port = await freePort();
  const child: ChildProcess = spawn(PROMETHEUS_BIN, [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, ...flags], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-LOG_KEPT_CHARS)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    log: () => log,
    waitFor: (what, probe, timeoutMs = 60_000) => pollUntil(what, probe, { timeoutMs, intervalMs: 250, context: () => `Prometheus log:\n${log.slice(-3000)}` }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
