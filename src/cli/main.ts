// Command dispatch. Each subcommand lives in its own module and is loaded only when used, so
// `rankscope query` does not pay for the server's start-up.

interface Command {
  summary: string;
  load(): Promise<{ run(argv: string[]): Promise<number> }>;
}

const commands: Record<string, Command> = {
  server: { summary: 'run the store, Loki API, ruler and UI', load: () => import('./server-command.ts') },
  agent: { summary: 'tail files and pod logs and ship them', load: () => import('./agent-command.ts') },
  run: { summary: 'wrap a launch and ship its output: rankscope run -- <cmd…>', load: () => import('./run-command.ts') },
  query: { summary: 'run a LogQL query against a server', load: () => import('./query-command.ts') },
  demo: { summary: 'server, agents and UI over a simulated multi-node training run', load: () => import('./demo-command.ts') },
  auth: { summary: 'make tokens for the tokens file: rankscope auth add-token|hash-token', load: () => import('./auth-command.ts') },
  rules: { summary: 'check rule files: rankscope rules check FILE…', load: () => import('./rules-command.ts') },
};

function usage(): string {
  const lines = ['usage: rankscope <command> [options]', '', 'commands:'];
  for (const [name, command] of Object.entries(commands)) lines.push(`  ${name.padEnd(8)} ${command.summary}`);
  lines.push('', 'Run `rankscope <command> --help` for the options of one command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(`rankscope: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  const module = await command.load();
  const code = await module.run(rest);
  if (code !== 0) process.exitCode = code;
}
