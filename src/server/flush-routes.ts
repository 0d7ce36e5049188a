// POST /flush, as Loki's ingester has it: cut every in-memory head into durable parts, truncate the
// WAL, and answer 204 once that is done. Operators call it before a restart or a backup. It flushes
// every store the server holds (logs, and metrics when the TSDB is on).

import type { FastifyInstance } from 'fastify';

export interface Flushable {
  flush(): Promise<void>;
}

export interface FlushRoutesOptions {
  stores: Flushable[];
}

export async function flushRoutes(app: FastifyInstance, options: FlushRoutesOptions): Promise<void> {
  app.post('/flush', async (_request, reply) => {
    await Promise.all(options.stores.map((store) => store.flush()));
    return reply.code(204).send();
  });
}
