// A local HTTP listener on 127.0.0.1 that records JSON POST bodies, for webhook and Slack receivers.
import { createServer, type Server } from 'node:http';

export interface ReceivedRequest {
  path: string;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

export interface Listener {
  url: string;
  received: ReceivedRequest[];
  /** Status to answer with (default 200); lets tests make deliveries fail. */
  setStatus(status: number): void;
  /** Requests answered so far, failed ones included. */
  attempts(): number;
  /** Resolves when a request satisfies `predicate`, or rejects after `timeoutMs`. */
  waitFor(predicate: (request: ReceivedRequest) => boolean, timeoutMs: number): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

export async function startListener(): Promise<Listener> {
  const received: ReceivedRequest[] = [];
  const waiters: Array<{ predicate: (request: ReceivedRequest) => boolean; resolve: (request: ReceivedRequest) => void }> = [];
  let status = 200;
  let attempts = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body: unknown = Buffer.concat(chunks).toString();
      try {
        body = JSON.parse(body as string);
      } catch {
        // keep the text
      }
      response.statusCode = status;
      response.end(status < 300 ? 'ok' : 'failing on purpose');
      attempts++;
      if (status >= 300) return;
      const entry = { path: request.url ?? '', body, headers: request.headers };
      received.push(entry);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(entry)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(entry);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    setStatus: (next) => (status = next),
    attempts: () => attempts,
    waitFor: (predicate, timeoutMs) => {
      const already = received.find(predicate);
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (request: ReceivedRequest) => {
            clearTimeout(timer);
            resolve(request);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no matching request within ${timeoutMs}ms; received: ${JSON.stringify(received).slice(0, 2000)}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
