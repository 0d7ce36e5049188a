// The web UI: static assets of the built React app (web/dist) at `/`, with the SPA fallback to
// index.html for client-side routes, and a clear page when the UI has not been built yet.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const PACKAGED_UI_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Paths that belong to the API: a miss there is a real 404, never the UI's index.html. */
const API_PREFIXES = ['/loki/', '/api/', '/prometheus/', '/metrics', '/ready', '/config', '/otlp/'];

const NOT_BUILT_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>rankscope</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>rankscope</h1>
<p>The server is running, but the web UI has not been built.</p>
<p>Build it with <code>node scripts/build-web.mjs</code> (from the rankscope checkout), then reload.</p>
<p>The Loki API is available: <a href="/loki/api/v1/labels">/loki/api/v1/labels</a>, <a href="/metrics">/metrics</a>, <a href="/ready">/ready</a>.</p>
</body></html>
`;

export async function uiRoutes(app: FastifyInstance, options: { distDir: string }): Promise<void> {
  const indexPath = join(options.distDir, 'index.html');
  const built = existsSync(indexPath);
  if (built) {
    await app.register(fastifyStatic, { root: options.distDir, index: ['index.html'] });
  } else {
    app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT_PAGE));
  }
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0]!;
    const wantsPage = request.method === 'GET' && !API_PREFIXES.some((prefix) => path.startsWith(prefix)) && !/\.[a-z0-9]+$/i.test(path);
    if (!wantsPage) return reply.code(404).type('text/plain; charset=utf-8').send('404 page not found\n');
    if (!built) return reply.type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    return reply.type('text/html; charset=utf-8').sendFile('index.html');
  });
}
