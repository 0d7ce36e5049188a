// CPU time and memory of processes, read from Linux /proc, and timing of reference command-line
// tools (grep, zstd) with their own CPU time. Per-core figures divide work by CPU seconds, so they
// hold on a busy 2-core machine where wall time would mostly measure the neighbours.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Linux USER_HZ: /proc/<pid>/stat reports CPU time in these ticks (getconf CLK_TCK is 100). */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcessUsage {
  /** User + system CPU seconds of all the process's threads so far. */
  cpuSeconds: number;
  /** Peak resident set (VmHWM), bytes. */
  peakRssBytes: number;
  rssBytes: number;
}

/** Reads a live process's usage; undefined once it is gone. */
export function readProcessUsage(pid: number): ProcessUsage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; the fields we need follow its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const userTicks = Number(fields[11]);
    const systemTicks = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    // A zombie (exited, not yet reaped) still has CPU times but no memory lines: report 0 then.
    const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { cpuSeconds: (userTicks + systemTicks) / CLOCK_TICKS_PER_SECOND, peakRssBytes: kib('VmHWM'), rssBytes: kib('VmRSS') };
  } catch {
    return undefined;
  }
}

export interface TimedCommand {
  stdout: string;
  exitCode: number;
  wallSeconds: number;
  cpuSeconds: number;
}

/**
 * Runs a command under bash's `time` keyword, which reports the child's own user and system CPU
 * time (Node's child_process does not expose rusage). Exit code 1 is not an error for grep.
 */
export async function timeCommand(argv: string[], options: { env?: Record<string, string>; stdoutFile?: string; timeoutMs?: number } = {}): Promise<TimedCommand> {
  const timeFile = join(tmpdir(), `rankscope-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const redirect = options.stdoutFile === undefined ? '' : ' >"$RANKSCOPE_STDOUT"';
  const script = `TIMEFORMAT='%3R %3U %3S'; { time "$@"${redirect} 2>/dev/null ; } 2>"$RANKSCOPE_TIMEFILE"`;
  const child = spawn('bash', ['-c', script, 'bash', ...argv], {
    env: { ...process.env, ...options.env, RANKSCOPE_TIMEFILE: timeFile, RANKSCOPE_STDOUT: options.stdoutFile ?? '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (stdout += chunk));
  const timeout = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
  }).finally(() => clearTimeout(timeout));
  try {
    const [wall, user, system] = (await readFile(timeFile, 'utf8')).trim().split(/\s+/).slice(-3).map(Number) as [number, number, number];
    if (![wall, user, system].every(Number.isFinite)) throw new Error(`could not read the timing of ${argv.join(' ')}`);
    return { stdout, exitCode, wallSeconds: wall, cpuSeconds: user + system };
  } finally {
    await rm(timeFile, { force: true });
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
