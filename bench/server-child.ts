// The rankscope server under test, run as a child process through the real CLI
// (`rankscope server --listen 127.0.0.1:0 --data-dir DIR`), so its CPU time and peak RSS are its own
// and a SIGTERM exercises the real flush-on-exit path.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { readProcessUsage, type ProcessUsage } from './process-usage.ts';

const READY_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 300_000;
/** How often usage is sampled while the server shuts down: its last sample stands for the exit. */
const EXIT_SAMPLE_INTERVAL_MS = 20;

export interface ServerChild {
  url: string;
  pid: number;
  usage(): ProcessUsage;
  /** SIGTERM, wait for exit 0; returns the usage sampled last before exit and the time it took. */
  stop(): Promise<{ usage: ProcessUsage; stopSeconds: number; exitCode: number | null }>;
  /** Output so far, for error messages. */
  output(): string;
}

export async function startServerChild(repoRoot: string, dataDir: string, configPath: string | undefined): Promise<ServerChild> {
  const args = [join(repoRoot, 'bin', 'rankscope.js'), 'server', '--listen', '127.0.0.1:0', '--data-dir', dataDir];
  if (configPath !== undefined) args.push('--config', configPath);
  const child: ChildProcess = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer): void => {
    // Keep the tail only: a chatty server must not grow the harness's memory.
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready after ${READY_TIMEOUT_MS / 1000}s:\n${output}`)), READY_TIMEOUT_MS);
    const check = (): void => {
      const match = /https?:\/\/127\.0\.0\.1:\d+/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.on('error', (error) => reject(error));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with code ${code} before it was ready: ${summarize(output)}\n${output}`));
    });
  });
  await waitReady(url);
  const pid = child.pid!;
  let lastUsage: ProcessUsage = readProcessUsage(pid) ?? { cpuSeconds: 0, peakRssBytes: 0, rssBytes: 0 };
  const usage = (): ProcessUsage => {
    const now = readProcessUsage(pid);
    // The high-water mark only grows; an exiting process's last samples have no memory figures.
    if (now !== undefined) lastUsage = { ...now, peakRssBytes: Math.max(now.peakRssBytes, lastUsage.peakRssBytes) };
    return lastUsage;
  };
  return {
    url,
    pid,
    usage,
    output: () => output,
    async stop() {
      const startedMs = performance.now();
      const sampler = setInterval(usage, EXIT_SAMPLE_INTERVAL_MS);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const exitCode = await exited;
      clearTimeout(timer);
      clearInterval(sampler);
      return { usage: lastUsage, stopSeconds: (performance.now() - startedMs) / 1000, exitCode };
    },
  };
}

async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(5000) });
      if (response.status === 200) return;
      lastError = `status ${response.status}: ${await response.text()}`;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`GET ${url}/ready never answered 200 (${lastError})`);
}

/** The line of a failed start-up's output that says why: the last error line, else the last line. */
function summarize(output: string): string {
  const lines = output.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return [...lines].reverse().find((line) => /error|cannot|invalid/i.test(line)) ?? lines.at(-1) ?? '(no output)';
}

/**
 * Samples a server child's RSS and its memory gauges from /metrics every `sampleMs` (0: never);
 * `stop` ends the sampling and returns one line per sample.
 */
export function sampleServerMemory(server: ServerChild, sampleMs: number): { stop(): string[] } {
  const timeline: string[] = [];
  if (sampleMs <= 0) return { stop: () => timeline };
  const startedMs = performance.now();
  const mb = (bytes: number): string => (bytes / 1_000_000).toFixed(1);
  const timer = setInterval(() => {
    const rssBytes = server.usage().rssBytes;
    void fetch(`${server.url}/metrics`)
      .then((response) => response.text())
      .then((text) => {
        const gauge = (name: string): string => mb(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0));
        timeline.push(
          `${((performance.now() - startedMs) / 1000).toFixed(1)} s: RSS ${(rssBytes / 1_000_000).toFixed(0)} MB, heads ${gauge('rankscope_head_bytes')} MB, JS heap ${gauge('nodejs_heap_size_used_bytes')}/${gauge('nodejs_heap_size_total_bytes')} MB, external ${gauge('nodejs_external_memory_bytes')} MB`,
        );
      })
      .catch(() => undefined);
  }, sampleMs);
  return {
    stop() {
      clearInterval(timer);
      return timeline;
    },
  };
}

/** How long a benchmark waits for `POST /flush`. */
export const FLUSH_TIMEOUT_MS = 600_000;

/**
 * The server config of the ingest benchmarks: shipped defaults except the ingestion rate limits
 * (which would measure themselves instead of the server) and a SIGTERM shutdown timeout of 10 minutes.
 */
export function unthrottledServerConfig(writtenBy: string): string {
  return `# written by ${writtenBy}
server:
  shutdown_timeout: 10m
limits:
  ingestion_rate_mb: 100000
  ingestion_burst_size_mb: 100000
`;
}
