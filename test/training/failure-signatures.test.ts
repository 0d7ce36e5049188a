// The failure signature table on real-looking lines of every PyTorch era (1.13 → 2.5+), torchrun, the
// kernel, Slurm, DeepSpeed and Lightning: which signature matches, its class and role, and the fields
// it extracts. Also the rank/run identity rules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchFacts, matchSignatures, ncclProcessPrefix } from '../../src/training/failure-signatures.ts';
import { rankFromLabels, rankFromPath, runIdOf, splitLinePrefix } from '../../src/training/run-identity.ts';

interface Case {
  line: string;
  id: string;
  class: string | undefined;
  role: string;
  fields?: Record<string, string>;
}

const tb = (last: string) => `Traceback (most recent call last):\n  File "/workspace/train.py", line 187, in main\n    loss = model(**batch).loss\n${last}`;

const CASES: Case[] = [
  // CUDA OOM, every wording
  { line: tb('RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 39.59 GiB total capacity; 35.10 GiB already allocated; 1.20 GiB free; 36.00 GiB reserved in total by PyTorch)'), id: 'cuda-oom', class: 'cuda_oom', role: 'cause', fields: { tried: '2.00 GiB', gpu: '0' } },
  { line: tb('torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB. GPU 3 has a total capacty of 79.15 GiB of which 5.06 MiB is free.'), id: 'cuda-oom', class: 'cuda_oom', role: 'cause', fields: { tried: '20.00 MiB', gpu: '3' } },
  { line: tb('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.50 GiB. GPU 7 has a total capacity of 79.10 GiB of which 1.1 GiB is free.'), id: 'cuda-oom', class: 'cuda_oom', role: 'cause', fields: { tried: '1.50 GiB', gpu: '7' } },
  { line: tb('RuntimeError: CUDA error: out of memory'), id: 'cuda-oom-short', class: 'cuda_oom', role: 'cause' },
  { line: 'RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`', id: 'cuda-oom-short', class: 'cuda_oom', role: 'cause' },
  // NCCL watchdog timeouts across eras (consequences)
  { line: '[E ProcessGroupNCCL.cpp:828] [Rank 3] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=12345, OpType=ALLREDUCE, Timeout(ms)=1800000) ran for 1800519 milliseconds before timing out.', id: 'nccl-watchdog-timeout', class: 'nccl_timeout', role: 'consequence', fields: { reported_rank: '3', seq: '12345', op: 'ALLREDUCE', timeout_ms: '1800000' } },
  { line: '[E ProcessGroupNCCL.cpp:475] [Rank 1] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=7, OpType=BROADCAST, NumelIn=1, NumelOut=1, Timeout(ms)=600000) ran for 600043 milliseconds before timing out.', id: 'nccl-watchdog-timeout', class: 'nccl_timeout', role: 'consequence', fields: { reported_rank: '1', seq: '7', op: 'BROADCAST', timeout_ms: '600000' } },
  { line: '[rank0]:[E1127 10:31:52.123456 140 torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:607] [PG 0 (default_pg) Rank 0] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=11, OpType=ALLREDUCE, NumelIn=8, NumelOut=8, Timeout(ms)=600000) ran for 600071 milliseconds before timing out.', id: 'nccl-watchdog-timeout', class: 'nccl_timeout', role: 'consequence', fields: { reported_rank: '0', seq: '11', op: 'ALLREDUCE', timeout_ms: '600000' } },
  { line: '[rank1]:[E1127 10:31:53.000000 140 ProcessGroupNCCL.cpp:1631] [PG ID 0 PG GUID 0(default_pg) Rank 1] Timeout at NCCL work: 11, last enqueued NCCL work: 11, last completed NCCL work: 10.', id: 'nccl-timeout-work', class: 'nccl_timeout', role: 'consequence', fields: { seq: '11', last_enqueued: '11', last_completed: '10' } },
  { line: '[E ProcessGroupNCCL.cpp:455] Some NCCL operations have failed or timed out. Due to the asynchronous nature of CUDA kernels, subsequent GPU operations might run on corrupted/incomplete data.', id: 'nccl-operations-timed-out', class: 'nccl_timeout', role: 'consequence' },
  // Aborts and remote errors (consequences)
  { line: tb('RuntimeError: NCCL communicator was aborted on rank 1.  Original reason for failure was: NCCL error: remote process exited or there was a network error, NCCL version 2.18.1'), id: 'nccl-comm-aborted', class: 'nccl_error', role: 'consequence' },
  { line: '[rank3]:[E1127 ProcessGroupNCCL.cpp:1362] [PG ID 0 PG GUID 0(default_pg) Rank 3] First PG on this rank to signal dumping.', id: 'nccl-comm-aborted', class: 'nccl_error', role: 'consequence' },
  // NCCL errors of the rank itself (causes): the DistBackendError the old pack missed
  { line: tb('torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/NCCLUtils.hpp:275, unhandled system error (run with NCCL_DEBUG=INFO for details), NCCL version 2.19.3\nncclSystemError: System call (e.g. socket, malloc) or external library call failed or device error.'), id: 'nccl-error', class: 'nccl_error', role: 'cause', fields: { reason: 'unhandled system error', nccl_version: '2.19.3' } },
  { line: tb('RuntimeError: NCCL error in: ../torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:1269, unhandled cuda error, NCCL version 2.14.3'), id: 'nccl-error', class: 'nccl_error', role: 'cause', fields: { reason: 'unhandled cuda error', nccl_version: '2.14.3' } },
  { line: 'gpu-node-2:2891:3012 [1] NCCL WARN NET/IB : mlx5_1:1 Got async event : port error', id: 'ib-port-error', class: 'nccl_error', role: 'cause' },
  // Connections
  { line: 'gpu-node-0:1200:1277 [3] NCCL WARN Net : Connection closed by remote peer gpu-node-3.cluster<54912>', id: 'connection-closed-peer', class: 'connection_reset', role: 'peer', fields: { peer: 'gpu-node-3.cluster' } },
  { line: 'RuntimeError: [../third_party/gloo/gloo/transport/tcp/pair.cc:598] Connection closed by peer [10.0.0.12]:47127', id: 'connection-closed-peer', class: 'connection_reset', role: 'peer', fields: { peer: '10.0.0.12' } },
  { line: 'gpu-node-1:990:1010 [0] NCCL WARN NET/IB : Got completion from peer 10.0.3.13<41231> with error 12, opcode 0, len 0, vendor err 129', id: 'ib-completion-error', class: 'nccl_error', role: 'peer', fields: { peer: '10.0.3.13', status: '12' } },
  { line: 'torch.distributed.DistNetworkError: Connection reset by peer', id: 'connection-reset', class: 'connection_reset', role: 'consequence' },
  { line: '[W socket.cpp:663] [c10d] The client socket has failed to connect to [node-0]:29500 (errno: 111 - Connection refused).', id: 'connect-retry', class: undefined, role: 'harmless' },
  // torchrun launcher: exits, SIGTERMs
  { line: 'ERROR:torch.distributed.elastic.multiprocessing.api:failed (exitcode: -9) local_rank: 2 (pid: 4569) of binary: /usr/bin/python3', id: 'torchrun-worker-failed', class: undefined, role: 'exit', fields: { exitcode: '-9', local_rank: '2', pid: '4569' } },
  { line: 'E1127 10:32:00.123000 140 torch/distributed/elastic/multiprocessing/api.py:833] failed (exitcode: 1) local_rank: 0 (pid: 77) of binary: /usr/bin/python', id: 'torchrun-worker-failed', class: undefined, role: 'exit', fields: { exitcode: '1', local_rank: '0', pid: '77' } },
  { line: 'WARNING:torch.distributed.elastic.multiprocessing.api:Sending process 4567 closing signal SIGTERM', id: 'torchrun-sigterm-sent', class: 'sigkill', role: 'consequence', fields: { pid: '4567' } },
  { line: 'rankscope run: command python was killed by signal SIGKILL (9)', id: 'wrapper-signal', class: undefined, role: 'exit', fields: { signal_name: 'SIGKILL', signal: '9' } },
  { line: 'rankscope run: command torchrun exited with code 1', id: 'wrapper-exit-code', class: undefined, role: 'exit', fields: { exitcode: '1' } },
  { line: 'Fatal Python error: Segmentation fault', id: 'fatal-signal', class: 'sigkill', role: 'cause', fields: { what: 'Segmentation fault' } },
  // Kernel OOM killer (global and cgroup)
  { line: '[123456.789] Out of memory: Killed process 4571 (python) total-vm:184467440kB, anon-rss:120334112kB, file-rss:0kB', id: 'kernel-oom-killed', class: 'kernel_oom', role: 'kernel_oom', fields: { pid: '4571', command: 'python' } },
  { line: 'Out of memory: Kill process 4571 (python) score 900 or sacrifice child', id: 'kernel-oom-killed', class: 'kernel_oom', role: 'kernel_oom', fields: { pid: '4571', command: 'python' } },
  { line: 'Memory cgroup out of memory: Killed process 812 (pt_main_thread) total-vm:98765432kB', id: 'kernel-oom-killed', class: 'kernel_oom', role: 'kernel_oom', fields: { pid: '812', command: 'pt_main_thread' } },
  { line: 'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/pod1,task_memcg=/kubepods/pod1,task=python,pid=4571,uid=0', id: 'kernel-oom-kill-line', class: 'kernel_oom', role: 'kernel_oom', fields: { command: 'python', pid: '4571' } },
  { line: 'slurmstepd: error: Detected 1 oom_kill event in StepId=123456.0. Some of the step tasks have been OOM Killed.', id: 'slurm-oom-kill', class: 'kernel_oom', role: 'kernel_oom', fields: { count: '1', step: '123456.0' } },
  // DataLoader workers
  { line: 'RuntimeError: DataLoader worker (pid 12345) is killed by signal: Killed. ', id: 'dataloader-killed', class: 'kernel_oom', role: 'cause', fields: { pid: '12345' } },
  { line: 'RuntimeError: DataLoader worker (pid 12345) is killed by signal: Terminated. ', id: 'dataloader-terminated', class: 'python_exception', role: 'consequence', fields: { pid: '12345' } },
  { line: 'RuntimeError: DataLoader worker (pid 9) is killed by signal: Bus error. It is possible that dataloader\'s workers are out of shared memory.', id: 'dataloader-signal', class: 'python_exception', role: 'cause', fields: { pid: '9', signal_name: 'Bus error' } },
  // Slurm
  { line: 'slurmstepd: error: *** JOB 123456 ON node-0 CANCELLED AT 2024-11-27T12:00:01 DUE TO TIME LIMIT ***', id: 'slurm-cancelled', class: 'slurm_timeout', role: 'scheduler', fields: { job: '123456', host: 'node-0', time: '2024-11-27T12:00:01', reason: 'TIME LIMIT' } },
  { line: 'slurmstepd: error: *** STEP 123456.0 ON node-3 CANCELLED AT 2024-11-27T12:00:01 ***', id: 'slurm-cancelled', class: 'slurm_timeout', role: 'scheduler', fields: { job: '123456.0', host: 'node-3', time: '2024-11-27T12:00:01' } },
  { line: 'srun: error: node-2: task 5: Killed', id: 'srun-task-exit', class: undefined, role: 'exit', fields: { host: 'node-2', task: '5', how: 'Killed' } },
  // NaN / inf and loss scale
  { line: '[deepspeed] Current loss scale already at minimum - cannot decrease scale anymore. Exiting run.', id: 'loss-scale-minimum', class: 'nan_loss', role: 'cause' },
  { line: tb("RuntimeError: Function 'MulBackward0' returned nan values in its 0th output."), id: 'nan-detected', class: 'nan_loss', role: 'cause' },
  { line: tb('ValueError: Loss is nan, stopping training'), id: 'nan-detected', class: 'nan_loss', role: 'cause' },
  { line: '[deepspeed] OVERFLOW! Rank 0 Skipping step. Attempted loss scale: 65536, reducing to 32768', id: 'overflow-skip', class: undefined, role: 'harmless' },
  // Python exceptions, and what is not one
  { line: tb("KeyError: 'input_ids'"), id: 'python-traceback', class: 'python_exception', role: 'cause', fields: { exception: 'KeyError', message: "'input_ids'" } },
  { line: '[rank3]: AssertionError: sequence length 4097 exceeds 4096', id: 'python-traceback', class: 'python_exception', role: 'cause', fields: { exception: 'AssertionError', message: 'sequence length 4097 exceeds 4096' } },
  // Finishing
  { line: "{'train_runtime': 1234.5, 'train_samples_per_second': 40.5, 'train_steps_per_second': 1.27, 'train_loss': 0.61, 'epoch': 3.0}", id: 'train-finished', class: undefined, role: 'finish' },
  { line: 'I1127 10:40:00.000000 140 torch/distributed/elastic/agent/server/api.py:879] [default] worker group successfully finished. Waiting 300 seconds for other agents to finish.', id: 'worker-group-succeeded', class: undefined, role: 'finish' },
  { line: '`Trainer.fit` stopped: `max_epochs=3` reached.', id: 'train-finished', class: undefined, role: 'finish' },
];

