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
} else {
  const argv = process.argv.slice(2);
  // `rankscope agent` runs from its prebuilt plain-JS bundle while that matches the sources, so the
  // long-running collector carries no type-stripping machinery (about 18 MB of RSS).
  const prebuilt =
    argv[0] === 'agent' ? await (await import('../src/agent/prebuilt.mjs')).loadPrebuiltAgentCommand(root) : undefined;
  if (prebuilt !== undefined) {
    const code = await prebuilt.run(argv.slice(1));
    if (code !== 0) process.exitCode = code;
  } else {
    const { main } = await import('../src/cli/main.ts');
    await main(argv);
  }
}
