// Builds one command's plain-JS bundle into dist/<name>/ (scripts/build-agent.mjs,
// scripts/build-server.mjs): the command module and everything it imports, dependencies included,
// except native addons (snappy, zstd-napi). Worker threads started as
// `new Worker(new URL('./x.ts', import.meta.url))` become bundle entries of their own, and the URL
// points at the built worker. Every output file sits directly in dist/<name>/, two folders below the
// package root like the sources, so their `new URL('../../…', import.meta.url)` paths still hold.
// Next to the bundle, inputs.json lists every source file it was built from with its size and
// mtime; src/cli/prebuilt.mjs uses the bundle only while all of them are unchanged.
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NATIVE = ['snappy', 'zstd-napi'];
const WORKER_URL = /new Worker\(new URL\((['"])(\.\.?\/[^'"]+\.ts)\1, import\.meta\.url\)/g;

/** Turns each worker URL into a reference to the worker's own emitted entry chunk. */
function workerEntries() {
  return {
    name: 'rankscope-worker-entries',
    enforce: 'pre',
    transform(code, id) {
      if (!code.includes('new Worker(')) return undefined;
      const path = id.split('?')[0];
      let found = false;
      const out = code.replace(WORKER_URL, (_match, _quote, relativePath) => {
        found = true;
        const file = resolve(dirname(path), relativePath);
        const fileName = `${basename(file, '.ts')}.js`;
        this.emitFile({ type: 'chunk', id: file, fileName });
        // Every output file sits in the same folder, so the worker is next to whichever chunk this is.
        return `new Worker(new URL(${JSON.stringify(`./${fileName}`)}, import.meta.url)`;
      });
      return found ? { code: out, map: null } : undefined;
    },
  };
}

const COMMENT = /\/\*[\s\S]*?\*\/|\/\/[^\n]*/g;
const NON_ASCII = /[^\x00-\x7f]/g;
const HAS_NON_ASCII = /[^\x00-\x7f]/;

/**
 * Keeps every output chunk pure ASCII. Node loads a module's source as a one-byte string only when
 * it is all ASCII: a single U+00E4 doubles it (measured: a 2 MB module held 4 MB). `charset: 'ascii'`
 * escapes code and strings, but not the license comments kept in the output, so their characters
 * are written as \u escapes here (a comment's text means nothing to the program). Anything else
 * left (a String.raw template) is reported, not changed.
 */
function asciiComments() {
  return {
    name: 'rankscope-ascii-comments',
    renderChunk(code, chunk) {
      if (!HAS_NON_ASCII.test(code)) return undefined;
      const out = code.replace(COMMENT, (comment) => comment.replace(NON_ASCII, (char) => `\\u{${char.codePointAt(0).toString(16)}}`));
      const left = out.match(NON_ASCII);
      if (left !== null) this.warn(`${chunk.fileName}: ${left.length} non-ASCII characters outside comments: V8 keeps this chunk's source at two bytes a character`);
      return { code: out, map: null };
    },
  };
}

const HTTP_IMPORT = /^import (?:(\w+)|\{([^}]*)\}) from "node:http";$/gm;

/**
 * Loads node:http through `require` in every output chunk. An ESM import of it builds a module
 * facade that reads every export, among them the lazy WebSocket and EventSource getters, and so
 * loads and compiles Node's whole fetch client (undici), which the server never uses: 13.7 MB of
 * RSS in a bare `node` (60.9 against 47.2 MB), src/agent/node-http.ts has the same fix for the
 * agent's sources. Default and named imports only: rolldown emits no other form for a builtin.
 */
function httpThroughRequire() {
  return {
    name: 'rankscope-http-through-require',
    renderChunk(code) {
      if (!code.includes('from "node:http";')) return undefined;
      let first = true;
      const out = code.replace(HTTP_IMPORT, (_match, defaultName, named) => {
        const target = defaultName ?? `{ ${named.trim().replace(/\s+as\s+/g, ': ')} }`;
        const load = `const ${target} = __rankscopeRequire(import.meta.url)("node:http");`;
        if (!first) return load;
        first = false;
        return `import { createRequire as __rankscopeRequire } from "node:module";\n${load}`;
      });
      if (out.includes('from "node:http";')) this.warn('an import of node:http was left as an ESM import: it loads undici');
      return { code: out, map: null };
    },
  };
}

/**
 * @param {string} name the command: output goes to dist/<name>/<name>-command.js
 * @param {string} entryPath the command module, relative to the package root
 * @param {string[]} argv the build script's arguments: `--out-dir DIR` builds elsewhere (tests);
 *   DIR must sit two folders below the package root too
 */
export async function buildCommandBundle(name, entryPath, argv = []) {
  const { values } = parseArgs({ args: argv, options: { 'out-dir': { type: 'string' } } });
  const outDir = values['out-dir'] === undefined ? join(root, 'dist', name) : resolve(values['out-dir']);
  if (relative(root, dirname(dirname(outDir))) !== '') throw new Error(`build-${name}: --out-dir ${outDir} is not two folders below ${root}`);
  const entry = join(root, entryPath);
  rmSync(outDir, { recursive: true, force: true });
  const output = await build({
    configFile: false,
    logLevel: 'warn',
    root,
    plugins: [workerEntries(), asciiComments(), httpThroughRequire()],
    build: {
      ssr: entry,
      outDir,
      emptyOutDir: true,
      // Minified: V8 keeps each loaded module's source text for the life of the process (and in
      // every worker thread), and whitespace and long local names were 40% of it. The server's
      // bundle went from 3.7 to 2.2 MB, its idle RSS from 116.9 to 113.4 MB (bench/server-rss-ab.ts).
      // keepNames: function and class names stay as written (stack traces, Fastify plugin names).
      minify: 'oxc',
      target: 'node24',
      rollupOptions: {
        // ASCII only, and no comments but legal ones: V8 keeps each loaded module's source text for the
        // life of the process, and one character above U+00FF (an arrow or a dash in a comment) makes
        // it a two-byte string. The server's 4 MB bundle took 8.1 MB of memory that way.
        output: { keepNames: true, format: 'es', entryFileNames: `${name}-command.js`, chunkFileNames: '[name]-[hash].js', charset: 'ascii', comments: { legal: true, annotation: false, jsdoc: false } },
        external: [/^node:/, ...NATIVE],
      },
    },
    ssr: { noExternal: true, external: NATIVE },
  });
  const chunks = (Array.isArray(output) ? output : [output]).flatMap((result) => result.output ?? []);
  const sources = new Set();
  for (const chunk of chunks) {
    for (const id of Object.keys(chunk.modules ?? {})) {
      const path = id.split('?')[0];
      if (!isAbsolute(path) || path.includes('/node_modules/') || path.startsWith('\0')) continue;
      sources.add(path);
    }
  }
  if (!sources.has(entry)) throw new Error(`build-${name}: the bundle does not contain ${entry}`);
  // Dependency versions change the bundle too.
  sources.add(join(root, 'package-lock.json'));
  const files = [...sources].sort().map((path) => {
    const stat = statSync(path);
    return { path: relative(root, path), sizeBytes: stat.size, mtimeMs: stat.mtimeMs };
  });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'inputs.json'), JSON.stringify({ files }, null, 1) + '\n');
  const workers = chunks.filter((chunk) => chunk.type === 'chunk' && chunk.isEntry && chunk.fileName !== `${name}-command.js`);
  console.log(
    `build-${name}: ${relative(root, outDir)}/${name}-command.js from ${files.length} inputs` +
      (workers.length > 0 ? `; workers ${workers.map((chunk) => chunk.fileName).join(', ')}` : ''),
  );
}
