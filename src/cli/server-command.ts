// `rankscope server`: loads the config (file, then flags over it), starts the server, prints one
// ready line with the bound address, and on SIGTERM/SIGINT stops accepting, flushes the store and
// exits 0.

import { parseArgs } from 'node:util';
import { ConfigError, loadServerConfig, type ConfigOverride } from '../server/config.ts';
import { startServer } from '../server/server.ts';

const USAGE = `usage: rankscope server [options]

  --config FILE             YAML config (see docs/config.md); flags override it
  --listen HOST:PORT        listen address (default 127.0.0.1:3100; port 0 = any free port)
  --data-dir DIR            where the WAL and parts live (default ./rankscope-data)
  --retention DUR           delete data older than this, e.g. 7d or 720h (default: keep forever)
  --rules-dir DIR           directory of alerting/recording rule files
  --alertmanager-url URL    Alertmanager to notify (repeatable)
  --auth-enabled            require X-Scope-OrgID on every request
  -h, --help                show this help`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        listen: { type: 'string' },
        'data-dir': { type: 'string' },
        retention: { type: 'string' },
        'rules-dir': { type: 'string' },
        'alertmanager-url': { type: 'string', multiple: true },
        'auth-enabled': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`rankscope server: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }

  const overrides: ConfigOverride[] = [];
  if (values.listen !== undefined) overrides.push({ path: ['server', 'listen'], value: values.listen, source: '--listen' });
  if (values['data-dir'] !== undefined) overrides.push({ path: ['store', 'data_dir'], value: values['data-dir'], source: '--data-dir' });
  if (values.retention !== undefined) overrides.push({ path: ['store', 'retention_period'], value: values.retention, source: '--retention' });
  if (values['rules-dir'] !== undefined) overrides.push({ path: ['ruler', 'rules_dir'], value: values['rules-dir'], source: '--rules-dir' });
  if (values['alertmanager-url'] !== undefined) {
    overrides.push({ path: ['ruler', 'alertmanager_url'], value: values['alertmanager-url'], source: '--alertmanager-url' });
  }
  if (values['auth-enabled'] !== undefined) overrides.push({ path: ['auth_enabled'], value: values['auth-enabled'], source: '--auth-enabled' });

  let config;
  try {
    config = loadServerConfig(values.config, overrides);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`rankscope server: invalid config\n${error.message}`);
      return 1;
    }
    throw error;
  }

  let server;
  try {
    server = await startServer(config);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      console.error(`rankscope server: cannot listen on ${config.server.listen}: ${(error as Error).message}`);
      return 1;
    }
    // The reason, not a stack: a locked data dir or an unreachable S3 bucket is the user's to fix.
    console.error(`rankscope server: failed to start: ${(error as Error).message ?? String(error)}`);
    if (process.env.RANKSCOPE_DEBUG) console.error((error as Error).stack);
    return 1;
  }
  console.log(`rankscope ready on ${server.url} (data: ${config.store.data_dir})`);

  return await new Promise<number>((resolve) => {
    let stoppingSinceMs: number | undefined;
    const stop = (signal: NodeJS.Signals) => {
      if (stoppingSinceMs !== undefined) {
        // The same signal often arrives twice at once (sent to the process group and to us); only a
        // later one means the user does not want to wait for the flush.
        if (Date.now() - stoppingSinceMs < 1000) return;
        console.error(`rankscope server: ${signal} again, exiting without waiting for the flush`);
        process.exit(1);
      }
      stoppingSinceMs = Date.now();
      console.error(`rankscope server: ${signal} received, flushing and shutting down`);
      const deadline = setTimeout(() => {
        console.error(`rankscope server: shutdown took longer than ${config.server.shutdown_timeout} ms, exiting`);
        resolve(1);
      }, config.server.shutdown_timeout);
      deadline.unref();
      server.close().then(
        () => {
          clearTimeout(deadline);
          resolve(0);
        },
        (error: unknown) => {
          clearTimeout(deadline);
          console.error(`rankscope server: error while shutting down: ${(error as Error).stack ?? String(error)}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  }).then((code) => {
    // Exit even if a stray handle (a client's keep-alive socket) would keep the loop alive.
    setTimeout(() => process.exit(code), 2000).unref();
    return code;
  });
}
