// node:http for the agent, loaded through require. An ESM `import … from 'node:http'` builds a
// module facade that reads every export, including the lazy WebSocket/EventSource getters, which
// loads the whole undici client: ~13 MB of RSS the agent never uses.

import { createRequire } from 'node:module';

const requireBuiltin = createRequire(import.meta.url);

export const http = requireBuiltin('node:http') as typeof import('node:http');
