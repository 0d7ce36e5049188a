// `rankscope agent --config agent.yaml`: one per node, tails files and pod logs and ships them.
// Exits 2 on a bad config (with file:line: key: reason), 0 after SIGINT/SIGTERM once flushed.
//
// The agent is meant to sit on every training node using little memory (< 100 MB RSS at 10k
// lines/s), so its long-running process loads only what shipping needs: the config is parsed and
// validated (yaml + the zod schema, ~15 MB of RSS that would stay resident) by a short-lived child,
// `rankscope agent --config FILE --print-config`, which hands over the validated config as JSON.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import type { AgentConfig } from '../agent/config.ts';
import { startAgent } from '../agent/agent.ts';

const USAGE = `usage: rankscope agent --config agent.yaml [--check | --print-config]

  -c, --config FILE   agent configuration (see docs/agent.md and examples/agent.yaml)
      --check         validate the config and exit
      --print-config  print the validated config, defaults filled in, as JSON and exit`;

// This file and the prebuilt bundle (dist/agent/) both sit two folders below the package root.
const binPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'rankscope.js');
// Validation is quick; the bound only keeps a wedged child from hanging the start.
const CONFIG_CHILD_TIMEOUT_MS = 60_000;
// Whether this is the prebuilt bundle (scripts/build-agent.mjs) rather than the .ts sources.
const prebuilt = !import.meta.url.endsWith('.ts');

/** Validates in this process (for --check and --print-config): exit code, or the config. */
async function loadInProcess(path: string): Promise<AgentConfig | number> {
  const { ConfigError, loadAgentConfig } = await import('../agent/config.ts');
  try {
    return loadAgentConfig(path);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`rankscope agent: invalid config\n${error.message}`);
      return 2;
    }
    throw error;
  }
}

/** Validates in a child process, so the schema libraries never load here: exit code, or the config. */
function loadInChild(path: string): AgentConfig | number {
  const result = spawnSync(process.execPath, [binPath, 'agent', '--config', path, '--print-config'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: CONFIG_CHILD_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error !== undefined) {
    console.error(`rankscope agent: cannot validate the config: ${result.error.message}`);
    return 1;
  }
  if (result.status !== 0) {
    process.stderr.write(result.stderr);
    return result.status ?? 1;
  }
  try {
    return JSON.parse(result.stdout) as AgentConfig;
  } catch (error) {
    console.error(`rankscope agent: the config check printed no valid JSON (${(error as Error).message}): ${result.stdout.slice(0, 200)}`);
    return 1;
  }
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, check: { type: 'boolean' }, 'print-config': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (error) {
    console.error(`rankscope agent: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.config === undefined) {
    console.error(`rankscope agent: --config is required\n${USAGE}`);
    return 2;
  }
  if (values.check || values['print-config']) {
    const config = await loadInProcess(values.config);
    if (typeof config === 'number') return config;
    if (values['print-config']) process.stdout.write(`${JSON.stringify(config)}\n`);
    else console.log(`${values.config}: ok (${config.sources.length} sources)`);
    return 0;
  }
  const config = loadInChild(values.config);
  if (typeof config === 'number') return config;
  // A collector keeps little live data but allocates steadily; V8 would grow the young generation
  // to tens of MB under load. Keeping it at the size it has now costs a few more, cheaper
  // scavenges. Only this flag takes effect after start-up (--max-semi-space-size is read once when
  // the heap is created), and only the agent sets it.
  setFlagsFromString('--semi-space-growth-factor=1');
  let agent;
  try {
    agent = await startAgent(config);
  } catch (error) {
    console.error(`rankscope agent: cannot start: ${(error as Error).message}`);
    return 1;
  }
  console.error(
    `rankscope agent${prebuilt ? ' (prebuilt)' : ''}: shipping ${config.sources.map((source) => source.name).join(', ')} to ${config.server.url}` +
      (agent.metricsUrl !== undefined ? `; metrics at ${agent.metricsUrl}` : ''),
  );
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await agent.stop(5000);
  return 0;
}
