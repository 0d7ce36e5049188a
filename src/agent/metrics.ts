// The agent's own metrics in the Prometheus text exposition format, served on a configurable
// address. Counters and gauges only; gauges that describe live state are read at scrape time.

import type { Server } from 'node:http';
import { writeFamily } from '../push/exposition-text.ts';
import { http } from './node-http.ts';

type LabelValues = Record<string, string>;

interface Family {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: LabelValues; value: number }>;
  collect?: () => { labels: LabelValues; value: number }[];
}

function labelKey(labels: LabelValues): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(',');
}

export class AgentMetrics {
  private readonly families = new Map<string, Family>();

  private family(name: string, type: Family['type'], help: string): Family {
    let family = this.families.get(name);
    if (family === undefined) {
      family = { help, type, values: new Map() };
      this.families.set(name, family);
    }
    return family;
  }

  counter(name: string, help: string): (by?: number, labels?: LabelValues) => void {
    const family = this.family(name, 'counter', help);
    return (by = 1, labels = {}) => {
      const key = labelKey(labels);
      const current = family.values.get(key);
      if (current === undefined) family.values.set(key, { labels, value: by });
      else current.value += by;
    };
  }

  /** A gauge whose samples are computed when scraped. */
  gauge(name: string, help: string, collect: () => { labels: LabelValues; value: number }[]): void {
    this.family(name, 'gauge', help).collect = collect;
  }

  /** The current value of a counter or gauge sample (for tests and shutdown summaries). */
  value(name: string, labels: LabelValues = {}): number {
    const family = this.families.get(name);
    if (family === undefined) return 0;
    const key = labelKey(labels);
    if (family.collect !== undefined) return family.collect().find((sample) => labelKey(sample.labels) === key)?.value ?? 0;
    return family.values.get(key)?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.families) {
      writeFamily(lines, name, family.type, family.help, family.collect !== undefined ? family.collect() : family.values.values());
    }
    return lines.join('\n') + '\n';
  }
}

/** Serves GET /metrics on `listen` (HOST:PORT; port 0 picks one). Resolves with the bound URL. */
export async function serveMetrics(metrics: AgentMetrics, listen: string): Promise<{ url: string; close(): Promise<void> }> {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon) || '127.0.0.1';
  const port = Number(listen.slice(colon + 1));
  const server: Server = http.createServer((request, response) => {
    if (request.method === 'GET' && (request.url === '/metrics' || request.url?.startsWith('/metrics?'))) {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      response.end(metrics.render());
      return;
    }
    if (request.method === 'GET' && request.url === '/ready') {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('ready\n');
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found: the agent serves GET /metrics and GET /ready\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
