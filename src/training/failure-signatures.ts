// The failure signatures of PyTorch training runs, as one table: every entry has its class, severity,
// role and the fields it extracts. Wordings cover PyTorch 1.13 to 2.5+ (the `[Rank N]` → `[PG 0
// (default_pg) Rank N]` → `[PG ID 0 PG GUID 0(default_pg) Rank N]` prefixes, `RuntimeError` →
// `DistBackendError`, `torch.cuda.OutOfMemoryError` → `torch.OutOfMemoryError`), the torchrun
// launcher, the kernel OOM killer, Slurm, DeepSpeed and Lightning.
//
// Roles say how the analysis (run-analysis.ts) uses a hit:
// - `cause`       a failure of the rank that logged it (unless it was caught and the rank went on);
// - `consequence` a failure caused by another rank's (watchdog timeouts, aborts, SIGTERMs): listed,
//                 never an origin on its own;
// - `peer`        a consequence that names the host at fault (`Connection closed by remote peer h`);
// - `exit`        an exit code or signal of a rank (launcher, wrapper, srun), with its pid if known;
// - `kernel_oom`  the OOM killer's report of a pid (mapped to a rank through the pids seen);
// - `scheduler`   the scheduler ending the whole job (no origin rank);
// - `finish`      the run (or a rank) finished normally;
// - `harmless`    logged trouble that does not end a run (loss-scale overflows, connect retries).

export type FailureClass =
  | 'cuda_oom'
  | 'nccl_timeout'
  | 'nccl_error'
  | 'connection_reset'
  | 'sigkill'
  | 'kernel_oom'
  | 'python_exception'
  | 'nan_loss'
  | 'slurm_timeout'
  | 'hang';

export type SignatureRole = 'cause' | 'consequence' | 'peer' | 'exit' | 'kernel_oom' | 'scheduler' | 'finish' | 'harmless';
export type Severity = 'critical' | 'error' | 'warning' | 'info';

export interface FailureSignature {
  id: string;
  class: FailureClass | undefined;
  severity: Severity;
  role: SignatureRole;
  pattern: RegExp;
  /** Field name → capture group index of `pattern`. */
  fields: Record<string, number>;
}

export interface SignatureHit {
  signature: FailureSignature;
  fields: Record<string, string>;
}

const sig = (id: string, cls: FailureClass | undefined, severity: Severity, role: SignatureRole, pattern: RegExp, fields: Record<string, number> = {}): FailureSignature => ({
  id,
  class: cls,
  severity,
  role,
  pattern,
  fields,
});

