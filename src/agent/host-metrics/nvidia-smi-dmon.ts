// PCIe throughput, which `--query-gpu` does not offer: one long-lived `nvidia-smi dmon -s t -d N`
// prints, per GPU every N seconds, NVML's PCIe rx/tx throughput in MB/s under two '#' header lines:
//   # gpu  rxpci  txpci
//   # Idx   MB/s   MB/s
//       0    120     85
// "-" marks a value the GPU cannot report. DCGM reports these as DCGM_FI_DEV_PCIE_RX/TX_THROUGHPUT
// in KB/s; dmon's MB/s are scaled by 1024 (so the resolution is dmon's, 1 MB/s).

import { spawn, type ChildProcess } from 'node:child_process';
import { StreamLineSplitter } from '../stream-lines.ts';

export interface PcieThroughput {
  index: string;
  /** Undefined when the GPU reports "-". */
  rxKBps: number | undefined;
  txKBps: number | undefined;
}

const KB_PER_MB = 1024;

/** Column positions from the first header line ("# gpu rxpci txpci"). */
export function dmonColumns(headerLine: string): { gpu: number; rx: number; tx: number } | undefined {
  const names = headerLine.replace(/^#/, '').trim().split(/\s+/);
  const gpu = names.indexOf('gpu');
  const rx = names.indexOf('rxpci');
  const tx = names.indexOf('txpci');
  return gpu === -1 || rx === -1 || tx === -1 ? undefined : { gpu, rx, tx };
}

export function parseDmonLine(line: string, columns: { gpu: number; rx: number; tx: number }): PcieThroughput | undefined {
  if (line.startsWith('#')) return undefined;
  const parts = line.trim().split(/\s+/);
  const index = parts[columns.gpu];
  if (index === undefined || !/^\d+$/.test(index)) return undefined;
  const rate = (text: string | undefined): number | undefined => (text === undefined || !/^\d+(\.\d+)?$/.test(text) ? undefined : Number(text) * KB_PER_MB);
  return { index, rxKBps: rate(parts[columns.rx]), txKBps: rate(parts[columns.tx]) };
}

/**
 * Runs dmon until stopped. `onUnavailable` is called once if it exits (an old GPU or driver without
 * `-s t`); it is not restarted then, since the rest of the GPU metrics do not depend on it.
 */
export class PcieThroughputStream {
  private child: ChildProcess | undefined;
  private stopped = false;
  private readonly nvidiaSmiPath: string;
  private readonly intervalMs: number;
  private readonly onReading: (reading: PcieThroughput) => void;
  private readonly onUnavailable: (reason: string) => void;

  constructor(nvidiaSmiPath: string, intervalMs: number, onReading: (reading: PcieThroughput) => void, onUnavailable: (reason: string) => void) {
    this.nvidiaSmiPath = nvidiaSmiPath;
    this.intervalMs = intervalMs;
    this.onReading = onReading;
    this.onUnavailable = onUnavailable;
  }

  start(): void {
    const seconds = Math.max(1, Math.round(this.intervalMs / 1000));
    const child = spawn(this.nvidiaSmiPath, ['dmon', '-s', 't', '-d', String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let columns: ReturnType<typeof dmonColumns>;
    let diagnostic = '';
    const splitter = new StreamLineSplitter((line) => {
      if (columns === undefined) {
        columns = line.startsWith('#') ? dmonColumns(line) : undefined;
        if (columns === undefined && diagnostic.length < 500) diagnostic += `${line}\n`;
        return;
      }
      const reading = parseDmonLine(line, columns);
      if (reading !== undefined) this.onReading(reading);
    });
    child.stdout!.on('data', (chunk: Buffer) => splitter.write(chunk));
    child.stderr!.on('data', (chunk: Buffer) => {
      if (diagnostic.length < 500) diagnostic += chunk.toString('utf8');
    });
    let reported = false;
    const finish = (reason: string): void => {
      if (reported || this.stopped) return;
      reported = true;
      this.child = undefined;
      this.onUnavailable(reason);
    };
    child.once('error', (error) => finish(error.message));
    child.once('close', (code, signal) => finish(`${diagnostic.trim().split('\n')[0] || 'no output'} (exit ${code ?? signal})`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill('SIGTERM');
    await closed;
  }
}
