// `rankscope run` as a real child process, shipping to a real rankscope server on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer } from '../agent/test-server.ts';

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function rankscopeRun(args: string[], env: NodeJS.ProcessEnv, onSpawn?: (pid: number) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/rankscope.js', 'run', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('spawn', () => onSpawn?.(child.pid!));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const SCRIPT = [
  'echo "step 1 loss 2.5"',
  'printf "[default1]: 50%%|##  | 1/2\\r[default1]:100%%|####| 2/2\\n" >&2',
  'printf "Traceback (most recent call last):\\n  File \\"t.py\\", line 1, in <module>\\nValueError: bad\\n" >&2',
  'exit 7',
].join('; ');

test('output passes through unchanged, is shipped with env labels, and the exit code is returned', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-run-'));
  const server = await startTestServer(dir);
  const queueDir = join(dir, 'queue');
  try {
    const env = { RANK: '5', LOCAL_RANK: '1', WORLD_SIZE: '8', NODE_RANK: '1', SLURM_JOB_ID: '4242', TORCHELASTIC_RUN_ID: 'elastic-7' };
    const result = await rankscopeRun(['--server', server.url, '--job', 'pretrain', '--label', 'team=nlp', '--queue-dir', queueDir, '--', 'sh', '-c', SCRIPT], env);
    assert.equal(result.code, 7);
    assert.equal(result.stdout, 'step 1 loss 2.5\n', 'stdout byte for byte');
    assert.ok(result.stderr.startsWith('[default1]: 50%|##  | 1/2\r[default1]:100%|####| 2/2\nTraceback'), result.stderr);
    const entries = await server.waitForEntries('{job="pretrain"}', 4);
    const byLine = new Map(entries.map((entry) => [entry.line, entry]));
    const step = byLine.get('step 1 loss 2.5');
    assert.ok(step, `shipped: ${[...byLine.keys()].join(' | ')}`);
    assert.equal(step.labels.stream, 'stdout');
    assert.equal(step.labels.rank, '5');
    assert.equal(step.labels.local_rank, '1');
    assert.equal(step.labels.world_size, '8');
    assert.equal(step.labels.node_rank, '1');
    assert.equal(step.labels.slurm_job_id, '4242');
    assert.equal(step.labels.run_id, 'elastic-7');
    assert.equal(step.labels.job, 'pretrain');
    assert.equal(step.labels.team, 'nlp');
    assert.ok(step.labels.host);
    const progress = byLine.get('100%|####| 2/2');
    // The prefix names the process: local rank 1; its global rank needs LOCAL_WORLD_SIZE, which is unset.
    assert.equal(progress?.labels.local_rank, '1', 'a torchrun prefix overrides the env local rank');
    assert.equal(progress?.labels.rank, undefined, "and the wrapper's env rank is not the prefixed line's");
    assert.equal(progress?.labels.stream, 'stderr');
    const traceback = byLine.get('Traceback (most recent call last):\n  File "t.py", line 1, in <module>\nValueError: bad');
    assert.equal(traceback?.labels.level, 'error');
    const final = entries.find((entry) => entry.labels.stream === 'rankscope');
    assert.match(final?.line ?? '', /exited with code 7/);
    assert.equal(final?.labels.level, 'error');
    assert.equal(entries.length, 4);
    assert.deepEqual(readdirSync(queueDir), [], 'a delivered queue leaves nothing behind');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('signals are forwarded to the command and its death by signal is passed on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-run-'));
  const server = await startTestServer(dir);
  const queueDir = join(dir, 'queue');
  try {
    let wrapperPid = 0;
    const running = rankscopeRun(
      ['--server', server.url, '--job', 'trap', '--queue-dir', queueDir, '--', 'sh', '-c', 'echo ready; trap "echo got-term; exit 143" TERM; while true; do sleep 0.05; done'],
      {},
      (pid) => (wrapperPid = pid),
    );
    await server.waitForEntries('{job="trap"} |= "ready"', 1);
    process.kill(wrapperPid, 'SIGTERM');
    const result = await running;
    assert.equal(result.code, 143, 'the trap exit code comes back');
    assert.match(result.stdout, /got-term/);
    assert.equal((await server.query('{job="trap"} |= "got-term"')).length, 1);

    const killed = await rankscopeRun(['--server', server.url, '--job', 'killed', '--queue-dir', queueDir, '--', 'sh', '-c', 'kill -KILL $$'], {});
    assert.equal(killed.signal, 'SIGKILL', 'the wrapper dies by the same signal');
    assert.equal((await server.query('{job="killed", stream="rankscope"} |= "killed by signal SIGKILL"')).length, 1);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with the server down the command still runs; the next run with the same queue dir delivers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-run-'));
  const queueDir = join(dir, 'queue');
  // Learn a free port, then leave it closed: the server is down during the first run.
  const probe = await startTestServer(join(dir, 'probe'));
  const url = probe.url;
  await probe.close();
  let server: Awaited<ReturnType<typeof startTestServer>> | undefined;
  try {
    const offline = await rankscopeRun(['--server', url, '--job', 'offline', '--queue-dir', queueDir, '--flush-timeout-ms', '300', '--', 'sh', '-c', 'echo first-run-line; exit 0'], {});
    assert.equal(offline.code, 0);
    assert.equal(offline.stdout, 'first-run-line\n');
    assert.match(offline.stderr, /kept in .* and will be sent by the next/);
    server = await startTestServer(dir, url.replace('http://', ''));
    const online = await rankscopeRun(['--server', url, '--job', 'offline', '--queue-dir', queueDir, '--', 'sh', '-c', 'echo second-run-line'], {});
    assert.equal(online.code, 0);
    const lines = (await server.query('{job="offline"}')).map((entry) => entry.line);
    assert.equal(lines.filter((line) => line === 'first-run-line').length, 1);
    assert.equal(lines.filter((line) => line === 'second-run-line').length, 1);
    assert.equal(lines.filter((line) => /exited with code 0/.test(line)).length, 2);
  } finally {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2 with a reason', async () => {
  const noCommand = await rankscopeRun(['--server', 'http://127.0.0.1:1'], {});
  assert.equal(noCommand.code, 2);
  assert.match(noCommand.stderr, /no command given/);
  const badLabel = await rankscopeRun(['--label', '9x=1', '--', 'true'], {});
  assert.equal(badLabel.code, 2);
  assert.match(badLabel.stderr, /--label "9x=1"/);
  const missing = await rankscopeRun(['--server', 'http://127.0.0.1:1', '--flush-timeout-ms', '0', '--queue-dir', join(tmpdir(), `rankscope-run-missing-${process.pid}`), '--', '/nonexistent/command'], {});
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /cannot start "\/nonexistent\/command"/);
  rmSync(join(tmpdir(), `rankscope-run-missing-${process.pid}`), { recursive: true, force: true });
});
