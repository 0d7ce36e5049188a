// The prebuilt command bundles (src/cli/prebuilt.mjs, scripts/command-bundle.mjs): bin/rankscope.js
// runs `agent` and `server` from dist/<name>/ while every source listed in its inputs.json is
// unchanged and from the .ts sources otherwise; and the real server bundle serves pushes and queries
// with its worker threads (block encoder, LogQL scan) started from the bundle, no .ts loaded at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NODE, runNode } from './server-process.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Build steps and bundled commands may take a while on a loaded machine. */
function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode(args, env, 120_000);
}

/** A package root with the real bin and loader, stub bundles and stub sources that say which ran. */
function stubPackage(dir: string, commands: readonly string[]): { source(name: string): string } {
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
  copyFileSync(join(root, 'bin', 'rankscope.js'), join(dir, 'bin', 'rankscope.js'));
  copyFileSync(join(root, 'src', 'cli', 'prebuilt.mjs'), join(dir, 'src', 'cli', 'prebuilt.mjs'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'src', 'cli', 'main.ts'), 'export async function main(argv: string[]): Promise<void> {\n  console.log(`sources ${argv.join(" ")}`);\n}\n');
  const source = (name: string): string => join(dir, 'src', 'cli', `${name}-command.ts`);
  for (const name of commands) {
    writeFileSync(source(name), `export const name = '${name}';\n`);
    const stat = statSync(source(name));
    mkdirSync(join(dir, 'dist', name), { recursive: true });
    writeFileSync(
      join(dir, 'dist', name, `${name}-command.js`),
      `export async function run(argv) {\n  console.log('prebuilt ${name} ' + argv.join(' '));\n  return 0;\n}\n`,
    );
    const files = [{ path: `src/cli/${name}-command.ts`, sizeBytes: stat.size, mtimeMs: stat.mtimeMs }];
    writeFileSync(join(dir, 'dist', name, 'inputs.json'), JSON.stringify({ files }));
  }
  return { source };
}

