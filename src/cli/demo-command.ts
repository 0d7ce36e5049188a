// `rankscope demo [--listen HOST:PORT] [--data-dir DIR] [--duration SECONDS]`: the README's first
// command. Starts a server, agents and a simulated multi-node training run, prints the UI URL and a
// few queries, and runs until Ctrl-C (or --duration), then exits 0.

import { parseArgs } from 'node:util';
import { EXAMPLE_PROMQL_QUERIES, EXAMPLE_QUERIES, startDemo } from '../demo/demo.ts';

const USAGE = `usage: rankscope demo [--listen HOST:PORT] [--data-dir DIR] [--duration SECONDS]

  --listen HOST:PORT   server address (default 127.0.0.1:3100; port 0 picks a free one)
  --data-dir DIR       keep the demo's data here (default: a temporary dir removed on exit)
  --duration SECONDS   stop by itself after this long (default: run until Ctrl-C)
  --nodes N            simulated nodes (default 2)
  --ranks-per-node N   ranks per node (default 4)
  --steps N            steps per simulated run (default 200)
  --step-ms N          wall-clock time per step (default 300)
  --seed N             seed of the simulation (default 1)`;

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} ${JSON.stringify(text)} is not a positive integer`);
  return value;
}

export async function run(argv: string[]): Promise<number> {
  let values;
  let options;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string' },
        'data-dir': { type: 'string' },
        duration: { type: 'string' },
        nodes: { type: 'string' },
        'ranks-per-node': { type: 'string' },
        steps: { type: 'string' },
        'step-ms': { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    options = {
      listen: values.listen ?? '127.0.0.1:3100',
      ...(values['data-dir'] !== undefined ? { dataDir: values['data-dir'] } : {}),
      nodes: positiveInt('nodes', values.nodes, 2),
      ranksPerNode: positiveInt('ranks-per-node', values['ranks-per-node'], 4),
      steps: positiveInt('steps', values.steps, 200),
      stepMs: positiveInt('step-ms', values['step-ms'], 300),
      seed: positiveInt('seed', values.seed, 1),
      restartDelayMs: 3000,
      log: (message: string) => console.error(`rankscope demo: ${message}`),
    };
    if (values.duration !== undefined && !(Number(values.duration) > 0)) throw new Error(`--duration ${JSON.stringify(values.duration)} is not a positive number of seconds`);
  } catch (error) {
    console.error(`rankscope demo: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }

  let demo;
  try {
    demo = await startDemo(options);
  } catch (error) {
    console.error(`rankscope demo: cannot start: ${(error as Error).message}`);
    return 1;
  }
  const lines = [
    '',
    `rankscope demo is running: ${options.nodes} nodes × ${options.ranksPerNode} ranks of a simulated training run.`,
    '',
    `  UI:        ${demo.url}/`,
    `  Loki API:  ${demo.url}/loki/api/v1/  (Grafana and logcli work against it)`,
    `  alerts:    ${demo.url}/prometheus/api/v1/alerts  (training rule pack: tracebacks, OOM, NCCL, silent ranks; PromQL: an idle GPU)`,
    `  metrics:   ${demo.url}/api/v1/query  (PromQL; a Grafana Prometheus data source works against ${demo.url})`,
    `  dashboards: ${demo.url}/?view=dashboards&uid=rankscope-training-run  (Training run per rank; also Cluster, and Inference over a simulated vLLM)`,
    `  data:      ${demo.dataDir}${options.dataDir === undefined ? ' (removed on exit)' : ''}`,
    '',
    'Try these queries in the UI, or with `rankscope query`:',
    ...EXAMPLE_QUERIES.map(([what, query]) => `  # ${what}\n  ${query}`),
    '',
    "And PromQL over the ranks' GPU and training metrics (remote_written by each rank), e.g.:",
    ...EXAMPLE_PROMQL_QUERIES.map(([what, query]) => `  # ${what}\n  curl -G ${demo.url}/api/v1/query --data-urlencode 'query=${query}'`),
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
  console.log(lines.join('\n'));

  await new Promise<void>((resolve) => {
    const finish = (): void => {
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      clearTimeout(timer);
      resolve();
    };
    const timer = values.duration !== undefined ? setTimeout(finish, Number(values.duration) * 1000) : undefined;
    process.on('SIGINT', finish);
    process.on('SIGTERM', finish);
  });
  console.error('rankscope demo: stopping…');
  await demo.stop();
  return 0;
}
