// `rankscope agent --config agent.yaml`: one per node, tails files and pod logs and ships them.
// Exits 2 on a bad config (with file:line: key: reason), 0 after SIGINT/SIGTERM once flushed.

import { parseArgs } from 'node:util';
import { ConfigError, loadAgentConfig } from '../agent/config.ts';
import { startAgent } from '../agent/agent.ts';

const USAGE = `usage: rankscope agent --config agent.yaml [--check]

  -c, --config FILE   agent configuration (see docs/agent.md and examples/agent.yaml)
      --check         validate the config and exit`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
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
  let config;
  try {
    config = loadAgentConfig(values.config);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`rankscope agent: invalid config\n${error.message}`);
      return 2;
    }
    throw error;
  }
  if (values.check) {
    console.log(`${values.config}: ok (${config.sources.length} sources)`);
    return 0;
  }
  let agent;
  try {
    agent = await startAgent(config);
  } catch (error) {
    console.error(`rankscope agent: cannot start: ${(error as Error).message}`);
    return 1;
  }
  console.error(
    `rankscope agent: shipping ${config.sources.map((source) => source.name).join(', ')} to ${config.server.url}` +
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
