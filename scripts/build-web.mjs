// Builds the React UI in web/ into web/dist, which the server serves at `/`.
// Idempotent: a hash of every input is written to web/dist/.build-hash and the build is skipped when it
// matches (pass --force to rebuild). Type-checks web/ with its own tsconfig first, so a type error in the
// UI fails the build. Prints the gzip size of the JS a first page load fetches.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const webDir = join(root, 'web');
const distDir = join(webDir, 'dist');
const hashFile = join(distDir, '.build-hash');
const force = process.argv.includes('--force');

function listInputs(dir) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === 'dist' || name === 'node_modules') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...listInputs(path));
    else found.push(path);
  }
  return found;
}

function inputHash() {
  const hash = createHash('sha256');
  for (const file of listInputs(webDir)) {
    hash.update(relative(webDir, file));
    hash.update(readFileSync(file));
  }
  // Dependency versions change the output too.
  hash.update(readFileSync(join(root, 'package-lock.json')));
  return hash.digest('hex');
}

/** The JS a first page load fetches: the entry script and its modulepreloads named in index.html. */
function firstLoadScripts(dist) {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const paths = new Set();
  for (const match of html.matchAll(/<(?:script|link)[^>]+(?:src|href)="([^"]+\.js)"/g)) paths.add(match[1]);
  return [...paths].map((path) => join(dist, path.replace(/^\//, '')));
}

function gzipBytes(files) {
  return files.reduce((sum, file) => sum + gzipSync(readFileSync(file), { level: 9 }).length, 0);
}

function report() {
  const first = firstLoadScripts(distDir);
  const assetsDir = join(distDir, 'assets');
  const allJs = readdirSync(assetsDir).filter((n) => n.endsWith('.js')).map((n) => join(assetsDir, n));
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
  console.log(`web: first-load JS ${kb(gzipBytes(first))} gzip (${first.length} files); all JS ${kb(gzipBytes(allJs))} gzip (${allJs.length} chunks)`);
}

const hash = inputHash();
if (!force && existsSync(hashFile) && readFileSync(hashFile, 'utf8') === hash && existsSync(join(distDir, 'index.html'))) {
  console.log('web: dist is up to date');
  report();
  process.exit(0);
}

const started = Date.now();
const tscBin = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const typecheck = spawnSync(process.execPath, [tscBin, '--noEmit', '-p', webDir], { stdio: 'inherit', cwd: root });
if (typecheck.status !== 0) {
  console.error('web: type errors in web/ (see above)');
  process.exit(1);
}

const { build } = await import('vite');
await build({ configFile: join(webDir, 'vite.config.ts'), root: webDir, logLevel: 'warn' });
writeFileSync(hashFile, hash);
console.log(`web: built in ${Date.now() - started} ms`);
report();
