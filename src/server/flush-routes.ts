// POST /flush, as Loki's ingester has it: cut every in-memory head into durable parts, truncate the
// WAL, and answer 204 once that is done. Operators call it before a restart or a backup.

import type { FastifyInstance } from 'fastify';
import type { LogStore } from '../store/types.ts';

export interface FlushRoutesOptions {
  store: LogStore;
}

export async function flushRoutes(app: FastifyInstance, options: FlushRoutesOptions): Promise<void> {
  app.post('/flush', async (_request, reply) => {
    await options.store.flush();
    return reply.code(204).send();
  });
}
