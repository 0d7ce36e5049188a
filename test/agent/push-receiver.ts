// A minimal Loki push receiver for agent tests: decodes protobuf+snappy bodies with the shared wire
// format and records every entry. It can answer with a chosen status to simulate a failing server.

import { createServer, type Server } from 'node:http';
import { decodeSnappyPushRequest } from '../../src/push/protobuf.ts';
import { formatLabels } from '../../src/push/labels.ts';
import type { Labels } from '../../src/push/types.ts';

export interface ReceivedEntry {
  labels: Labels;
  labelsText: string;
  timestampNs: bigint;
  line: string;
  tenant: string | undefined;
}

export interface PushReceiver {
  url: string;
  entries: ReceivedEntry[];
  requests: number;
  /** Status to answer with; 204 accepts. */
  status: number;
  close(): Promise<void>;
}

export async function startPushReceiver(): Promise<PushReceiver> {
  const receiver: PushReceiver = { url: '', entries: [], requests: 0, status: 204, close: async () => undefined };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      receiver.requests++;
      if (request.url !== '/loki/api/v1/push' || request.headers['content-type'] !== 'application/x-protobuf') {
        response.writeHead(400).end(`unexpected ${request.method} ${request.url} ${request.headers['content-type']}`);
        return;
      }
      if (receiver.status !== 204) {
        response.writeHead(receiver.status).end('simulated failure');
        return;
      }
      const tenant = request.headers['x-scope-orgid'] as string | undefined;
      for (const stream of decodeSnappyPushRequest(Buffer.concat(chunks))) {
        for (const entry of stream.entries) {
          receiver.entries.push({ labels: stream.labels, labelsText: formatLabels(stream.labels), timestampNs: entry.timestampNs, line: entry.line, tenant });
        }
      }
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  receiver.url = `http://127.0.0.1:${address.port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/** Polls `condition` every 20 ms until true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
