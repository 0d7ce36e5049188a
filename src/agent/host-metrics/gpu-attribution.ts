// Which run and rank own a GPU: `nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory` names
// the processes on each GPU, and each process's environment (/proc/<pid>/environ) names its run and
// rank the way `rankscope run` labels its logs (run-labels.ts), so a GPU series and the logs of the
// rank that drives it carry the same run_id and rank.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Labels } from '../../push/types.ts';
import { RUN_ID_ENV_VARIABLE, runLabelsFromEnv } from '../run-labels.ts';

export interface ComputeApp {
  pid: number;
  gpuUuid: string;
  usedMemoryMiB: number | undefined;
}

export const QUERY_COMPUTE_APPS_ARGS = ['--query-compute-apps=pid,gpu_uuid,used_memory', '--format=csv,noheader,nounits'];

/** The labels attribution adds to a GPU series. */
const ATTRIBUTION_LABELS = ['run_id', 'rank', 'local_rank'] as const;

/** Lines of `pid, gpu_uuid, used_memory`; anything else ("No running processes found") is skipped. */
export function parseComputeApps(text: string): ComputeApp[] {
  const apps: ComputeApp[] = [];
  for (const line of text.split('\n')) {
    const parts = line.split(',').map((part) => part.trim());
    if (parts.length !== 3 || !/^\d+$/.test(parts[0]!) || parts[1] === '') continue;
    const memory = Number(parts[2]);
    apps.push({ pid: Number(parts[0]), gpuUuid: parts[1]!, usedMemoryMiB: parts[2] !== '' && Number.isFinite(memory) ? memory : undefined });
  }
  return apps;
}

/** A NUL-separated environ block as a name → value map. */
export function parseEnviron(bytes: Buffer): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const entry of bytes.toString('utf8').split('\0')) {
    const equals = entry.indexOf('=');
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return env;
}

/**
 * run_id / rank / local_rank of a process, from its environment; undefined when it names no rank
 * and no run (a process we cannot place) or cannot be read (gone, or another user's).
 */
export function processRunLabels(procRoot: string, pid: number): Labels | undefined {
  let env: NodeJS.ProcessEnv;
  try {
    env = parseEnviron(readFileSync(join(procRoot, String(pid), 'environ')));
  } catch {
    return undefined;
  }
  const runId = env[RUN_ID_ENV_VARIABLE] || env.TORCHELASTIC_RUN_ID || env.SLURM_JOB_ID || '';
  const all = runLabelsFromEnv(env, runId, '');
  const labels: Labels = {};
  for (const name of ATTRIBUTION_LABELS) if (all[name] !== undefined && all[name] !== '') labels[name] = all[name];
  return labels.rank !== undefined || labels.run_id !== undefined ? labels : undefined;
}

/**
 * GPU uuid → the labels of the process using it. When several placed processes share a GPU (a rank
 * and its data loader workers), the lowest rank wins, so the choice is stable between samples.
 */
export function attributeGpus(apps: readonly ComputeApp[], labelsOfPid: (pid: number) => Labels | undefined): Map<string, Labels> {
  const byGpu = new Map<string, Labels>();
  const cache = new Map<number, Labels | undefined>();
  for (const app of apps) {
    if (!cache.has(app.pid)) cache.set(app.pid, labelsOfPid(app.pid));
    const labels = cache.get(app.pid);
    if (labels === undefined) continue;
    const current = byGpu.get(app.gpuUuid);
    if (current === undefined || Number(labels.rank ?? Infinity) < Number(current.rank ?? Infinity)) byGpu.set(app.gpuUuid, labels);
  }
  return byGpu;
}
