// Builds a plain-JS bundle of `rankscope server` (src/cli/server-command.ts and everything it
// imports, dependencies included; snappy stays external because it is a native addon) into
// dist/server/, with its worker threads (the block encoder, the LogQL scan worker: every
// `new Worker(new URL('./x.ts', import.meta.url))` in the sources) as entries of their own, so the
// bundled server starts bundled workers. Running the bundle skips TypeScript type stripping, whose
// compiler and stripped sources stay resident in the server and in every worker. Every file lands
// directly in dist/server/, two folders below the package root like the sources, so the sources'
// `new URL('../../web/dist', import.meta.url)` still finds the package's files. inputs.json lists
// every source the bundle was built from with its size and mtime: src/cli/prebuilt.mjs uses the
// bundle only while all of them are unchanged, and otherwise the server runs from the .ts sources.
// Usage: node scripts/build-server.mjs [--out-dir DIR]
import { buildCommandBundle } from './command-bundle.mjs';

await buildCommandBundle('server', 'src/cli/server-command.ts', process.argv.slice(2));
