// Writes complete multi-rank, multi-node training runs that end in a known way, with ground truth:
// per-rank logs, each node's torchrun launcher, kernel and Slurm streams, skewed node clocks, harmless
// noise (warnings, connect retries, caught tracebacks, loss-scale overflows), consequences that the
// skew stamps before their cause, and torchrun root-cause blocks that name the wrong rank. Every
// choice (topology, label scheme, log format, timing, which rank, which wording) comes from a seed.

import { seededRandom } from '../../../src/demo/rank-output.ts';
import { ScenarioLog, type GroundTruth, type LabelScheme, type Scenario } from './scenario-log.ts';

type Random = () => number;
type Format = 'generic' | 'torchtitan' | 'json' | 'hf' | 'megatron' | 'imagenet';

interface Plan {
  rng: Random;
  log: ScenarioLog;
  format: Format;
  stepMs: number;
  startMs: number;
  /** Ranks that print progress (all, or rank 0 only for formats that log on one rank). */
  printers: number[];
  lossBase: number;
}

const pick = <T>(rng: Random, list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;
const between = (rng: Random, low: number, high: number): number => low + rng() * (high - low);
const int = (rng: Random, low: number, high: number): number => Math.floor(between(rng, low, high + 1));

function pythonTime(ms: number): string {
  const iso = new Date(Date.UTC(2024, 10, 27, 10, 0, 0) + ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)},${iso.slice(20, 23)}`;
}

function torchLogTime(ms: number): string {
  const date = new Date(Date.UTC(2024, 10, 27, 10, 0, 0) + ms);
  return `${String(date.getUTCMonth() + 1).padStart(2, '0')}${String(date.getUTCDate()).padStart(2, '0')} ${date.toISOString().slice(11, 23)}000`;
}

function progressLine(plan: Plan, rank: number, step: number, loss: number): string {
  const lossText = Number.isNaN(loss) ? 'nan' : loss.toFixed(4);
  const lr = (3e-4 * Math.min(1, step / 10)).toExponential(3);
  switch (plan.format) {
    case 'generic':
      return `${pythonTime(step * plan.stepMs)} - INFO - train - step ${step} loss ${lossText} lr ${lr} grad_norm ${(0.5 + plan.rng()).toFixed(3)}`;
    case 'torchtitan':
      return `[titan] ${pythonTime(step * plan.stepMs)} - root - INFO - step: ${step}  loss: ${Number.isNaN(loss) ? 'nan' : loss.toFixed(4)}  memory: ${(30 + plan.rng() * 4).toFixed(2)}GiB(38.06%)  tps: ${(7000 + Math.floor(plan.rng() * 300)).toLocaleString('en-US')}  tflops: 325.47  mfu: 41.19%`;
    case 'json':
      return JSON.stringify({ step, loss: Number.isNaN(loss) ? 'nan' : Number(loss.toFixed(4)), lr: Number(lr), rank });
    case 'hf':
      return `{'loss': ${lossText}, 'grad_norm': ${(0.5 + plan.rng()).toFixed(4)}, 'learning_rate': ${lr}, 'epoch': ${(step / 100).toFixed(2)}}`;
    case 'megatron':
      return ` iteration ${String(step).padStart(8)}/  500000 | consumed samples: ${String(step * 256).padStart(12)} | elapsed time per iteration (ms): ${plan.stepMs.toFixed(1)} | learning rate: ${Number(lr).toExponential(3).toUpperCase()} | global batch size:   256 | lm loss: ${Number.isNaN(loss) ? 'nan' : loss.toExponential(6).toUpperCase()} | loss scale: 1.0 | grad norm: ${(0.5 + plan.rng()).toFixed(3)} | number of skipped iterations:   0 | number of nan iterations:   0 |`;
    case 'imagenet':
      return `Epoch: [0][${String(step).padStart(4)}/5005]\tTime  0.512 ( 0.530)\tData  0.001 ( 0.012)\tLoss ${Number.isNaN(loss) ? 'nan' : loss.toExponential(4)} (${(loss + 0.1).toExponential(4)})\tAcc@1  45.31 ( 42.10)\tAcc@5  70.31 ( 68.00)`;
  }
}

function lossAt(plan: Plan, step: number): number {
  return plan.lossBase * Math.pow(step + 1, -0.3) + plan.rng() * 0.05;
}

/** torchrun agent start-up on every node, rank start-up lines (NCCL prefixes carry host:pid). */
function startup(plan: Plan): void {
  const { log, rng } = plan;
  const topology = log.topology;
  for (let node = 0; node < topology.nodes; node++) {
    const t = between(rng, 0, 300);
    log.launcher(node, t, `[${pythonTime(t)}] torch.distributed.launcher.api: [INFO] Starting elastic_operator with launch configs:`);
    log.launcher(node, t + 1, `  entrypoint       : train.py`);
    log.launcher(node, t + 2, `  min_nodes        : ${topology.nodes}`);
    log.launcher(node, t + 3, `  nproc_per_node   : ${topology.processesPerNode}`);
    log.launcher(node, t + 4, `  run_id           : ${topology.runId}`);
    log.launcher(node, t + 500, `[${pythonTime(t + 500)}] torch.distributed.elastic.agent.server.api: [INFO] [default] Rendezvous complete for workers. Result:\n  restart_count=0\n  master_addr=${topology.hosts[0]}\n  group_rank=${node}\n  group_world_size=${topology.nodes}\n  global_world_sizes=[${log.worldSize}]`);
    if (rng() < 0.3) log.launcher(node, t + 520, `[W socket.cpp:663] [c10d] The client socket has failed to connect to [${topology.hosts[0]}]:29500 (errno: 111 - Connection refused).`);
  }
  for (let rank = 0; rank < log.worldSize; rank++) {
    const t = between(rng, 900, 1500);
    const host = log.hostOf(rank);
    const pid = topology.pids[rank]!;
    const local = log.localOf(rank);
    log.rank(rank, t, `${pythonTime(t)} - INFO - train - initialized process group: rank ${rank}/${log.worldSize}, local_rank ${local}, device cuda:${local}`);
    log.rank(rank, t + 10, `${host}:${pid}:${pid} [${local}] NCCL INFO Bootstrap : Using eth0:10.0.${log.nodeOf(rank)}.${10 + log.nodeOf(rank)}<0>`);
    log.rank(rank, t + 11, `${host}:${pid}:${pid} [${local}] NCCL INFO NCCL version 2.${pick(rng, ['14.3', '18.1', '19.3', '20.5', '21.5'])}+cuda12.1`);
    if (rng() < 0.4) log.rank(rank, t + 20, `/usr/lib/python3/dist-packages/torch/utils/data/dataloader.py:558: UserWarning: This DataLoader will create 8 worker processes in total. Our suggested max number of worker in current system is 6.`, 'stderr');
    if (rng() < 0.15) log.rank(rank, t + 30, `${host}:${pid}:${pid + 40} [${local}] NCCL WARN NET/Socket : peer 10.0.0.11<43117> connection closed by peer, retrying (1/5)`);
  }
}

/** Training steps [from, to] on the given ranks (default: the printers), each rank with jitter. */
function train(plan: Plan, from: number, to: number, ranks = plan.printers, options: { nanFrom?: Map<number, number> } = {}): void {
  const { log, rng } = plan;
  for (let step = from; step <= to; step++) {
    const loss = lossAt(plan, step);
    for (const rank of ranks) {
      const nanStep = options.nanFrom?.get(rank);
      const value = nanStep !== undefined && step >= nanStep ? Number.NaN : loss + (rng() - 0.5) * 0.02;
      log.rank(rank, plan.startMs + step * plan.stepMs + between(rng, 0, 40), progressLine(plan, rank, step, value));
    }
    if (ranks.length > 0 && rng() < 0.05) {
      const rank = pick(rng, ranks);
      log.rank(rank, plan.startMs + step * plan.stepMs + 100, `[deepspeed] OVERFLOW! Rank ${rank} Skipping step. Attempted loss scale: 65536, reducing to 32768`);
    }
  }
}

const stepTime = (plan: Plan, step: number) => plan.startMs + step * plan.stepMs;

function traceback(frames: string[], exception: string): string {
  return ['Traceback (most recent call last):', ...frames.flatMap((frame) => [`  File "${frame}"`, '    ...']), exception].join('\n');
}

const TRAIN_FRAMES = ['/workspace/train.py", line 214, in <module>', '/workspace/train.py", line 187, in main', '/usr/lib/python3/dist-packages/torch/nn/modules/module.py", line 1736, in _wrapped_call_impl'];

/** The launcher's handling of a dead worker on `node`: failure line, SIGTERMs to the others, the report. */
function launcherReport(plan: Plan, node: number, trueMs: number, failed: Array<{ rank: number; exitcode: number }>, rootCause: { rank: number; exitcode: number }): void {
  const { log, rng } = plan;
  const first = failed[0]!;
  log.launcher(node, trueMs, `E${torchLogTime(trueMs)} 140 torch/distributed/elastic/multiprocessing/api.py:833] failed (exitcode: ${first.exitcode}) local_rank: ${log.localOf(first.rank)} (pid: ${log.topology.pids[first.rank]}) of binary: /usr/bin/python3`);
  for (let local = 0; local < log.topology.processesPerNode; local++) {
    const rank = node * log.topology.processesPerNode + local;
    if (failed.some((entry) => entry.rank === rank)) continue;
    log.launcher(node, trueMs - 50, `W${torchLogTime(trueMs - 50)} 140 torch/distributed/elastic/multiprocessing/api.py:858] Sending process ${log.topology.pids[rank]} closing signal SIGTERM`);
  }
  const block = (index: number, entry: { rank: number; exitcode: number }) => [
    `[${index}]:`,
    `  time      : ${new Date(Date.UTC(2024, 10, 27, 10, 0, 0) + Math.floor(trueMs / 1000) * 1000).toISOString().slice(0, 19).replace('T', '_')}`,
    `  host      : ${log.hostOf(entry.rank)}`,
    `  rank      : ${entry.rank} (local_rank: ${log.localOf(entry.rank)})`,
    `  exitcode  : ${entry.exitcode} (pid: ${log.topology.pids[entry.rank]})`,
    '  error_file: <N/A>',
    `  traceback : ${entry.exitcode < 0 ? `Signal ${-entry.exitcode} (${entry.exitcode === -9 ? 'SIGKILL' : entry.exitcode === -6 ? 'SIGABRT' : 'SIGTERM'}) received by PID ${log.topology.pids[entry.rank]}` : 'To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html'}`,
  ];
  const others = failed.filter((entry) => entry !== rootCause);
  const report = [
    'Traceback (most recent call last):',
    '  File "/usr/local/bin/torchrun", line 8, in <module>',
    '    sys.exit(main())',
    'torch.distributed.elastic.multiprocessing.errors.ChildFailedError: ',
    '============================================================',
    'train.py FAILED',
    '------------------------------------------------------------',
    'Failures:',
    ...(others.length === 0 ? ['  <NO_OTHER_FAILURES>'] : others.flatMap((entry, i) => block(i + 1, entry))),
    '------------------------------------------------------------',
    'Root Cause (first observed failure):',
    ...block(0, rootCause),
    '============================================================',
  ].join('\n');
  log.launcher(node, trueMs + between(rng, 200, 600), report);
}

/** Ranks of other nodes losing their peers after `deadRank` died: NCCL remote errors or closed connections naming its host. */
function remoteConsequences(plan: Plan, deadRank: number, trueMs: number, style: 'closed' | 'remote' | 'timeout', seq: number): void {
  const { log, rng } = plan;
  const deadNode = log.nodeOf(deadRank);
  for (let rank = 0; rank < log.worldSize; rank++) {
    if (rank === deadRank) continue;
    const t = trueMs + between(rng, 300, 2500);
    const host = log.hostOf(rank);
    const pid = log.topology.pids[rank]!;
    const local = log.localOf(rank);
    // Ranks on the dead rank's node are stopped by their launcher (SIGTERM) and log nothing more.
    if (style === 'closed' && log.nodeOf(rank) === deadNode) continue;
    if (style === 'closed') {
      log.rank(rank, t, `${host}:${pid}:${pid + 77} [${local}] NCCL WARN Net : Connection closed by remote peer ${pick(rng, [log.hostOf(deadRank), `10.0.${deadNode}.${10 + deadNode}`])}<${40000 + int(rng, 0, 9999)}>`);
      log.rank(rank, t + 5, `${host}:${pid}:${pid + 77} [${local}] NCCL INFO transport/net.cc:1298 -> 6`);
      log.rank(rank, t + 400, traceback(TRAIN_FRAMES, `torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:1970, remote process exited or there was a network error, NCCL version 2.20.5\nncclRemoteError: A call failed possibly due to a network error or a remote process exiting prematurely.\nLast error:\nNet : Connection closed by remote peer ${log.hostOf(deadRank)}<51340>`));
    } else if (style === 'remote') {
      log.rank(rank, t, traceback(TRAIN_FRAMES, `RuntimeError: NCCL communicator was aborted on rank ${rank}.  Original reason for failure was: NCCL error: remote process exited or there was a network error, NCCL version 2.18.1\nncclRemoteError: A call failed possibly due to a network error or a remote process exiting prematurely.`));
    } else if (style === 'timeout') {
      const timeoutMs = 600_000;
      log.rank(rank, trueMs + timeoutMs + between(rng, 0, 3000), `[rank${rank}]:[E${torchLogTime(trueMs + timeoutMs)} 1450 torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:607] [Rank ${rank}] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=${seq}, OpType=ALLREDUCE, NumelIn=25557032, NumelOut=25557032, Timeout(ms)=${timeoutMs}) ran for ${timeoutMs + 23} milliseconds before timing out.`);
    }
  }
}

type Builder = (plan: Plan) => GroundTruth;

const BUILDERS: Record<string, Builder> = {
  cuda_oom(plan) {
    const { log, rng } = plan;
    const steps = int(rng, 20, 50);
    const culprit = int(rng, 0, log.worldSize - 1);
    train(plan, 1, steps);
    const t = stepTime(plan, steps) + between(rng, 100, plan.stepMs);
    const wording = pick(rng, [
      `torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU ${log.localOf(culprit)} has a total capacity of 79.15 GiB of which 1.12 GiB is free. Including non-PyTorch memory, this process has 78.02 GiB memory in use.`,
      `torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB (GPU ${log.localOf(culprit)}; 39.59 GiB total capacity; 37.10 GiB already allocated; 3.19 MiB free; 38.00 GiB reserved in total by PyTorch)`,
      `RuntimeError: CUDA out of memory. Tried to allocate 512.00 MiB (GPU ${log.localOf(culprit)}; 15.78 GiB total capacity; 14.01 GiB already allocated; 301.19 MiB free; 14.30 GiB reserved in total by PyTorch) If reserved memory is >> allocated memory try setting max_split_size_mb to avoid fragmentation.`,
      `RuntimeError: CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.`,
    ]);
    log.rank(culprit, t, traceback(TRAIN_FRAMES, wording), 'stderr');
    log.wrapperExit(culprit, t + 300, 1);
    remoteConsequences(plan, culprit, t, pick(rng, ['closed', 'remote'] as const), 0);
    const node = log.nodeOf(culprit);
    launcherReport(plan, node, t + 800, [{ rank: culprit, exitcode: 1 }], { rank: culprit, exitcode: 1 });
    for (let rank = 0; rank < log.worldSize; rank++) if (rank !== culprit) log.wrapperExit(rank, t + 3000, null, 'SIGTERM');
    return { status: 'failed', rank: culprit, class: 'cuda_oom', hungRanks: [] };
  },

  nccl_timeout(plan) {
    const { log, rng } = plan;
    const steps = int(rng, 20, 50);
    const culprit = int(rng, 0, log.worldSize - 1);
    const others = plan.printers.filter((rank) => rank !== culprit);
    train(plan, 1, steps);
    // The culprit stalls in its own code (data loading, a deadlock); the others print one more step and wait.
    train(plan, steps + 1, steps + 1, others);
    const seq = steps * 3 + int(rng, 0, 2);
    const t = stepTime(plan, steps + 1);
    remoteConsequences(plan, culprit, t, 'timeout', seq);
    for (let rank = 0; rank < log.worldSize; rank++) {
      if (rank === culprit) continue;
      const done = t + 600_000 + 3500;
      if (rng() < 0.6) log.rank(rank, done, `[rank${rank}]:[E${torchLogTime(done)} 1450 ProcessGroupNCCL.cpp:1631] [PG 0 (default_pg) Rank ${rank}] Timeout at NCCL work: ${seq}, last enqueued NCCL work: ${seq}, last completed NCCL work: ${seq - 1}.`);
      log.rank(rank, done + 200, `[rank${rank}]:[E${torchLogTime(done + 200)} 1450 ProcessGroupNCCL.cpp:621] [Rank ${rank}] Some NCCL operations have failed or timed out. Due to the asynchronous nature of CUDA kernels, subsequent GPU operations might run on corrupted/incomplete data.\n[rank${rank}]:[E${torchLogTime(done + 201)} 1450 ProcessGroupNCCL.cpp:627] [Rank ${rank}] To avoid data inconsistency, we are taking the entire process down.`);
    }
    // The launcher sees SIGABRT exits; it names a waiting rank as the root cause (earliest second).
    const end = t + 600_000 + 6000;
    for (let node = 0; node < log.topology.nodes; node++) {
      const local = Array.from({ length: log.topology.processesPerNode }, (_, i) => node * log.topology.processesPerNode + i).filter((rank) => rank !== culprit);
      if (local.length === 0) continue;
      launcherReport(plan, node, end, local.map((rank) => ({ rank, exitcode: -6 })), { rank: local[0]!, exitcode: -6 });
    }
    for (let rank = 0; rank < log.worldSize; rank++) log.wrapperExit(rank, end + 500, null, rank === culprit ? 'SIGTERM' : 'SIGABRT');
    return { status: 'failed', rank: culprit, class: 'nccl_timeout', hungRanks: [] };
  },

  nccl_error(plan) {
    const { log, rng } = plan;
    const steps = int(rng, 15, 40);
    const culprit = int(rng, 0, log.worldSize - 1);
    train(plan, 1, steps);
    const t = stepTime(plan, steps) + 200;
    const host = log.hostOf(culprit);
    const pid = log.topology.pids[culprit]!;
    const local = log.localOf(culprit);
    if (rng() < 0.5) {
      log.rank(culprit, t, `${host}:${pid}:${pid + 90} [${local}] NCCL WARN NET/IB : mlx5_${local}:1 Got async event : port error`);
    } else {
      log.rank(culprit, t, `${host}:${pid}:${pid + 90} [${local}] NCCL WARN Call to ibv_reg_mr failed with error Cannot allocate memory`);
    }
    log.rank(
      culprit,
      t + 300,
      traceback(
        TRAIN_FRAMES,
        pick(rng, [
          `torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/NCCLUtils.hpp:275, unhandled system error (run with NCCL_DEBUG=INFO for details), NCCL version 2.19.3\nncclSystemError: System call (e.g. socket, malloc) or external library call failed or device error.`,
          `RuntimeError: NCCL error in: ../torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:1269, unhandled system error, NCCL version 2.14.3\nncclSystemError: System call (e.g. socket, malloc) or external library call failed or device error. It can be also caused by unexpected exit of a remote peer, you can check NCCL warnings for failure information.`,
        ]),
      ),
    );
    remoteConsequences(plan, culprit, t + 300, 'remote', 0);
    launcherReport(plan, log.nodeOf(culprit), t + 1500, [{ rank: culprit, exitcode: 1 }], { rank: culprit, exitcode: 1 });
    log.wrapperExit(culprit, t + 1600, 1);
    return { status: 'failed', rank: culprit, class: 'nccl_error', hungRanks: [] };
  },

  connection_reset(plan) {
    const { log, rng } = plan;
    const steps = int(rng, 15, 40);
    // A node drops off the network (or loses power): its ranks stop with no log of their own.
    const deadNode = int(rng, 1, log.topology.nodes - 1);
    const deadRanks = Array.from({ length: log.topology.processesPerNode }, (_, i) => deadNode * log.topology.processesPerNode + i);
    const culprit = deadRanks[0]!;
    train(plan, 1, steps);
    train(plan, steps + 1, steps + 1, plan.printers.filter((rank) => !deadRanks.includes(rank)));
    const t = stepTime(plan, steps + 1) + 100;
    remoteConsequences(plan, culprit, t, 'closed', 0);
    for (let node = 0; node < log.topology.nodes; node++) {
      if (node === deadNode) continue;
      const rank = node * log.topology.processesPerNode;
      launcherReport(plan, node, t + 5000, [{ rank, exitcode: 1 }], { rank, exitcode: 1 });
    }
    return { status: 'failed', rank: culprit, class: 'connection_reset', hungRanks: [] };
  },

  sigkill(plan) {
    const { log, rng } = plan;
    const steps = int(rng, 15, 40);
    const culprit = int(rng, 0, log.worldSize - 1);
    train(plan, 1, steps);
    const t = stepTime(plan, steps) + 300;
    remoteConsequences(plan, culprit, t, pick(rng, ['closed', 'remote'] as const), 0);
    launcherReport(plan, log.nodeOf(culprit), t + 1000, [{ rank: culprit, exitcode: -9 }], { rank: culprit, exitcode: -9 });
    log.wrapperExit(culprit, t + 10, null, 'SIGKILL');
    return { status: 'failed', rank: culprit, class: 'sigkill', hungRanks: [] };
  },

  kernel_oom(plan) {
    const { log, rng } = plan;
    const steps = int(rng, 15, 40);
    const culprit = int(rng, 0, log.worldSize - 1);
    train(plan, 1, steps);
    const t = stepTime(plan, steps) + 300;
    const node = log.nodeOf(culprit);
    const pid = log.topology.pids[culprit]!;
    if (rng() < 0.3) {
      // Host RAM runs out in a DataLoader worker: the kernel kills the worker; the rank raises.
      const worker = pid + int(rng, 5, 60);
      log.kernel(node, t, `[${(12345 + t / 1000).toFixed(6)}] Out of memory: Killed process ${worker} (pt_data_worker) total-vm:48765432kB, anon-rss:30432100kB, file-rss:0kB, shmem-rss:8000kB, UID:1000 pgtables:60000kB oom_score_adj:0`);
      log.rank(culprit, t + between(rng, 200, 1500), traceback(['/usr/lib/python3/dist-packages/torch/utils/data/dataloader.py", line 1133, in _try_get_data'], `RuntimeError: DataLoader worker (pid ${worker}) is killed by signal: Killed. `), 'stderr');
      log.wrapperExit(culprit, t + 2000, 1);
      remoteConsequences(plan, culprit, t + 1500, 'remote', 0);
      launcherReport(plan, node, t + 2500, [{ rank: culprit, exitcode: 1 }], { rank: culprit, exitcode: 1 });
      return { status: 'failed', rank: culprit, class: 'kernel_oom', hungRanks: [] };
    }
    if (rng() < 0.6) {
      log.kernel(node, t, `[${(12345 + t / 1000).toFixed(6)}] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0-1,global_oom,task_memcg=/user.slice,task=python,pid=${pid},uid=1000`);
      log.kernel(node, t + 1, `[${(12345 + t / 1000).toFixed(6)}] Out of memory: Killed process ${pid} (python) total-vm:184467440kB, anon-rss:120334112kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:240000kB oom_score_adj:0`);
    } else {
      log.kernel(node, t, `[${(12345 + t / 1000).toFixed(6)}] Memory cgroup out of memory: Killed process ${pid} (pt_main_thread) total-vm:98765432kB, anon-rss:65432100kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:130000kB oom_score_adj:0`);
    }
    remoteConsequences(plan, culprit, t, pick(rng, ['closed', 'remote'] as const), 0);
    launcherReport(plan, node, t + 900, [{ rank: culprit, exitcode: -9 }], { rank: culprit, exitcode: -9 });
    log.wrapperExit(culprit, t + 10, null, 'SIGKILL');
    return { status: 'failed', rank: culprit, class: 'kernel_oom', hungRanks: [] };
  },

  python_exception(plan) {
    const { log, rng } = plan;
    const steps = int(rng, 15, 40);
    const culprit = int(rng, 0, log.worldSize - 1);
    train(plan, 1, steps);
    const t = stepTime(plan, steps) + 250;
    const exception = pick(rng, [
      "KeyError: 'input_ids'",
      'ValueError: Expected input batch_size (16) to match target batch_size (12).',
      'AssertionError: sequence length 4097 exceeds max_position_embeddings 4096',
      "FileNotFoundError: [Errno 2] No such file or directory: '/data/shard-00017.arrow'",
      'RuntimeError: shape mismatch: value tensor of shape [8, 512] cannot be broadcast to indexing result of shape [8, 511]',
      'IndexError: index 50257 is out of bounds for dimension 0 with size 50257',
    ]);
    log.rank(culprit, t, traceback(TRAIN_FRAMES, exception), 'stderr');
    log.wrapperExit(culprit, t + 200, 1);
    remoteConsequences(plan, culprit, t, pick(rng, ['closed', 'remote'] as const), 0);
    launcherReport(plan, log.nodeOf(culprit), t + 800, [{ rank: culprit, exitcode: 1 }], { rank: culprit, exitcode: 1 });
    return { status: 'failed', rank: culprit, class: 'python_exception', hungRanks: [] };
  },

  nan_all(plan) {
    const { log, rng } = plan;
    const steps = int(rng, 20, 40);
    const nanStep = steps + 1;
    const nanFrom = new Map(plan.printers.map((rank) => [rank, nanStep]));
    train(plan, 1, nanStep + 2, plan.printers, { nanFrom });
    const t = stepTime(plan, nanStep + 2) + 100;
    for (const rank of plan.printers) log.rank(rank, t + between(rng, 0, 50), traceback(TRAIN_FRAMES, `ValueError: Loss is nan at step ${nanStep + 2}, stopping training`));
    for (let rank = 0; rank < log.worldSize; rank++) log.wrapperExit(rank, t + 500, 1);
    return { status: 'failed', rank: null, class: 'nan_loss', hungRanks: [] };
  },

  nan_one(plan) {
    const { log, rng } = plan;
    const steps = int(rng, 20, 40);
    const culprit = pick(rng, plan.printers);
    // A corrupt sample gives one rank NaN first; the all-reduce spreads it to every rank a step later.
    const nanFrom = new Map(plan.printers.map((rank) => [rank, rank === culprit ? steps : steps + 1]));
    train(plan, 1, steps + 2, plan.printers, { nanFrom });
    const t = stepTime(plan, steps + 2) + 100;
    for (const rank of plan.printers) log.rank(rank, t + between(rng, 0, 50), traceback(TRAIN_FRAMES, 'FloatingPointError: Loss is inf or nan, stopping'));
    for (let rank = 0; rank < log.worldSize; rank++) log.wrapperExit(rank, t + 500, 1);
    return { status: 'failed', rank: culprit, class: 'nan_loss', hungRanks: [] };
  },

  slurm_timeout(plan) {
    const { log, rng } = plan;
    const steps = int(rng, 20, 40);
    train(plan, 1, steps);
    const t = stepTime(plan, steps) + 400;
    const reason = pick(rng, [' DUE TO TIME LIMIT', ' DUE TO TIME LIMIT', '']);
    log.scheduler(t, `slurmstepd: error: *** JOB ${plan.log.topology.runId} ON ${log.topology.hosts[0]} CANCELLED AT 2024-11-27T12:00:${String(int(rng, 10, 59))}${reason} ***`);
    log.scheduler(t + 20, 'srun: Job step aborted: Waiting up to 32 seconds for job step to finish.');
    for (let rank = 0; rank < log.worldSize; rank++) {
      const when = t + between(rng, -1500, 2500);
      if (rng() < 0.4) log.rank(rank, when, `RuntimeError: DataLoader worker (pid ${40000 + rank * 10}) is killed by signal: Terminated. `);
      if (rng() < 0.3) log.rank(rank, when + 100, traceback(TRAIN_FRAMES, 'KeyboardInterrupt'));
      if (rng() < 0.3) log.rank(rank, when + 300, traceback(TRAIN_FRAMES, `RuntimeError: NCCL communicator was aborted on rank ${rank}.`));
    }
    for (let node = 0; node < log.topology.nodes; node++) log.launcher(node, t + 300, `torch.distributed.elastic.multiprocessing.api.SignalException: Process ${30000 + node} got signal: 15`);
    log.scheduler(t + 3000, `srun: error: ${log.topology.hosts[0]}: task 0: Terminated`);
    return { status: 'failed', rank: null, class: 'slurm_timeout', hungRanks: [] };
  },

  hang_behind(plan) {
    const { rng } = plan;
    const steps = int(rng, 20, 40);
    const culprit = pick(rng, plan.printers);
    // The culprit blocks after step N (stuck in I/O); the others finish step N+1 and wait in the next collective.
    train(plan, 1, steps);
    train(plan, steps + 1, steps + 1, plan.printers.filter((rank) => rank !== culprit));
    return { status: 'hung', rank: culprit, class: 'hang', hungRanks: [culprit] };
  },

  hang_silent(plan) {
    const { rng } = plan;
    const steps = int(rng, 20, 30);
    const culprit = pick(rng, plan.printers);
    // The others keep logging (gradient-accumulation micro-steps with no_sync, a heartbeat thread) while the culprit is silent.
    train(plan, 1, steps);
    const more = int(rng, 40, 80);
    train(plan, steps + 1, steps + more, plan.printers.filter((rank) => rank !== culprit));
    return { status: 'hung', rank: culprit, class: 'hang', hungRanks: [culprit] };
  },

  elastic_restart(plan) {
    const { log, rng } = plan;
    // Attempt 1 dies of an OOM; torchrun restarts the group (new pids, steps resume from a checkpoint);
    // the verdict is about attempt 2, which finishes or fails on another rank.
    const steps = int(rng, 15, 30);
    const first = int(rng, 0, log.worldSize - 1);
    train(plan, 1, steps);
    const t = stepTime(plan, steps) + 200;
    log.rank(first, t, traceback(TRAIN_FRAMES, 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 4.00 GiB. GPU 0 has a total capacity of 79.15 GiB of which 2.1 GiB is free.'), 'stderr');
    log.wrapperExit(first, t + 100, 1);
    launcherReport(plan, log.nodeOf(first), t + 600, [{ rank: first, exitcode: 1 }], { rank: first, exitcode: 1 });
    for (let rank = 0; rank < log.worldSize; rank++) if (rank !== first) log.wrapperExit(rank, t + 700, null, 'SIGTERM');
    const restartMs = t + 3000;
    for (let node = 0; node < log.topology.nodes; node++) {
      log.launcher(node, restartMs, `[default] Worker group FAILED. 3/3 attempts left; will restart worker group`);
      log.launcher(node, restartMs + 500, `[default] Rendezvous complete for workers. Result:\n  restart_count=1\n  master_addr=${log.topology.hosts[0]}\n  group_rank=${node}\n  group_world_size=${log.topology.nodes}`);
    }
    for (let rank = 0; rank < log.worldSize; rank++) log.topology.pids[rank] = int(rng, 1000, 400000);
    const resumed = Math.max(1, steps - int(rng, 2, 8));
    const offset = restartMs + 2000 - resumed * plan.stepMs;
    const second: Plan = { ...plan, startMs: offset };
    for (let rank = 0; rank < log.worldSize; rank++) log.rank(rank, offset + resumed * plan.stepMs - 500, `${pythonTime(offset)} - INFO - train - resuming from checkpoint step ${resumed}`);
    const more = int(rng, 10, 25);
    if (rng() < 0.5) {
      train(second, resumed + 1, resumed + more);
      const end = stepTime(second, resumed + more) + 500;
      for (let node = 0; node < log.topology.nodes; node++) log.launcher(node, end + 1000, `I${torchLogTime(end + 1000)} 140 torch/distributed/elastic/agent/server/api.py:879] [default] worker group successfully finished. Waiting 300 seconds for other agents to finish.`);
      for (let rank = 0; rank < log.worldSize; rank++) log.wrapperExit(rank, end + 1500, 0);
      return { status: 'finished', rank: null, class: null, hungRanks: [] };
    }
    const culprit = int(rng, 0, log.worldSize - 1);
    train(second, resumed + 1, resumed + more);
    const failAt = stepTime(second, resumed + more) + 250;
    log.rank(culprit, failAt, traceback(TRAIN_FRAMES, "KeyError: 'attention_mask'"), 'stderr');
    log.wrapperExit(culprit, failAt + 200, 1);
    remoteConsequences(second, culprit, failAt, 'remote', 0);
    launcherReport(second, log.nodeOf(culprit), failAt + 800, [{ rank: culprit, exitcode: 1 }], { rank: culprit, exitcode: 1 });
    return { status: 'failed', rank: culprit, class: 'python_exception', hungRanks: [] };
  },

  healthy(plan) {
    const { log, rng } = plan;
    const steps = int(rng, 30, 60);
    const noisy = pick(rng, plan.printers);
    const caughtAt = int(rng, 5, steps - 5);
    train(plan, 1, caughtAt);
    log.rank(noisy, stepTime(plan, caughtAt) + 100, `${pythonTime(stepTime(plan, caughtAt))} - WARNING - datasets - Retrying download after error:\n${traceback(['/usr/lib/python3/dist-packages/urllib3/connectionpool.py", line 703, in urlopen'], 'ConnectionResetError: [Errno 104] Connection reset by peer')}`);
    log.rank(noisy, stepTime(plan, caughtAt) + 150, traceback(['/workspace/data.py", line 51, in __getitem__'], "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte") + '\nSkipping sample 18231.');
    train(plan, caughtAt + 1, steps);
    const end = stepTime(plan, steps) + 500;
    for (const rank of plan.printers) if (rank === 0) log.rank(rank, end, pick(rng, [`{'train_runtime': ${(end / 1000).toFixed(1)}, 'train_samples_per_second': 402.1, 'train_steps_per_second': 1.57, 'train_loss': 2.3012, 'epoch': 3.0}`, `${pythonTime(end)} - INFO - train - Training complete in ${(end / 1000).toFixed(0)}s`]));
    for (let node = 0; node < log.topology.nodes; node++) log.launcher(node, end + 2000, `I${torchLogTime(end + 2000)} 140 torch/distributed/elastic/agent/server/api.py:879] [default] worker group successfully finished. Waiting 300 seconds for other agents to finish.`);
    for (let rank = 0; rank < log.worldSize; rank++) log.wrapperExit(rank, end + 2500, 0);
    return { status: 'finished', rank: null, class: null, hungRanks: [] };
  },
};

export const SCENARIO_KINDS = Object.keys(BUILDERS);

/** Scenario `index` of a suite with the given seed; kinds cycle so every class appears. */
export function buildScenario(seed: number, index: number): Scenario {
  const kind = SCENARIO_KINDS[index % SCENARIO_KINDS.length]!;
  const rng = seededRandom(seed * 7919 + index * 104729 + 17);
  const nodes = kind === 'connection_reset' ? int(rng, 2, 4) : int(rng, 1, 4);
  const processesPerNode = pick(rng, [2, 4, 8]);
  const scheme: LabelScheme = kind === 'slurm_timeout' ? 'slurm' : pick(rng, ['wrapper', 'tee', 'files', 'slurm'] as const);
  const hosts = Array.from({ length: nodes }, (_, i) => pick(rng, ['gpu-node-', 'dgx-a100-', 'hgx-', 'compute-']) + String(i + int(rng, 0, 9) * 10).padStart(2, '0'));
  const topology = {
    nodes,
    processesPerNode,
    hosts: [...new Set(hosts)].length === nodes ? hosts : hosts.map((host, i) => `${host}-${i}`),
    skewMs: Array.from({ length: nodes }, (_, i) => (i === 0 ? 0 : between(rng, -4000, 4000))),
    pids: Array.from({ length: nodes * processesPerNode }, () => int(rng, 1000, 400000)),
    runId: scheme === 'slurm' ? String(int(rng, 100000, 9999999)) : `${kind.replace(/_/g, '-')}-${seed}-${index}-${int(rng, 1000, 99999)}`,
    scheme,
  };
  const log = new ScenarioLog(topology, Date.now() - 6 * 3600 * 1000 - int(rng, 0, 3600) * 1000);
  const perRank: Format[] = ['generic', 'torchtitan', 'json'];
  const needsAll = kind.startsWith('hang') || kind.startsWith('nan');
  const format = needsAll ? pick(rng, perRank) : pick(rng, [...perRank, 'hf', 'megatron', 'imagenet'] as Format[]);
  const onlyRankZero = format === 'hf' || format === 'imagenet';
  const printers = format === 'megatron' ? [nodes * processesPerNode - 1] : onlyRankZero ? [0] : Array.from({ length: nodes * processesPerNode }, (_, i) => i);
  const plan: Plan = { rng, log, format, stepMs: between(rng, 400, 2500), startMs: 3000, printers, lossBase: between(rng, 3, 11) };
  startup(plan);
  const truth = BUILDERS[kind]!(plan);
  return log.build(`${kind} #${index} (${nodes}×${processesPerNode}, ${scheme}, ${format})`, truth);
}
