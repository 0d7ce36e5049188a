// The launcher's server tuning: `rankscope server` re-executes itself (same pid) with V8 flags and
// glibc malloc settings measured for its memory (bin/rankscope.js), and settings the user gives win.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const READY = /^rankscope ready on (http:\/\/\S+) \(data: .*\)$/m;
const READY_TIMEOUT_MS = 30_000;

interface Launched {
  environ: Map<string, string>;
  argv: string[];
}

/** Starts `rankscope server` with extra environment, reads the ready process's environment and command line, stops it. */
async function launch(extraEnv: Record<string, string>): Promise<Launched> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-launcher-'));
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  for (const name of ['RANKSCOPE_SERVER_TUNED', 'MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'NODE_OPTIONS']) if (!(name in extraEnv)) delete env[name];
  const child = spawn(join(root, 'node_modules/.bin/node'), [join(root, 'bin/rankscope.js'), 'server', '--listen', '127.0.0.1:0', '--data-dir', dataDir], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server not ready within ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (READY.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`server exited before it was ready:\n${output}`));
      });
    });
    const environ = new Map(
      readFileSync(`/proc/${child.pid}/environ`, 'utf8')
        .split('\0')
        .filter((entry) => entry.includes('='))
        .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)] as [string, string]),
    );
    const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    return { environ, argv };
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const cases: Array<[name: string, extraEnv: Record<string, string>, arenas: string | undefined, mmapThreshold: string | undefined, semiSpaceFlag: boolean]> = [
  ['the defaults: one malloc arena, a 4 MiB mmap threshold, a 2 MB young generation', {}, '1', '4194304', true],
  ['malloc settings the user gives win', { MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: '131072' }, '4', '131072', true],
  ['a young-generation size in NODE_OPTIONS is not overridden', { NODE_OPTIONS: '--max-semi-space-size=8' }, '1', '4194304', false],
  ['RANKSCOPE_SERVER_TUNED=0 skips the re-execution', { RANKSCOPE_SERVER_TUNED: '0' }, undefined, undefined, false],
];

for (const [name, extraEnv, arenas, mmapThreshold, semiSpaceFlag] of cases) {
  test(`rankscope server launcher: ${name}`, { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
    const { environ, argv } = await launch(extraEnv);
    assert.equal(environ.get('MALLOC_ARENA_MAX'), arenas);
    assert.equal(environ.get('MALLOC_MMAP_THRESHOLD_'), mmapThreshold);
    assert.equal(argv.includes('--max-semi-space-size=2'), semiSpaceFlag, argv.join(' '));
    assert.equal(argv.includes('--initial-old-space-size=64'), semiSpaceFlag, argv.join(' '));
  });
}