/** Most specific first: an entry (a whole traceback) is classified by the first `cause`/`consequence` that matches. */
export const FAILURE_SIGNATURES: readonly FailureSignature[] = [
  // --- launcher: exits, pids, root cause, restarts -------------------------------------------------
  sig('torchrun-worker-failed', undefined, 'error', 'exit', /failed \(exitcode: (-?\d+)\) local_rank: (\d+) \(pid: (\d+)\) of binary/, { exitcode: 1, local_rank: 2, pid: 3 }),
  sig('torchrun-root-cause', undefined, 'error', 'exit', /Root Cause \(first observed failure\):\s*\[\d+\]:\s*time\s*: (\S+)\s*host\s*: (\S+)\s*rank\s*: (\d+) \(local_rank: (\d+)\)\s*exitcode\s*: (-?\d+) \(pid: (\d+)\)/, {
    time: 1,
    host: 2,
    rank: 3,
    local_rank: 4,
    exitcode: 5,
    pid: 6,
  }),
  sig('wrapper-exit-code', undefined, 'error', 'exit', /^rankscope run: command \S+ exited with code (\d+)/, { exitcode: 1 }),
  sig('wrapper-signal', undefined, 'error', 'exit', /^rankscope run: command \S+ was killed by signal (SIG\w+) \((\d+)\)/, { signal_name: 1, signal: 2 }),
  sig('srun-task-exit', undefined, 'error', 'exit', /srun: error: ([\w.-]+): tasks? (\d+)(?:-\d+)?: (Killed|Exited with exit code (\d+)|Segmentation fault|Aborted|Out Of Memory|Terminated)/, {
    host: 1,
    task: 2,
    how: 3,
    exitcode: 4,
  }),
  sig('torchrun-sigterm-sent', 'sigkill', 'warning', 'consequence', /Sending process (\d+) closing signal (SIGTERM|SIGINT|SIGKILL)/, { pid: 1 }),
  sig('elastic-signal-exception', 'sigkill', 'warning', 'consequence', /SignalException: Process (\d+) got signal: (\d+)/, { pid: 1, signal: 2 }),
  sig('worker-group-succeeded', undefined, 'info', 'finish', /worker group successfully finished|Local worker group finished \(WorkerState\.SUCCEEDED\)|WorkerState\.SUCCEEDED/),
  // --- scheduler ----------------------------------------------------------------------------------
  sig('slurm-cancelled', 'slurm_timeout', 'critical', 'scheduler', /\*\*\* (?:JOB|STEP) (\S+) ON ([\w.-]+) CANCELLED AT (\S+)(?: DUE TO ([A-Z ]+?))?(?: \*\*\*|$)/, { job: 1, host: 2, time: 3, reason: 4 }),
  sig('slurm-step-aborted', 'slurm_timeout', 'warning', 'consequence', /srun: (?:Job step aborted|forcing job termination|Job \d+ step creation temporarily disabled)/),
  // --- kernel / cgroup OOM killer -----------------------------------------------------------------
  sig('kernel-oom-killed', 'kernel_oom', 'critical', 'kernel_oom', /(?:Memory cgroup out of memory|Out of memory): Kill(?:ed)? process (\d+) \(([^)]*)\)/, { pid: 1, command: 2 }),
  sig('kernel-oom-kill-line', 'kernel_oom', 'critical', 'kernel_oom', /oom-kill:.*?,task=([^,]+),pid=(\d+)/, { command: 1, pid: 2 }),
  sig('slurm-oom-kill', 'kernel_oom', 'critical', 'kernel_oom', /Detected (\d+) oom[-_]kill events? in (?:StepId=)?(\d+(?:\.\w+)?)/, { count: 1, step: 2 }),
  // --- DataLoader workers --------------------------------------------------------------------------
  sig('dataloader-terminated', 'python_exception', 'warning', 'consequence', /DataLoader worker \(pid\(?s?\)? ?([\d, ]+)\)? is killed by signal: Terminated/, { pid: 1 }),
  sig('dataloader-killed', 'kernel_oom', 'critical', 'cause', /DataLoader worker \(pid\(?s?\)? ?([\d, ]+)\)? is killed by signal: Killed/, { pid: 1 }),
  sig('dataloader-signal', 'python_exception', 'error', 'cause', /DataLoader worker \(pid\(?s?\)? ?([\d, ]+)\)? is killed by signal: ([\w ]+)/, { pid: 1, signal_name: 2 }),
  sig('dataloader-shm', 'python_exception', 'error', 'cause', /insufficient shared memory \(shm\)|DataLoader worker \(pid\(s\) [\d, ]+\) exited unexpectedly/),
  // --- CUDA OOM, every wording ---------------------------------------------------------------------
  sig('cuda-oom', 'cuda_oom', 'critical', 'cause', /(?:CUDA|HIP) out of memory\. Tried to allocate ([\d.]+ [KMGT]?i?B)(?:[^]*?GPU (\d+))?/, { tried: 1, gpu: 2 }),
  sig('cuda-oom-short', 'cuda_oom', 'critical', 'cause', /CUDA error: out of memory|CUBLAS_STATUS_ALLOC_FAILED|cudaErrorMemoryAllocation|OutOfMemoryError|NCCL WARN Cuda failure 'out of memory'|CUDA out of memory/),
  // --- NaN / inf ------------------------------------------------------------------------------------
  sig('loss-scale-minimum', 'nan_loss', 'critical', 'cause', /Current loss scale already at minimum|loss scale (?:has )?(?:reached|fell below) (?:the )?minimum|Skipping step, loss scaler 0 reducing loss scale to 0?\.0/),
  sig('nan-detected', 'nan_loss', 'critical', 'cause', /[Ll]oss (?:is|became|=|was) (?:nan|NaN|inf|Inf)\b|returned nan values in its|non-finite loss|[Ll]oss is not finite|Detected (?:NaN|nan|inf) (?:loss|in )|FloatingPointError|The loss returned in `training_step` is (?:nan|inf)/),
  sig('overflow-skip', undefined, 'warning', 'harmless', /OVERFLOW! Rank \d+ Skipping step|Gradient overflow\.\s+Skipping step/),
  // --- NCCL watchdog timeouts (consequences: the rank waited) ----------------------------------------
  sig('nccl-watchdog-timeout', 'nccl_timeout', 'critical', 'consequence', /Rank (\d+)\] Watchdog caught collective operation timeout: WorkNCCL\(SeqNum=(\d+), OpType=(\w+)(?:[^)]*?Timeout\(ms\)=(\d+))?/, {
    reported_rank: 1,
    seq: 2,
    op: 3,
    timeout_ms: 4,
  }),
  sig('nccl-timeout-work', 'nccl_timeout', 'critical', 'consequence', /Timeout at NCCL work: (-?\d+), last enqueued NCCL work: (-?\d+), last completed NCCL work: (-?\d+)/, { seq: 1, last_enqueued: 2, last_completed: 3 }),
  sig('nccl-operations-timed-out', 'nccl_timeout', 'critical', 'consequence', /Some NCCL operations have failed or timed out|collective operation timeout|NCCL timeout|ProcessGroupNCCL.*timed out/),
  // --- communicator aborts and remote errors (consequences) ---------------------------------------------
  sig('nccl-comm-aborted', 'nccl_error', 'error', 'consequence', /NCCL communicator was aborted|ncclCommAbort|watchdog detected an exception from another rank|[Ff]irst PG on this rank to signal dumping|Received a dump signal from this local rank|Observed flight recorder dump signal/),
  sig('nccl-remote-error', 'nccl_error', 'error', 'consequence', /ncclRemoteError|remote process exited or there was a network error/),
  // --- connection errors naming the peer ------------------------------------------------------------------
  sig('connection-closed-peer', 'connection_reset', 'error', 'peer', /Connection closed by (?:remote )?peer \[?([A-Za-z0-9][\w.-]*?)\]?(?:<\d+>|:\d+)?(?=$|[\s,;)])/, { peer: 1 }),
  sig('ib-completion-error', 'nccl_error', 'error', 'peer', /NET\/IB : Got completion from peer ([\w.:-]+?)(?:<\d+>)? with (?:error |status=)(\d+)/, { peer: 1, status: 2 }),
  sig('connection-reset', 'connection_reset', 'error', 'consequence', /Connection reset by peer|Broken pipe|Failed to recv, got 0 bytes|DistNetworkError|Connection was likely closed/),
  // --- NCCL / IB errors of this rank -----------------------------------------------------------------------
  sig('ib-port-error', 'nccl_error', 'critical', 'cause', /NET\/IB : [\w:]* ?Got async event : (?:port error|local catastrophic error|device fatal)|IBV_EVENT_PORT_ERR|ibv_poll_cq error|port state (?:changed|went) to DOWN/),
  sig('nccl-error', 'nccl_error', 'critical', 'cause', /NCCL error in: \S+, (unhandled system error|unhandled cuda error|internal error|invalid usage|invalid argument)(?:[^\n]*?NCCL version ([\d.]+))?/, { reason: 1, nccl_version: 2 }),
  sig('nccl-error-code', 'nccl_error', 'critical', 'cause', /ncclSystemError|ncclInternalError|ncclUnhandledCudaError|ncclInvalidUsage|DistBackendError: NCCL error/),
  // --- signals of the rank itself -----------------------------------------------------------------------
  sig('fatal-signal', 'sigkill', 'critical', 'cause', /Fatal Python error: (Segmentation fault|Aborted|Bus error)|Signal (11|6|7) \((SIGSEGV|SIGABRT|SIGBUS)\) received by PID (\d+)/, { what: 1, signal: 2, signal_name: 3, pid: 4 }),
  // --- harmless noise ------------------------------------------------------------------------------------
  sig('connect-retry', undefined, 'warning', 'harmless', /failed to connect to .*Connection refused|socket has timed out after|retrying \(\d+\/\d+\)/),
  // --- finishing ------------------------------------------------------------------------------------------
  sig('train-finished', undefined, 'info', 'finish', /'train_runtime': |`Trainer\.fit` stopped|[Tt]raining (?:completed?|finished|done)\b|[Ff]inished training|[Dd]one training|Training run (?:complete|finished)/),
  // --- any other Python exception (last: the specific ones above win) -----------------------------------------
  sig('python-traceback', 'python_exception', 'error', 'cause', /(?:^|\n)(?:\[rank\d+\]: ?)?([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Failure))(?::[ \t]*([^\n]*))?\s*$/, { exception: 1, message: 2 }),
];

