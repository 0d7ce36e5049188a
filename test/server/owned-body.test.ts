// src/server/owned-body.ts: a body arrives whole however the socket splits it, its chunks are freed
// once copied, and size errors read as Fastify's own parser's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import Fastify from 'fastify';
import { ownedBodyParser } from '../../src/server/owned-body.ts';

const LIMIT_BYTES = 256 * 1024;

async function startApp() {
  const app = Fastify();
  app.addContentTypeParser('*', { bodyLimit: LIMIT_BYTES }, ownedBodyParser(LIMIT_BYTES));
  app.post('/echo', async (request) => {
    const body = request.body as Buffer;
    let sum = 0;
    for (const byte of body) sum = (sum + byte) % 65521;
    return { bytes: body.length, sum, ownsItsMemory: body.byteOffset === 0 && body.byteLength === body.buffer.byteLength };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { app, port: address.port };
}

/** Sends `parts` as separate writes (chunked, or with `contentLength` when given); resolves to the status and body. */
function post(port: number, parts: Buffer[], contentLength?: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (contentLength !== undefined) headers['content-length'] = String(contentLength);
    const request = httpRequest({ host: '127.0.0.1', port, path: '/echo', method: 'POST', headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve({ status: 0, body: '' }) : reject(error)));
    for (const part of parts) request.write(part);
    request.end();
  });
}

function checksum(parts: Buffer[]): number {
  let sum = 0;
  for (const part of parts) for (const byte of part) sum = (sum + byte) % 65521;
  return sum;
}

test('a body split over many socket reads arrives whole, in memory of its own', async () => {
  const { app, port } = await startApp();
  try {
    const cases: Array<{ name: string; parts: Buffer[]; contentLength?: number }> = [
      { name: 'empty', parts: [], contentLength: 0 },
      { name: 'one small write', parts: [Buffer.from('hello')], contentLength: 5 },
      { name: 'chunked, many writes', parts: Array.from({ length: 20 }, (_, i) => Buffer.alloc(9000, i + 1)) },
      { name: 'at the limit, one write', parts: [Buffer.alloc(LIMIT_BYTES, 7)], contentLength: LIMIT_BYTES },
    ];
    for (const { name, parts, contentLength } of cases) {
      const response = await post(port, parts, contentLength);
      assert.equal(response.status, 200, `${name}: ${response.body}`);
      const echoed = JSON.parse(response.body) as { bytes: number; sum: number; ownsItsMemory: boolean };
      const bytes = parts.reduce((total, part) => total + part.length, 0);
      assert.deepEqual({ bytes: echoed.bytes, sum: echoed.sum }, { bytes, sum: checksum(parts) }, name);
      // A body the route may free (releasePushMemory) must not share Node's allocation pool.
      if (bytes > 64 * 1024) assert.equal(echoed.ownsItsMemory, true, name);
    }
  } finally {
    await app.close();
  }
});

test('oversized bodies get 413 with Fastify’s message, declared or streamed, and the server goes on', async () => {
  const { app, port } = await startApp();
  try {
    const declared = await post(port, [Buffer.alloc(10)], LIMIT_BYTES + 1);
    assert.equal(declared.status, 413);
    assert.match(declared.body, /Request body is too large/);
    const streamed = await post(port, Array.from({ length: 40 }, () => Buffer.alloc(8192, 1)));
    assert.ok(streamed.status === 413 || streamed.status === 0, `status ${streamed.status}`);
    if (streamed.status === 413) assert.match(streamed.body, /Request body is too large/);
    // The server is still answering after all of that.
    const after = await post(port, [Buffer.from('ok')], 2);
    assert.equal(after.status, 200);
  } finally {
    await app.close();
  }
});
