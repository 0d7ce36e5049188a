// Starts a real rankscope server (real store on a fresh tmp dir, real LogQL engine) on a random
// 127.0.0.1 port for a test file, and removes the directory afterwards.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import type { ServerConfigInput } from '../../src/server/config.ts';

export interface TestServer extends RunningServer {
  dataDir: string;
  /** Closes the server and deletes its data directory. */
  dispose(): Promise<void>;
}

export async function startTestServer(overrides: ServerConfigInput = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-server-test-'));
  const server = await startServer({
    ...overrides,
    server: { listen: '127.0.0.1:0', log_level: 'error', ...overrides.server },
    store: { data_dir: dataDir, ...overrides.store },
    ruler: { enabled: false, ...overrides.ruler },
    ui: { enabled: false, ...overrides.ui },
  });
  return {
    ...server,
    dataDir,
    close: () => server.close(),
    dispose: async () => {
      try {
        await server.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** GETs a Loki read endpoint and returns status and parsed JSON (or text when not JSON). */
export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; text: string; contentType: string }> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain-text error bodies stay text
  }
  return { status: response.status, body, text, contentType: response.headers.get('content-type') ?? '' };
}

export function pushJson(url: string, streams: Array<{ stream: Record<string, string>; values: unknown[] }>, headers: Record<string, string> = {}) {
  return fetch(`${url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ streams }),
  });
}

/** Polls until `check` returns a value, for at most `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function queryRangeUrl(url: string, query: string, extra: Record<string, string> = {}): string {
  const start = String(nowNs() - 3_600_000_000_000n);
  const end = String(nowNs() + 60_000_000_000n);
  return `${url}/loki/api/v1/query_range?${new URLSearchParams({ query, start, end, limit: '1000', ...extra })}`;
}

interface StreamsBody {
  data: { resultType: string; result: Array<{ stream: Record<string, string>; values: Array<[string, string]> }> };
}

/** Every line a log query returns, oldest first. */
export async function queryLines(url: string, query: string, headers: Record<string, string> = {}): Promise<string[]> {
  const { status, body, text } = await getJson(queryRangeUrl(url, query, { direction: 'forward' }), headers);
  if (status !== 200) throw new Error(`query ${query} answered ${status}: ${text}`);
  const entries = (body as StreamsBody).data.result.flatMap((stream) => stream.values);
  entries.sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : BigInt(a[0]) > BigInt(b[0]) ? 1 : 0));
  return entries.map((value) => value[1]);
}
