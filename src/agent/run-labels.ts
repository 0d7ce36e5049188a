// Labels for `rankscope run`, read from the launcher's environment. torchrun, Slurm, Open MPI and
// MPICH/PMI each name the rank differently; every variable that is set becomes a label of its own
// (lower-cased), and `rank` is the first of RANK, SLURM_PROCID, OMPI_COMM_WORLD_RANK, PMI_RANK.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Labels } from '../push/types.ts';

export const RUN_ENV_VARIABLES = [
  'RANK',
  'LOCAL_RANK',
  'WORLD_SIZE',
  'LOCAL_WORLD_SIZE',
  'NODE_RANK',
  'GROUP_RANK',
  'SLURM_PROCID',
  'SLURM_JOB_ID',
  'OMPI_COMM_WORLD_RANK',
  'PMI_RANK',
  'TORCHELASTIC_RUN_ID',
] as const;

const RANK_SOURCES = ['RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK', 'PMI_RANK'] as const;

/** A run id shared by all wrappers of one launch when the launcher provides one, else fresh. */
export function runIdFromEnv(env: NodeJS.ProcessEnv, now = new Date()): string {
  const provided = env.TORCHELASTIC_RUN_ID ?? env.SLURM_JOB_ID;
  if (provided !== undefined && provided !== '') return provided;
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function runLabelsFromEnv(env: NodeJS.ProcessEnv, runId: string, host = hostname()): Labels {
  const labels: Labels = { host, run_id: runId };
  for (const name of RUN_ENV_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== '' && name !== 'RANK') labels[name.toLowerCase()] = value;
  }
  for (const name of RANK_SOURCES) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      labels.rank = value;
      break;
    }
  }
  return labels;
}
