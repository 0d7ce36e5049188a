// The core of `rankscope run`: start a command, pass its stdout and stderr through unchanged, ship
// every line with stream=stdout|stderr through the same processing and disk queue as the agent,
// forward signals, and finish with one entry recording the exit code or signal.

import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { Labels } from '../push/types.ts';
import { processingSchema, type ProcessingConfig } from './config.ts';
import { LineProcessor } from './line-processor.ts';
import { Shipper, type ShipperOptions } from './shipper.ts';
import { StreamLineSplitter } from './stream-lines.ts';
import { nowNs } from './timestamp.ts';
import { formatLabels } from '../push/labels.ts';

export interface CommandRunOptions {
  command: string;
  args: string[];
  labels: Labels;
  shipper: Omit<ShipperOptions, 'log'>;
  processing?: ProcessingConfig;
  /** How long to keep trying to deliver after the command exits; the rest stays queued on disk. */
  flushTimeoutMs: number;
  log: (message: string) => void;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** The command's environment (default: ours). */
  env?: NodeJS.ProcessEnv;
}

export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  delivered: boolean;
  queuedEntries: number;
}

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
// Keys typed at a terminal deliver these to the whole foreground process group, child included.
const TERMINAL_SIGNALS = new Set<NodeJS.Signals>(['SIGINT', 'SIGQUIT']);
const TICK_INTERVAL_MS = 100;

export async function runCommand(options: CommandRunOptions): Promise<CommandResult> {
  const shipper = new Shipper({ ...options.shipper, log: options.log });
  const processing = options.processing ?? processingSchema.parse({});
  const sink = (streamKey: string, labels: Labels, timestampNs: bigint, line: string): void => shipper.add(streamKey, labels, timestampNs, line);
  const processor = new LineProcessor(processing, options.labels, sink);
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;

  // With a terminal, the child stays in our process group so it can read the terminal; Ctrl-C then
  // reaches it directly and is not forwarded a second time. Without one, the child gets its own
  // group and every signal reaches it only through us.
  const interactive = process.stdin.isTTY === true;
  let child;
  try {
    child = spawn(options.command, options.args, { stdio: ['inherit', 'pipe', 'pipe'], detached: !interactive, ...(options.env !== undefined ? { env: options.env } : {}) });
  } catch (error) {
    await shipper.close(0);
    throw error;
  }
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });

  const splitters = {
    stdout: new StreamLineSplitter((line) => processor.push(line, { stream: 'stdout' }, Date.now())),
    stderr: new StreamLineSplitter((line) => processor.push(line, { stream: 'stderr' }, Date.now())),
  };
  // Pass-through honours backpressure: when our own stdout (a pipe to a slow reader) is full, the
  // child's pipe is paused, so memory stays bounded and the child blocks as it would without us.
  const passThrough = (from: NodeJS.ReadableStream, to: NodeJS.WritableStream, splitter: StreamLineSplitter): void => {
    from.on('data', (chunk: Buffer) => {
      splitter.write(chunk);
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
  };
  passThrough(child.stdout, stdout, splitters.stdout);
  passThrough(child.stderr, stderr, splitters.stderr);
  const stdoutDone = new Promise<void>((resolve) => child.stdout.once('close', () => resolve()));
  const stderrDone = new Promise<void>((resolve) => child.stderr.once('close', () => resolve()));

  const forward = (signal: NodeJS.Signals): void => {
    if (interactive && TERMINAL_SIGNALS.has(signal)) return;
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);

  const ticker = setInterval(() => {
    const nowMs = Date.now();
    processor.tick(nowMs);
    shipper.tick(nowMs);
  }, TICK_INTERVAL_MS);

  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  try {
    await spawned;
  } catch (error) {
    clearInterval(ticker);
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    await shipper.close(0);
    throw new Error(`cannot start ${JSON.stringify(options.command)}: ${(error as Error).message}`);
  }
  const { exitCode, signal } = await exited;
  await Promise.all([stdoutDone, stderrDone]);
  clearInterval(ticker);
  for (const forwarded of FORWARDED_SIGNALS) process.off(forwarded, forward);
  splitters.stdout.end();
  splitters.stderr.end();
  processor.flushAll();

  const failed = exitCode !== 0;
  const summary =
    signal !== null
      ? `rankscope run: command ${options.command} was killed by signal ${signal} (${osConstants.signals[signal] ?? '?'})`
      : `rankscope run: command ${options.command} exited with code ${exitCode}`;
  const finalLabels: Labels = { ...options.labels, stream: 'rankscope', level: failed ? 'error' : 'info' };
  shipper.add(formatLabels(finalLabels), finalLabels, nowNs(), summary);

  const delivered = await shipper.close(options.flushTimeoutMs);
  return { exitCode, signal, delivered, queuedEntries: shipper.queue.depthEntries };
}