test('bin/rankscope.js runs a command from its bundle only while the bundle matches its sources', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-prebuilt-'));
  try {
    const commands = ['agent', 'server'] as const;
    const pkg = stubPackage(dir, commands);
    const bin = join(dir, 'bin', 'rankscope.js');
    for (const name of commands) {
      assert.equal((await run([bin, name, '--x'])).stdout, `prebuilt ${name} --x\n`, `${name}: bundle in use`);
      assert.equal((await run([bin, name, '--x'], { RANKSCOPE_PREBUILT: '0' })).stdout, `sources ${name} --x\n`, `${name}: RANKSCOPE_PREBUILT=0`);
    }
    // Commands without a bundle always run from the sources.
    assert.equal((await run([bin, 'query', '--x'])).stdout, 'sources query --x\n');
    // An edited source (same size, new mtime) retires the server's bundle, not the agent's.
    writeFileSync(pkg.source('server'), readFileSync(pkg.source('server'), 'utf8').replace('server', 'SERVER'));
    assert.equal((await run([bin, 'server', '--x'])).stdout, 'sources server --x\n');
    assert.equal((await run([bin, 'agent', '--x'])).stdout, 'prebuilt agent --x\n');
    // So does a source that is gone, or a manifest that is.
    rmSync(pkg.source('agent'));
    assert.equal((await run([bin, 'agent', '--x'])).stdout, 'sources agent --x\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Preloaded into the server and every worker thread: logs each module URL it loads, by thread. */
const LOAD_LOGGER = `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
registerHooks({
  load(url, context, nextLoad) {
    appendFileSync(process.env.RANKSCOPE_TEST_LOAD_LOG, threadId + ' ' + url + '\\n');
    return nextLoad(url, context);
  },
});
`;

async function postOk(url: string, init: RequestInit): Promise<string> {
  const response = await fetch(url, init);
  const body = await response.text();
  assert.ok(response.ok, `${init.method ?? 'GET'} ${url}: ${response.status} ${body}`);
  return body;
}

test('the server bundle serves a push and a query, with its workers started from the bundle', { timeout: 300_000 }, async () => {
  // A fresh build, so the test holds for the sources as they are (and leaves dist/ alone).
  const outRoot = mkdtempSync(join(root, '.prebuilt-test-'));
  const outDir = join(outRoot, 'server');
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-prebuilt-server-'));
  try {
    const built = await run([join(root, 'scripts', 'build-server.mjs'), '--out-dir', outDir]);
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stdout, /workers block-encoder-worker\.js, scan-worker\.js/);
    // node:http is loaded through require (scripts/command-bundle.mjs): an ESM import of it loads undici.
    for (const file of readdirSync(outDir).filter((name) => name.endsWith('.js'))) {
      assert.doesNotMatch(readFileSync(join(outDir, file), 'utf8'), /\bimport\b[^;(]*\bfrom\s*["'`]node:http["'`]/, file);
    }
    const loadLog = join(dir, 'loads.log');
    writeFileSync(join(dir, 'load-logger.mjs'), LOAD_LOGGER);
    const config = join(dir, 'server.yaml');
    // The training rules are read from the package (rules/), which the bundle must still find.
    writeFileSync(config, ['store:', '  encoder_threads: 1', 'query:', '  worker_threads: 2', 'ruler:', '  enable_training_rules: true', ''].join('\n'));
    // Not `node -e`: worker threads inherit the command line, and `--input-type` fails them.
    const launcher = join(dir, 'launch.mjs');
    writeFileSync(launcher, 'const m = await import(process.argv[2]);\nprocess.exitCode = await m.run(process.argv.slice(3));\n');
    const args = ['--import', pathToFileURL(join(dir, 'load-logger.mjs')).href, launcher];
    args.push(pathToFileURL(join(outDir, 'server-command.js')).href, '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--config', config);
    const child = spawn(NODE, args, { cwd: root, env: { ...process.env, RANKSCOPE_TEST_LOAD_LOG: loadLog }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!/ready on http/.test(output) && child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const url = /ready on (http:\/\/\S+)/.exec(output)?.[1];
      assert.ok(url !== undefined, `not ready: ${output}`);
      // 20 MB of lines (a parallel scan needs 16 MiB of persisted blocks), in 1 MB pushes.
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      const linesPerPush = 10_000;
      const pushes = 20;
      for (let push = 0; push < pushes; push++) {
        const values: [string, string][] = [];
        for (let i = 0; i < linesPerPush; i++) {
          const index = push * linesPerPush + i;
          values.push([String(nowNs - 60_000_000_000n + BigInt(index) * 1000n), `step ${index} loss ${(index % 97) / 10} ${'x'.repeat(70)}`]);
        }
        await postOk(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ streams: [{ stream: { job: 'bundle' }, values }] }) });
      }
      await postOk(`${url}/flush`, { method: 'POST' });
      const query = new URLSearchParams({ query: 'sum(count_over_time({job="bundle"} |= "loss" [10m]))', time: String(nowNs) });
      const body = JSON.parse(await postOk(`${url}/loki/api/v1/query?${query}`, { method: 'GET' })) as { data: { result: { value: [number, string] }[] } };
      assert.equal(body.data.result[0]?.value[1], String(pushes * linesPerPush));
      const range = new URLSearchParams({ query: '{job="bundle"} |= "step 0 "', start: String(nowNs - 120_000_000_000n), end: String(nowNs), limit: '10' });
      const lines = JSON.parse(await postOk(`${url}/loki/api/v1/query_range?${range}`, { method: 'GET' })) as { data: { result: { values: [string, string][] }[] } };
      assert.deepEqual(lines.data.result.flatMap((stream) => stream.values.map((value) => value[1].split(' ').slice(0, 4).join(' '))), ['step 0 loss 0']);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
    } catch (error) {
      (error as Error).message += `\nserver output:\n${output}`;
      throw error;
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const loads = readFileSync(loadLog, 'utf8').trim().split('\n').map((line) => {
      const space = line.indexOf(' ');
      return { thread: Number(line.slice(0, space)), url: line.slice(space + 1) };
    });
    const bundleUrl = pathToFileURL(outDir).href;
    for (const worker of ['block-encoder-worker.js', 'scan-worker.js']) {
      assert.ok(loads.some((load) => load.thread > 0 && load.url === `${bundleUrl}/${worker}`), `${worker} started from the bundle: ${loads.map((load) => `${load.thread} ${load.url}`).join('\n')}`);
    }
    assert.deepEqual(loads.filter((load) => load.url.endsWith('.ts')), [], 'no TypeScript source loaded');
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
