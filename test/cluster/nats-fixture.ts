// Real Debian nats-server processes with JetStream on 127.0.0.1: one node, or a cluster of three
// (what R3 streams need). Each node gets its own store directory and ports; `ready` polls the
// monitoring endpoint until JetStream answers on every node.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, pollUntil } from '../support/peers.ts';

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

export async function startNats(directory: string, nodeCount: 1 | 3, maxPayloadBytes = 1024 * 1024): Promise<NatsCluster> {
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
        await waitHealthy(monitorPort, () => log);
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
      await waitHealthy(ports[i]!.monitor, () => nodes[i]!.log());
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

async function waitHealthy(monitorPort: number, log: () => string): Promise<void> {
  await pollUntil(
    `nats-server on monitor port ${monitorPort} with JetStream`,
    async () => {
      const response = await fetch(`http://127.0.0.1:${monitorPort}/healthz`);
      return response.ok ? true : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100, context: log },
  );
}