test('failure signatures: class, role and fields for every era (table)', () => {
  for (const testCase of CASES) {
    const hits = matchSignatures(testCase.line);
    const hit = hits.find((candidate) => candidate.signature.id === testCase.id);
    assert.ok(hit, `${testCase.id} should match ${JSON.stringify(testCase.line)}; got ${hits.map((candidate) => candidate.signature.id).join(', ') || 'nothing'}`);
    assert.equal(hit.signature.class, testCase.class, testCase.id);
    assert.equal(hit.signature.role, testCase.role, testCase.id);
    if (testCase.fields !== undefined) assert.deepEqual(hit.fields, testCase.fields, testCase.id);
  }
});

test('an entry that reports another rank\'s failure is not also a cause', () => {
  const aborted = matchSignatures(tb('RuntimeError: NCCL communicator was aborted on rank 2. Original reason: ncclSystemError'));
  assert.deepEqual(aborted.map((hit) => hit.signature.role), ['consequence']);
  assert.deepEqual(matchSignatures('KeyboardInterrupt'), []);
  assert.deepEqual(matchSignatures('2024-06-01 10:00:00 INFO step=1200 loss=2.1034'), []);
});

test('pids from NCCL prefixes, and launch facts', () => {
  assert.deepEqual(ncclProcessPrefix('gpu-node-1:4571:4600 [2] NCCL INFO Bootstrap : Using eth0:10.0.1.11<0>'), { host: 'gpu-node-1', pid: 4571, localRank: 2 });
  assert.equal(ncclProcessPrefix('INFO NCCL something'), undefined);
  assert.deepEqual(launchFacts('  nproc_per_node   : 8'), { processesPerNode: 8 });
  assert.deepEqual(launchFacts('  restart_count=1'), { restartCount: 1 });
  assert.deepEqual(launchFacts('  global_world_sizes=[16, 16]'), { worldSize: 16 });
  assert.deepEqual(launchFacts('[default] Worker group FAILED. 2/3 attempts left; will restart worker group'), { restarting: true });
});

