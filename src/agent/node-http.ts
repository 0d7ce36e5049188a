// node:http for the agent, loaded through require. An ESM `import … from 'node:http'` builds a
// module facade that reads every export, including the lazy WebSocket/EventSource getters, which
// loads the whole undici client: ~13 MB of RSS the agent never uses.

import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent, AgentOptions as HttpsAgentOptions } from 'node:https';
import { createRequire } from 'node:module';

const requireBuiltin = createRequire(import.meta.url);

export const http = requireBuiltin('node:http') as typeof import('node:http');


/**
 * One keep-alive connection to a server (batches go one at a time), over http or https by the URL.
 * node:http rather than fetch: fetch's client (undici) and its buffers made up ~30 MB of the agent's
 * RSS. node:https is loaded only for https servers: TLS costs memory an http-only agent need not pay.
 */
export class KeepAliveClient {
  private readonly url: string;
  private readonly tls: HttpsAgentOptions | undefined;
  private agent: HttpAgent | HttpsAgent | undefined;
  private requestFn: typeof http.request | undefined;

  constructor(url: string, tls?: HttpsAgentOptions) {
    this.url = url;
    this.tls = tls;
  }

  async get(): Promise<{ agent: HttpAgent | HttpsAgent; request: typeof http.request }> {
    if (this.agent === undefined || this.requestFn === undefined) {
      if (new URL(this.url).protocol === 'https:') {
        const https = await import('node:https');
        this.agent = new https.Agent({ keepAlive: true, maxSockets: 1, ...this.tls });
        this.requestFn = https.request as unknown as typeof http.request;
      } else {
        this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        this.requestFn = http.request;
      }
    }
    return { agent: this.agent, request: this.requestFn };
  }

  destroy(): void {
    this.agent?.destroy();
  }
}

/** Full-range jitter around an exponentially growing ceiling, so many agents do not retry in step. */
export function retryBackoffMs(failures: number, minBackoffMs: number, maxBackoffMs: number): number {
  const ceilingMs = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(failures - 1, 30));
  return ceilingMs / 2 + Math.random() * (ceilingMs / 2);
}
