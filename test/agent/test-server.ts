// A real rankscope server on 127.0.0.1 (random port) over a fresh data dir, for agent end-to-end tests.

import { join } from 'node:path';
import { startServer } from '../../src/server/server.ts';
import { queryEntries, type QueriedEntry } from './server-query.ts';

export interface TestServer {
  url: string;
  port: number;
  /** Entries matching a LogQL selector, oldest first. */
  query(logql: string): Promise<QueriedEntry[]>;
  /** Polls until `logql` returns at least `count` entries, then returns them (throws on timeout). */
  waitForEntries(logql: string, count: number, timeoutMs?: number): Promise<QueriedEntry[]>;
  close(): Promise<void>;
}

export async function startTestServer(dataDir: string, listen = '127.0.0.1:0'): Promise<TestServer> {
  const server = await startServer({ server: { listen }, store: { data_dir: join(dataDir, 'store') }, ui: { enabled: false } });
  const query = (logql: string): Promise<QueriedEntry[]> => queryEntries(server.url, logql, 5000);
  return {
    url: server.url,
    port: server.port,
    query,
    async waitForEntries(logql: string, count: number, timeoutMs = 10_000): Promise<QueriedEntry[]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const entries = await query(logql);
        if (entries.length >= count) return entries;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${logql} has ${entries.length} entries, want ${count}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => server.close(),
  };
}
