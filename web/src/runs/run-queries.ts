// The LogQL behind the training-run view: which label names a run, and the per-rank loss curve and
// failure counts read straight from the raw output. Pure text builders.
import { quoteValue } from '../explore/query-text.ts';

/** Label names that identify a run, in the order we prefer them (`rankscope run` sets run_id). */
export const RUN_LABELS = ['run_id', 'run', 'torchelastic_run_id', 'slurm_job_id', 'job'];

export function pickRunLabel(names: string[]): string | undefined {
  return RUN_LABELS.find((name) => names.includes(name));
}

export function runSelector(runLabel: string, run: string): string {
  return `{${runLabel}=${quoteValue(run)}}`;
}

/** `loss 2.31`, `loss=2.31`, `'loss': 2.31`, `"loss": 2.31`: what training scripts print. */
const LOSS_REGEXP = '`\\bloss[\'"]?\\s*[:=]?\\s*(?P<loss>[0-9]+(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)`';

export function lossByRankQuery(selector: string, windowS: number): string {
  return `avg by (rank) (avg_over_time(${selector} |= "loss" | regexp ${LOSS_REGEXP} | unwrap loss | __error__="" [${windowS}s]))`;
}

/** Lines that mean trouble in a training job: errors, tracebacks, OOM, NCCL warnings and timeouts. */
export function failuresByRankQuery(selector: string, windowS: number): string {
  return `sum by (rank) (count_over_time(${selector} |~ "Traceback|ERROR|OutOfMemoryError|NCCL WARN|Watchdog caught" [${windowS}s]))`;
}

export function linesByRankQuery(selector: string, windowS: number): string {
  return `sum by (rank) (count_over_time(${selector} [${windowS}s]))`;
}
