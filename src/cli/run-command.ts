// `rankscope run [--server URL] [--job NAME] [--label k=v]… -- <command…>`: wraps a launch, passes its
// output through, ships it labelled from the launcher's environment, and exits like the command did
// (same code, or re-raises the same signal).

import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { LABEL_NAME_PATTERN } from '../push/labels.ts';
import { ClientCredentialsError, tlsConnectOptions, type ClientAuth, type TlsConnectOptions } from '../agent/client-credentials.ts';
import { runCommand } from '../agent/command-runner.ts';
import { processingSchema } from '../agent/config.ts';
import { RUN_ID_ENV_VARIABLE, runIdFromEnv, runLabelsFromEnv } from '../agent/run-labels.ts';
import { startRunGpuMetrics } from '../agent/host-metrics/run-gpu-metrics.ts';
import type { HostMetricsHandle } from '../agent/host-metrics/host-metrics.ts';
import { parseDurationMs } from '../duration/duration.ts';
import { checkTimeZone } from '../agent/timestamp.ts';

const USAGE = `usage: rankscope run [options] -- <command> [args…]

  --server URL          Loki-compatible server (default $RANKSCOPE_URL, $RANKSCOPE_SERVER or
                        http://127.0.0.1:3100)
  --job NAME            job label (default: the command's name)
  --label k=v           extra label, repeatable
  --run-id ID           run_id label (default $TORCHELASTIC_RUN_ID, $SLURM_JOB_ID, or a fresh id)
  --tenant ID           X-Scope-OrgID header (default $RANKSCOPE_TENANT)
  --username NAME       basic auth user, the tenant (default $RANKSCOPE_USERNAME); the password is
                        $RANKSCOPE_PASSWORD, else $RANKSCOPE_TOKEN
  --bearer-token-file F file holding a token sent as Authorization: Bearer (default: $RANKSCOPE_TOKEN
                        is sent so when no --username is given)
  --ca-cert FILE        CA that signed the server's certificate (default $RANKSCOPE_CA_FILE)
  --cert FILE, --key FILE  client certificate and key for mutual TLS
  --insecure-skip-verify   do not check the server's certificate (explicit only)
  --queue-dir DIR       disk queue (default $RANKSCOPE_QUEUE_DIR or ~/.cache/rankscope/queue); lines
                        the server did not take are kept here and sent by the next run or agent
                        that uses the same dir and server
  --flush-timeout-ms N  how long to keep delivering after the command exits (default 10000)
  --timezone ZONE       IANA zone of timestamps printed without an offset (default UTC)
  --keep-rank-prefix    keep [rank3]: / [default0]: prefixes in the line (they always become labels)
  --gpu-metrics         also ship GPU metrics (DCGM names, by remote write) of the GPUs this run's
                        processes use, labelled with their run_id and rank; needs nvidia-smi
  --metrics-interval D  how often GPU metrics are read with --gpu-metrics (default 15s)`;

function defaultQueueDir(): string {
  if (process.env.RANKSCOPE_QUEUE_DIR) return process.env.RANKSCOPE_QUEUE_DIR;
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'rankscope', 'queue');
}

