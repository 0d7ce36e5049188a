// Builds a plain-JS bundle of `rankscope agent` (src/cli/agent-command.ts and everything it imports,
// zod and yaml included; snappy stays external because it is a native addon) into dist/agent/.
// Running the bundle skips TypeScript type stripping at start-up, whose compiler stays resident and
// costs the agent ~18 MB of RSS (plus the stripped sources). Next to the bundle, inputs.json lists
// every source file it was built from with its size and mtime: src/agent/prebuilt.mjs uses the
// bundle only while all of them are unchanged, and otherwise the agent runs from the .ts sources.
// Usage: node scripts/build-agent.mjs
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'agent');
const entry = join(root, 'src', 'cli', 'agent-command.ts');

rmSync(outDir, { recursive: true, force: true });
const output = await build({
  configFile: false,
  logLevel: 'warn',
  root,
  build: {
    ssr: entry,
    outDir,
    emptyOutDir: true,
    minify: false,
    target: 'node24',
    rollupOptions: { output: { format: 'es', entryFileNames: 'agent-command.js', chunkFileNames: 'chunks/[name].js' }, external: [/^node:/, 'snappy'] },
  },
  ssr: { noExternal: true, external: ['snappy'] },
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
if (!sources.has(entry)) throw new Error(`build-agent: the bundle does not contain ${entry}`);
// Dependency versions change the bundle too.
sources.add(join(root, 'package-lock.json'));
const files = [...sources].sort().map((path) => {
  const stat = statSync(path);
  return { path: relative(root, path), sizeBytes: stat.size, mtimeMs: stat.mtimeMs };
});
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'inputs.json'), JSON.stringify({ files }, null, 1) + '\n');
console.log(`build-agent: dist/agent/agent-command.js from ${files.length} inputs`);