/** Cheap gate: a line that can match no signature has none of these. */
const GATE = /rror|xception|NCCL|ncc|Killed|[Kk]ill process|oom|memory|Traceback|[Ss]ignal|SIG[A-Z]|CANCELLED|srun|nan|NaN|[Ii]nf\b|OVERFLOW|overflow|exitcode|exited|Connection|Root Cause|finished|[Cc]omplete|train_runtime|stopped|Fatal|Broken pipe|NET\/IB|ibv|IBV|scale|[Dd]one|[Ll]oss is|succeeded|SUCCEEDED/;

const TRACEBACK = 'Traceback (most recent call last)';

/** Whether any signature could match: the cheap test every line gets (line-templates.ts caches it per template). */
export function mayMatchSignature(text: string): boolean {
  return GATE.test(text);
}

/**
 * The hits of one entry (a line, or a whole traceback the agent joined). Role-less matching: every
 * non-exception signature that matches is returned, then the traceback's exception line when no
 * cause/consequence signature already explained it.
 */
export function matchSignatures(text: string, gatePassed = false): SignatureHit[] {
  if (!gatePassed && !GATE.test(text)) return [];
  const hits: SignatureHit[] = [];
  let explained = false;
  for (const signature of FAILURE_SIGNATURES) {
    if (signature.id === 'python-traceback') {
      if (explained) break;
      // An exception line on its own, or the last line of a traceback entry.
      if (text.indexOf('Error') === -1 && text.indexOf('Exception') === -1 && text.indexOf('Interrupt') === -1 && text.indexOf('Failure') === -1) break;
    }
    if (signature.class !== undefined && hits.some((hit) => hit.signature.class === signature.class && hit.signature.role === signature.role)) continue;
    // An entry that reports another rank's failure (an abort, a lost peer) is not also a cause of its own.
    if (signature.role === 'cause' && hits.some((hit) => hit.signature.role === 'consequence' || hit.signature.role === 'peer')) continue;
    const match = signature.pattern.exec(text);
    if (match === null) continue;
    const fields: Record<string, string> = {};
    for (const [name, index] of Object.entries(signature.fields)) {
      const value = match[index];
      if (value !== undefined) fields[name] = value.trim();
    }
    if (signature.id === 'python-traceback') {
      // Only an uncaught-looking exception: a traceback entry, or a line that is just `XError: …`.
      if (!text.includes(TRACEBACK) && !/^(?:\[rank\d+\]: ?)?[A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Failure)(?::|$)/.test(text)) continue;
      if (/^(?:KeyboardInterrupt|SystemExit)$/.test(fields.exception ?? '') || (fields.exception ?? '').endsWith('ChildFailedError')) continue;
    }
    if (signature.id === 'dataloader-signal' && hits.some((hit) => hit.signature.id.startsWith('dataloader-'))) continue;
    hits.push({ signature, fields });
    if (signature.role === 'cause' || signature.role === 'consequence' || signature.role === 'peer' || signature.role === 'kernel_oom' || signature.role === 'scheduler') explained = true;
  }
  return hits;
}