export async function run(argv: string[]): Promise<number> {
  const separator = argv.indexOf('--');
  const ownArgs = separator === -1 ? argv : argv.slice(0, separator);
  const command = separator === -1 ? [] : argv.slice(separator + 1);
  let values;
  try {
    ({ values } = parseArgs({
      args: ownArgs,
      options: {
        server: { type: 'string' },
        job: { type: 'string' },
        label: { type: 'string', multiple: true },
        'run-id': { type: 'string' },
        tenant: { type: 'string' },
        username: { type: 'string' },
        'bearer-token-file': { type: 'string' },
        'ca-cert': { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'insecure-skip-verify': { type: 'boolean' },
        'queue-dir': { type: 'string' },
        'flush-timeout-ms': { type: 'string' },
        timezone: { type: 'string' },
        'keep-rank-prefix': { type: 'boolean' },
        'gpu-metrics': { type: 'boolean' },
        'metrics-interval': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`rankscope run: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (command.length === 0) {
    console.error(`rankscope run: no command given (put it after --)\n${USAGE}`);
    return 2;
  }
  const serverUrl = values.server ?? (process.env.RANKSCOPE_URL || undefined) ?? process.env.RANKSCOPE_SERVER ?? 'http://127.0.0.1:3100';
  try {
    const url = new URL(serverUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    console.error(`rankscope run: --server ${JSON.stringify(serverUrl)} is not an http(s) URL`);
    return 2;
  }
  const tenant = values.tenant ?? (process.env.RANKSCOPE_TENANT || undefined);
  const auth = clientAuthFromEnv(values, process.env);
  let tls: TlsConnectOptions | undefined;
  try {
    tls = serverUrl.startsWith('https:')
      ? tlsConnectOptions({
          ...((values['ca-cert'] ?? process.env.RANKSCOPE_CA_FILE) ? { caFile: values['ca-cert'] ?? process.env.RANKSCOPE_CA_FILE } : {}),
          ...(values.cert !== undefined ? { certFile: values.cert } : {}),
          ...(values.key !== undefined ? { keyFile: values.key } : {}),
          insecureSkipVerify: values['insecure-skip-verify'] === true,
        })
      : undefined;
  } catch (error) {
    if (!(error instanceof ClientCredentialsError)) throw error;
    console.error(`rankscope run: ${error.message}`);
    return 2;
  }
  const flushTimeoutMs = Number(values['flush-timeout-ms'] ?? '10000');
  if (!Number.isFinite(flushTimeoutMs) || flushTimeoutMs < 0) {
    console.error(`rankscope run: --flush-timeout-ms ${JSON.stringify(values['flush-timeout-ms'])} is not a non-negative number`);
    return 2;
  }
  const timeZone = values.timezone ?? 'UTC';
  try {
    checkTimeZone(timeZone);
  } catch (error) {
    console.error(`rankscope run: --timezone: ${(error as Error).message}`);
    return 2;
  }

  const labels = runLabelsFromEnv(process.env, values['run-id'] ?? runIdFromEnv(process.env));
  labels.job = values.job ?? basename(command[0]!);
  for (const pair of values.label ?? []) {
    const equals = pair.indexOf('=');
    const name = equals > 0 ? pair.slice(0, equals) : '';
    if (!LABEL_NAME_PATTERN.test(name)) {
      console.error(`rankscope run: --label ${JSON.stringify(pair)}: expected name=value with a name matching [a-zA-Z_][a-zA-Z0-9_]*`);
      return 2;
    }
    labels[name] = pair.slice(equals + 1);
  }

  const log = (message: string): void => {
    process.stderr.write(`rankscope run: ${message}\n`);
  };
  let gpuMetrics: HostMetricsHandle | undefined;
  if (values['gpu-metrics'] === true) {
    let intervalMs: number;
    try {
      intervalMs = parseDurationMs(values['metrics-interval'] ?? '15s');
    } catch (error) {
      console.error(`rankscope run: --metrics-interval: ${(error as Error).message}`);
      return 2;
    }
    gpuMetrics = startRunGpuMetrics({ serverUrl, ...(tenant !== undefined ? { tenant } : {}), ...(auth !== undefined ? { auth } : {}), ...(tls !== undefined ? { tls } : {}), intervalMs, labels, log });
  }
  const queueDir = values['queue-dir'] ?? defaultQueueDir();
  let result;
  try {
    result = await runCommand({
      command: command[0]!,
      args: command.slice(1),
      labels,
      shipper: {
        serverUrl,
        ...(tenant !== undefined ? { tenant } : {}),
        ...(auth !== undefined ? { auth } : {}),
        ...(tls !== undefined ? { tls } : {}),
        batchMaxBytes: 1024 * 1024,
        batchMaxWaitMs: 500,
        minBackoffMs: 250,
        maxBackoffMs: 5000,
        queueDir,
        queueMaxBytes: 1024 * 1024 * 1024,
      },
      processing: processingSchema.parse({
        timestamp: { timezone: timeZone },
        rank_prefix: values['keep-rank-prefix'] ? 'keep' : 'strip',
      }),
      flushTimeoutMs,
      log,
      env: { ...process.env, [RUN_ID_ENV_VARIABLE]: labels.run_id },
    });
  } catch (error) {
    log((error as Error).message);
    await gpuMetrics?.stop(0);
    return 127;
  }
  await gpuMetrics?.stop(flushTimeoutMs);
  if (!result.delivered) {
    log(`${result.queuedEntries} entries could not be delivered to ${serverUrl} yet; they are kept in ${queueDir} and will be sent by the next \`rankscope run\` or \`rankscope agent\` using that queue dir and server`);
  }
  if (result.signal !== null) {
    // Die the way the command died, so a parent (a shell, Slurm, torchrun) sees the same signal.
    process.removeAllListeners(result.signal);
    process.kill(process.pid, result.signal);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return 128 + 1;
  }
  return result.exitCode ?? 1;
}

/** --username (or $RANKSCOPE_USERNAME) means basic auth; otherwise a token is sent as a bearer token. */
function clientAuthFromEnv(values: { username?: string; 'bearer-token-file'?: string }, env: NodeJS.ProcessEnv): ClientAuth | undefined {
  const username = values.username ?? (env.RANKSCOPE_USERNAME || undefined);
  const password = env.RANKSCOPE_PASSWORD || env.RANKSCOPE_TOKEN || undefined;
  if (username !== undefined) return { basicAuth: { username, ...(password !== undefined ? { password } : {}) } };
  if (values['bearer-token-file'] !== undefined) return { bearerTokenFile: values['bearer-token-file'] };
  if (env.RANKSCOPE_TOKEN) return { bearerToken: env.RANKSCOPE_TOKEN };
  return undefined;
}