test('run id and rank: labels, line prefixes, file paths', () => {
  assert.equal(runIdOf({ job: 'j', slurm_job_id: '42', torchelastic_run_id: 'te', run_id: 'r' }), 'r');
  assert.equal(runIdOf({ job: 'j', slurm_job_id: '42' }), '42');
  assert.equal(runIdOf({ job: 'j' }), 'j');
  assert.equal(runIdOf({ host: 'h' }), undefined);
  assert.deepEqual(splitLinePrefix('[rank12]: loss=1'), { kind: 'global', rank: 12, rest: 'loss=1' });
  assert.deepEqual(splitLinePrefix('[default3]:step 1'), { kind: 'local', rank: 3, rest: 'step 1' });
  assert.deepEqual(splitLinePrefix('[trainer1]:[rank9]: x'), { kind: 'global', rank: 9, rest: 'x' });
  assert.equal(splitLinePrefix('[2024-06-01 10:00:00] step 1'), undefined);
  for (const [path, rank] of [['/logs/rank-3.log', 3], ['/logs/rank3.txt', 3], ['/var/log/pods/job-worker-12/stdout', 12], ['/logs/worker-7/out.log', 7], ['/logs/rank_0/stdout.log', 0], ['/logs/frank.log', undefined]] as const) {
    assert.equal(rankFromPath(path), rank, path);
  }
  assert.equal(rankFromLabels({ rank: '5', filename: '/logs/rank-3.log' }), 5);
  assert.equal(rankFromLabels({ filename: '/logs/rank-3.log' }), 3);
});