/** The pid and host of a rank's process from NCCL's `host:pid:tid [localRank] NCCL …` prefix. */
const NCCL_PREFIX = /^([A-Za-z0-9][\w.-]*):(\d+):\d+ \[(\d+)\] NCCL /;

export function ncclProcessPrefix(line: string): { host: string; pid: number; localRank: number } | undefined {
  const match = NCCL_PREFIX.exec(line);
  return match === null ? undefined : { host: match[1]!, pid: Number(match[2]), localRank: Number(match[3]) };
}

/** Launch facts the launcher prints: processes per node, world size, restart count. */
export interface LaunchFacts {
  processesPerNode?: number;
  worldSize?: number;
  restartCount?: number;
  restarting?: boolean;
}

const NPROC = /nproc_per_node\s*[:=]\s*(\d+)/;
const WORLD_SIZE = /\b(?:WORLD_SIZE|world_size|global_world_sizes)\s*[:=]\s*\[?(\d+)/;
const RESTART_COUNT = /restart_count\s*[:=]\s*(\d+)/;
const RESTARTING = /[Rr]estarting worker group|will restart worker group/;

export function launchFacts(line: string): LaunchFacts | undefined {
  if (line.indexOf('_') === -1 && line.indexOf('estart') === -1) return undefined;
  const facts: LaunchFacts = {};
  const number = (pattern: RegExp) => {
    const match = pattern.exec(line);
    return match === null ? undefined : Number(match[1]);
  };
  const processesPerNode = number(NPROC);
  if (processesPerNode !== undefined) facts.processesPerNode = processesPerNode;
  const worldSize = number(WORLD_SIZE);
  if (worldSize !== undefined) facts.worldSize = worldSize;
  const restartCount = number(RESTART_COUNT);
  if (restartCount !== undefined) facts.restartCount = restartCount;
  if (RESTARTING.test(line)) facts.restarting = true;
  const found = Object.keys(facts).length > 0;
  return found ? facts : undefined;
}
