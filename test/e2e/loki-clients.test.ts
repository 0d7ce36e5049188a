// Third-party Loki clients from npm push to a real rankscope server; their lines read back through
// query_range. winston-loki speaks protobuf+snappy (default) and JSON; pino-loki speaks JSON.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import pinoLoki from 'pino-loki';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { queryLines, startTestServer, waitFor, type TestServer } from '../server/test-server.ts';

describe('third-party Loki clients', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.dispose();
  });

  for (const mode of ['protobuf', 'json'] as const) {
    test(`winston-loki in ${mode} mode`, async () => {
      const errors: unknown[] = [];
      const transport = new LokiTransport({
        host: server.url,
        json: mode === 'json',
        labels: { app: 'winston', mode },
        batching: true,
        interval: 0.1,
        gracefulShutdown: false,
        onConnectionError: (error: unknown) => errors.push(error),
      });
      const logger = winston.createLogger({ level: 'debug', transports: [transport] });
      for (let step = 0; step < 5; step++) logger.info(`step ${step} loss ${(1 / (step + 1)).toFixed(3)}`, { labels: { rank: String(step % 2) } });
      logger.error('Traceback (most recent call last):\n  File "train.py", line 1');
      await transport.flush();
      const lines = await waitFor(async () => {
        const found = await queryLines(server.url, `{app="winston", mode="${mode}"}`);
        return found.length >= 6 ? found : undefined;
      }, 5000, `winston-loki ${mode} lines`);
      assert.deepEqual(errors, []);
      assert.deepEqual(
        // winston-loki appends the remaining winston metadata (here the level) as JSON to each line.
        lines.sort(),
        [
          'Traceback (most recent call last):\n  File "train.py", line 1 {"level":"error"}',
          'step 0 loss 1.000 {"level":"info"}',
          'step 1 loss 0.500 {"level":"info"}',
          'step 2 loss 0.333 {"level":"info"}',
          'step 3 loss 0.250 {"level":"info"}',
          'step 4 loss 0.200 {"level":"info"}',
        ].sort(),
      );
      const errorsOnly = await queryLines(server.url, `{app="winston", mode="${mode}", level="error"}`);
      assert.equal(errorsOnly.length, 1);
      const rankOne = await queryLines(server.url, `{app="winston", mode="${mode}", rank="1"}`);
      assert.equal(rankOne.length, 2);
      logger.close();
      await transport.close();
    });
  }

  test('pino-loki (JSON) with structured metadata', async () => {
    const stream = pinoLoki({ host: server.url, batching: false, labels: { app: 'pino' }, propsToLabels: ['rank'], structuredMetaKey: 'meta' });
    const logger = pino({ level: 'info' }, stream);
    logger.info({ rank: '0', meta: { trace_id: 't-1' } }, 'pino says hello');
    logger.warn({ rank: '1' }, 'NCCL WARN something');
    const lines = await waitFor(async () => {
      const found = await queryLines(server.url, '{app="pino"}');
      return found.length >= 2 ? found : undefined;
    }, 5000, 'pino-loki lines');
    assert.equal(lines.length, 2);
    assert.ok(lines.some((line) => line.includes('pino says hello')), lines.join('\n'));
    assert.deepEqual(await queryLines(server.url, '{app="pino", rank="1"} |= "NCCL"').then((found) => found.length), 1);
    stream.end();
  });
});
