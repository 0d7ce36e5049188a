// OAuth2 client credentials for scrapes: a token server and a target served by this test on
// 127.0.0.1; the scrape gets a token (HTTP Basic client auth, scopes, endpoint_params), caches it until
// shortly before it expires, falls back to credentials in the body, and reports a refused token as a
// failed scrape.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { oauth2Schema, scrapeConfigSchema } from '../../src/scrape/config.ts';
import { OAuth2TokenSource } from '../../src/scrape/oauth2-token.ts';
import { ScrapeLoop } from '../../src/scrape/scrape-loop.ts';

let tokenServer: Server;
let target: Server;
let tokenUrl: string;
let targetAddress: string;
const tokenRequests: Array<{ authorization: string | undefined; form: Record<string, string> }> = [];
let targetAuthorization: string | undefined;
/** Basic client auth refused (a server that wants the credentials in the body). */
let bodyCredentialsOnly = false;
let issued = 0;

before(async () => {
  tokenServer = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      tokenRequests.push({ authorization: request.headers.authorization, form });
      const basicOk = request.headers.authorization === `Basic ${Buffer.from('gpu-scraper:s%26cret').toString('base64')}` && !bodyCredentialsOnly;
      const bodyOk = form.client_id === 'gpu-scraper' && form.client_secret === 's&cret';
      if (form.grant_type !== 'client_credentials' || !(basicOk || bodyOk)) {
        response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
        return;
      }
      issued++;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `token-${issued}`, token_type: 'bearer', expires_in: 3600 }));
    });
  });
  target = createServer((request, response) => {
    targetAuthorization = request.headers.authorization;
    if (request.headers.authorization?.startsWith('Bearer token-') !== true) {
      response.writeHead(401).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('up_check 1\n');
  });
  await Promise.all([tokenServer, target].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
  tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/oauth2/token`;
  targetAddress = `127.0.0.1:${(target.address() as AddressInfo).port}`;
});

after(() => {
  tokenServer?.close();
  target?.close();
});

function loop(oauth2: Record<string, unknown>): ScrapeLoop {
  return new ScrapeLoop({
    target: { job: 'j', discoveredLabels: { __address__: targetAddress }, labels: { instance: targetAddress, job: 'j' }, url: `http://${targetAddress}/metrics`, key: targetAddress },
    config: scrapeConfigSchema.parse({ job_name: 'j', oauth2: { token_url: tokenUrl, ...oauth2 } }),
    appender: { append: async (_tenant, series) => ({ accepted: series.length, rejected: [] }) },
    tenant: 't',
    offsetMs: 0,
  });
}

test('a scrape gets a client-credentials token once and sends it until it is about to expire', async () => {
  tokenRequests.length = 0;
  const scraper = loop({ client_id: 'gpu-scraper', client_secret: 's&cret', scopes: ['metrics:read', 'gpu'], endpoint_params: { audience: 'dcgm' } });
  await scraper.scrape();
  await scraper.scrape();
  await scraper.stop();
  assert.equal(scraper.status.health, 'up', scraper.status.lastError);
  assert.match(targetAuthorization ?? '', /^Bearer token-\d+$/);
  assert.equal(tokenRequests.length, 1, 'the token is cached across scrapes');
  assert.deepEqual(tokenRequests[0]!.form, { grant_type: 'client_credentials', scope: 'metrics:read gpu', audience: 'dcgm' });

  // A token is renewed 10 s before expires_in runs out.
  let nowMs = 1_000_000;
  const source = new OAuth2TokenSource(oauth2Schema.parse({ client_id: 'gpu-scraper', client_secret: 's&cret', token_url: tokenUrl }), () => nowMs);
  const first = await source.authorization(AbortSignal.timeout(5000), 5000);
  nowMs += 3_589_000;
  assert.equal(await source.authorization(AbortSignal.timeout(5000), 5000), first);
  nowMs += 2000;
  assert.notEqual(await source.authorization(AbortSignal.timeout(5000), 5000), first);
  source.close();
});

test('a server that refuses Basic client auth gets the credentials in the body; a refused token fails the scrape', async () => {
  bodyCredentialsOnly = true;
  try {
    tokenRequests.length = 0;
    const scraper = loop({ client_id: 'gpu-scraper', client_secret: 's&cret' });
    await scraper.scrape();
    await scraper.stop();
    assert.equal(scraper.status.health, 'up', scraper.status.lastError);
    assert.equal(tokenRequests.length, 2);
    assert.equal(tokenRequests[1]!.authorization, undefined);
  } finally {
    bodyCredentialsOnly = false;
  }
  const refused = loop({ client_id: 'gpu-scraper', client_secret: 'wrong' });
  await refused.scrape();
  await refused.stop();
  assert.equal(refused.status.health, 'down');
  assert.match(refused.status.lastError, /^oauth2: cannot fetch token: 401 Unauthorized; response: \{"error":"invalid_client"\}$/);
});
