// Parameters at the edges of what numbers hold: each a 400 with a message (interval=1e400 was a 500,
// a RangeError converting Infinity to BigInt), and a plain GET of the tail WebSocket says what to do.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../server/test-server.ts';

describe('hostile query parameters', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.dispose();
  });

  const log = encodeURIComponent('{job="x"}');
  const metric = encodeURIComponent('sum(rate({job="x"}[1m]))');
  const cases: Array<{ path: string; status: number; body: RegExp }> = [
    { path: `/loki/api/v1/query_range?query=${log}&interval=1e400`, status: 400, body: /invalid interval value: "1e400" is out of range/ },
    { path: `/loki/api/v1/query_range?query=${metric}&step=1e400`, status: 400, body: /invalid step value: "1e400" is out of range/ },
    { path: `/loki/api/v1/query_range?query=${metric}&step=-1e400`, status: 400, body: /out of range/ },
    { path: `/loki/api/v1/query_range?query=${log}&start=1e400`, status: 400, body: /could not parse 'start' parameter/ },
    { path: `/loki/api/v1/query_range?query=${log}&start=-99999999999999999999999999`, status: 400, body: /query time range exceeds the limit/ },
    { path: `/loki/api/v1/query?query=${metric}&time=1e20`, status: 400, body: /could not parse 'time' parameter/ },
    { path: `/loki/api/v1/index/volume_range?query=${log}&step=0.001&start=0&end=9999999999`, status: 400, body: /11,000 points/ },
    { path: `/loki/api/v1/tail?query=${log}`, status: 400, body: /live tail is a WebSocket/ },
  ];
  for (const item of cases) {
    test(`${decodeURIComponent(item.path)} → ${item.status}`, async () => {
      const response = await fetch(`${server.url}${item.path}`);
      const text = await response.text();
      assert.equal(response.status, item.status, text);
      assert.match(text, item.body);
    });
  }
});
