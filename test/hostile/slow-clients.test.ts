// Slow clients must not hold the server's sockets: 600 connections that trickle their headers are
// closed by the header timeout, one that trickles its body by the read timeout (408), idle keep-alive
// connections by the idle timeout; /ready keeps answering throughout.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startTestServer, waitFor, type TestServer } from '../server/test-server.ts';
import { watchReady } from './ready-probe.ts';

const SLOW_SOCKETS = 600;

describe('slow clients are cut off by the read, header and idle timeouts', () => {
  let server: TestServer;
  const sockets: Socket[] = [];
  before(async () => {
    server = await startTestServer({ server: { http_server_read_timeout: '2s', http_server_read_header_timeout: '1s', http_server_idle_timeout: '1s' } });
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await server.dispose();
  });

  /** A connection whose `closed` resolves with what the server sent before closing it. */
  const open = (): Promise<{ socket: Socket; closed: Promise<string> }> =>
    new Promise((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1');
      sockets.push(socket);
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      const closed = new Promise<string>((done) => socket.once('close', () => done(received)));
      socket.once('error', () => undefined);
      socket.once('connect', () => resolve({ socket, closed }));
      socket.once('error', reject);
    });

  test(`${SLOW_SOCKETS} sockets trickling headers are all closed, and /ready answers meanwhile`, async () => {
    const ready = watchReady(server.url);
    const connections = await Promise.all(Array.from({ length: SLOW_SOCKETS }, open));
    for (const { socket } of connections) socket.write('GET /ready HTTP/1.1\r\nHost: x\r\n');
    let stillOpen = connections.length;
    for (const { closed } of connections) void closed.then(() => stillOpen--);
    // Keep trickling a header line every 400 ms: only the header timeout (1 s) can end these.
    const trickle = setInterval(() => {
      for (const { socket } of connections) if (!socket.destroyed) socket.write('X-Slow: 1\r\n');
    }, 400);
    try {
      await waitFor(async () => (stillOpen === 0 ? true : undefined), 15_000, `all ${SLOW_SOCKETS} slow sockets to be closed (${stillOpen} still open)`);
    } finally {
      clearInterval(trickle);
    }
    const readiness = await ready.stop();
    assert.equal(readiness.failures, 0, `/ready failed ${readiness.failures} of ${readiness.probes} probes (slowest ${Math.round(readiness.slowestMs)} ms)`);
  });

  test('a body trickled slower than the read timeout gets 408 and the connection closes', async () => {
    const { socket, closed } = await open();
    socket.write('POST /loki/api/v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"streams":');
    const trickle = setInterval(() => !socket.destroyed && socket.write(' '), 100);
    try {
      const answer = await closed;
      assert.match(answer, /^HTTP\/1\.1 408/);
    } finally {
      clearInterval(trickle);
    }
  });

  test('an idle keep-alive connection is closed after the idle timeout', async () => {
    const { socket, closed } = await open();
    socket.write('GET /ready HTTP/1.1\r\nHost: x\r\n\r\n');
    const answer = await closed;
    assert.match(answer, /^HTTP\/1\.1 200/);
  });
});
