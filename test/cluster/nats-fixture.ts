// Real Debian nats-server processes with JetStream on 127.0.0.1: one node, or a cluster of three
// (what R3 streams need). Each node gets its own store directory and ports; `ready` polls the
// monitoring endpoint until JetStream answers on every node.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/peers.ts';
import { until } from '../support/until.ts';

export const NATS_SERVER = '/usr/sbin/nats-server';

export interface NatsNode {
  name: string;
  url: string;
  child: ChildProcess;
  log(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Starts the node again (same config, ports and store directory) after a kill. */
  restart(): Promise<void>;
}

export interface NatsCluster {
  nodes: NatsNode[];
  urls: string[];
  stop(): Promise<void>;
}

/** Attempts at starting a cluster: ports come from `freePort`, which frees them before nats-server
 * binds, so a concurrent test can take one in between; nats-server then exits at once and the cluster is
 * started again on fresh ports. */
const START_ATTEMPTS = 3;

export async function startNats(directory: string, nodeCount: 1 | 3, maxPayloadBytes = 1024 * 1024): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsOnce(directory, nodeCount, maxPayloadBytes);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === START_ATTEMPTS) throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startNatsOnce(directory: string, nodeCount: 1 | 3, maxPayloadBytes: number): Promise<NatsCluster> {
  const ports = await Promise.all(Array.from({ length: nodeCount }, async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })));
  const nodes: NatsNode[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const name = `n${i + 1}`;
    const storeDir = join(directory, name);
    mkdirSync(storeDir, { recursive: true });
    const lines = [
      `server_name: ${name}`,
      `listen: 127.0.0.1:${ports[i]!.client}`,
      `http: 127.0.0.1:${ports[i]!.monitor}`,
      `max_payload: ${maxPayloadBytes}`,
      `jetstream { store_dir: "${storeDir}" }`,
    ];
    if (nodeCount > 1) {
      const routes = ports.filter((_, j) => j !== i).map((port) => `"nats://127.0.0.1:${port.route}"`);
      lines.push(`cluster { name: rankscope-test, listen: 127.0.0.1:${ports[i]!.route}, routes: [${routes.join(', ')}] }`);
    }
    const configFile = join(directory, `${name}.conf`);
    writeFileSync(configFile, lines.join('\n') + '\n');
    let log = '';
    const append = (chunk: Buffer): void => {
      log = (log + chunk.toString()).slice(-20_000);
    };
    const launch = (): { child: ChildProcess; exited: Promise<void> } => {
      const child = spawn(NATS_SERVER, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', append);
      child.stderr!.on('data', append);
      return { child, exited: new Promise<void>((resolve) => child.once('exit', () => resolve())) };
    };
    let running = launch();
    const monitorPort = ports[i]!.monitor;
    const node: NatsNode = {
      name,
      url: `nats://127.0.0.1:${ports[i]!.client}`,
      child: running.child,
      log: () => log,
      kill: async (signal) => {
        const { child, exited } = running;
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
      restart: async () => {
        running = launch();
        node.child = running.child;
        await waitHealthy(monitorPort, () => log, () => running.child);
      },
    };
    nodes.push(node);
  }
  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((node) => node.url),
    stop: async () => {
      await Promise.all(nodes.map((node) => node.kill('SIGTERM')));
    },
  };
  try {
    for (let i = 0; i < nodeCount; i++) {
      await waitHealthy(ports[i]!.monitor, () => nodes[i]!.log(), () => nodes[i]!.child);
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

async function waitHealthy(monitorPort: number, log: () => string, child: () => ChildProcess): Promise<void> {
  // `until`, not `pollUntil`: an exited process must end the wait, not count as not yet.
  await until(
    `nats-server on monitor port ${monitorPort} with JetStream`,
    async () => {
      const process = child();
      if (process.exitCode !== null || process.signalCode !== null) {
        const message = `nats-server exited (${process.exitCode ?? process.signalCode}) before it was healthy:\n${log()}`;
        throw /address already in use/.test(log()) ? new PortTakenError(message) : new Error(message);
      }
      const response = await fetch(`http://127.0.0.1:${monitorPort}/healthz`).catch(() => undefined);
      return response?.ok ? true : undefined;
    },
    30_000,
    100,
    log,
  );
}
