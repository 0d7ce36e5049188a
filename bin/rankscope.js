#!/usr/bin/env node
// Entry shim. rankscope runs TypeScript directly through Node 24's type stripping. When the node on
// PATH is older (a system Node 20, say), re-run this command under the Node 24 that the `node`
// devDependency installed into node_modules.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pinned)) {
    console.error(`rankscope needs Node.js 24 or newer (this is ${process.version}); run \`npm ci\` first.`);
    process.exit(1);
  }
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  // Forward signals so `rankscope run` and `rankscope server` see Ctrl-C and SIGTERM, and mirror how the
  // child ended (exit code, or death by signal) so callers can tell.
  const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  for (const signal of forwarded) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      for (const name of forwarded) process.removeAllListeners(name);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
} else if (process.argv[2] === 'server' && process.env.RANKSCOPE_SERVER_TUNED === undefined && typeof process.execve === 'function' && process.platform !== 'win32') {
  // The server re-executes itself (same pid, so supervisors and signals see one process) with
  // settings measured on bench/ingest-flush-bench.ts (244 MB log, 4 pushes in flight), where they
  // took peak RSS from ~640 MB to ~430 MB:
  // - a 2 MB young generation (V8's default grows to 16 MB per semi-space; decoded pushes make
  //   short-lived garbage that a large young generation holds on to);
  // - glibc's mmap threshold fixed at 4 MiB, above a 2 MB block's decompressed lines: otherwise it
  //   rises after the first large buffer is freed and the heap fragments. At 128 KiB every block a
  //   scan decompresses was mmap'd, page-faulted and munmap'd: a literal count used 196 ms of CPU
  //   a query against 151 ms at 4 MiB (bench/parser-profile.ts, 67 MB log, 15 runs each,
  //   interleaved; server CPU a query 0.78–0.91× on three scans, bench/malloc-threshold-ab.ts), while
  //   ingest peak RSS stayed 330 MB against 331 MB at 128 KiB (bench/ingest-flush-bench.ts
  //   --size-mb 244 --rounds 2, same run).
  // - an initial old generation of 64 MB: with pushes decoded into columns little survives a young
  //   collection, so V8 sized the old generation to the ~20 MB live set and ran a full collection
  //   every ~1 MB promoted. Server CPU 0.90× and 0.94× (two runs), peak RSS +3 and +5 MB
  //   (node bench/server-rss-ab.ts --variant main --variant 'old64|repo=<this flag>' --rounds 3).
  // - one glibc malloc arena (MALLOC_ARENA_MAX=1) for every thread: V8's compiler and GC threads
  //   otherwise each get an arena of their own, whose freed pages (a compile's zone, a few MB at a
  //   time) stay resident and cannot serve the main thread's buffers. malloc_stats() at the 244 MB
  //   bench's peak: ~9 MB in the other arenas, ~2 MB of it in use. bench/server-rss-ab.ts, 6
  //   alternating rounds: idle RSS 113 -> 107 MB, peak RSS (training off) 159 -> 149 and 156 -> 155
  //   (two runs), with training 189 -> 180 and 183 -> 178 MB; server CPU 0.97-1.00x. LogQL queries
  //   on 67 MB (bench/query-ab.ts, 8 rounds, scan workers on): server CPU 0.93-1.04x a query.
  // Flags given by the user (node options, environment) come later and win. Set
  // RANKSCOPE_SERVER_TUNED=0 to skip this.
  // NODE_OPTIONS is read before the command line, so a young-generation size there must not be overridden.
  const tuningFlags = /semi-space/.test(process.env.NODE_OPTIONS ?? '') ? [] : ['--max-semi-space-size=2', '--initial-old-space-size=64'];
  const env = { MALLOC_MMAP_THRESHOLD_: '4194304', MALLOC_ARENA_MAX: '1', ...process.env, RANKSCOPE_SERVER_TUNED: '1' };
  process.execve(process.execPath, [process.execPath, ...tuningFlags, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], env);
} else {
  const argv = process.argv.slice(2);
  // `rankscope agent` and `rankscope server` run from their prebuilt plain-JS bundles while those
  // match the sources, so the long-running processes (and the server's worker threads) carry no
  // type-stripping machinery (about 18 MB of RSS in the agent). RANKSCOPE_PREBUILT=0 runs the sources.
  const prebuilt =
    process.env.RANKSCOPE_PREBUILT !== '0' && (argv[0] === 'agent' || argv[0] === 'server')
      ? await (await import('../src/cli/prebuilt.mjs')).loadPrebuiltCommand(root, argv[0])
      : undefined;
  if (prebuilt !== undefined) {
    const code = await prebuilt.run(argv.slice(1));
    if (code !== 0) process.exitCode = code;
  } else {
    const { main } = await import('../src/cli/main.ts');
    await main(argv);
  }
}
