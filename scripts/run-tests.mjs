// Runs every test file under test/ with Node's built-in runner, under the pinned Node 24.
// Usage: node scripts/run-tests.mjs [path-substring …] to run a subset.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);

function collect(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...collect(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const files = collect(join(root, 'test'))
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
const nodeBin = Number(process.versions.node.split('.')[0]) >= 24 || !existsSync(pinned) ? process.execPath : pinned;

// Tests that measure time run after the rest, one file at a time, instead of sharing the two cores
// with server and store tests: browser tests (main-thread busy time, frame times) and the hostile
// suite (/ready must answer within 100 ms while the server is attacked) and the regex linear-time check.
const isTimedTest = (file) => file.includes(`${join('test', 'web')}`) || file.includes(`${join('test', 'hostile')}`) || file.includes(join('test', 'regex', 'hostile'));
const groups = [
  { files: files.filter((file) => !isTimedTest(file)), concurrency: 2 },
  { files: files.filter(isTimedTest), concurrency: 1 },
].filter((group) => group.files.length > 0);

// Each group also writes TAP to a file, so the run can end with one line that totals both groups.
const tapDir = mkdtempSync(join(tmpdir(), 'rankscope-tests-'));
let status = 0;
let passed = 0;
let failed = 0;
let skipped = 0;
const skippedNames = [];
for (const [index, group] of groups.entries()) {
  const tapFile = join(tapDir, `group-${index}.tap`);
  const result = spawnSync(
    nodeBin,
    [
      '--test',
      `--test-concurrency=${group.concurrency}`,
      '--test-timeout=300000',
      '--disable-warning=ExperimentalWarning',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tapFile}`,
      ...group.files,
    ],
    { stdio: 'inherit', cwd: root },
  );
  if (result.status !== 0) status = result.status ?? 1;
  const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
  passed += Number(/^# pass (\d+)$/m.exec(tap)?.[1] ?? 0);
  failed += Number(/^# fail (\d+)$/m.exec(tap)?.[1] ?? 0);
  skipped += Number(/^# skipped (\d+)$/m.exec(tap)?.[1] ?? 0) + Number(/^# todo (\d+)$/m.exec(tap)?.[1] ?? 0);
  for (const match of tap.matchAll(/^\s*ok \d+ - (.*?) # (SKIP|TODO)\b ?(.*)$/gm)) skippedNames.push(`${match[1]} (${match[3] || match[2].toLowerCase()})`);
}
rmSync(tapDir, { recursive: true, force: true });
if (status !== 0 && failed === 0) failed = 1;
// A skip is visible, and in CI every suite must run: the machine CI runs on installs every peer the
// tests need (.ci/run), so a skip there means a missing install or a missing ../shared.
if (skippedNames.length > 0) console.log(`\nskipped:\n${skippedNames.map((name) => `  - ${name}`).join('\n')}`);
if (process.env.CI === 'true' && skipped > 0) {
  console.log(`CI=true: ${skipped} skipped test(s) count as failures`);
  failed += skipped;
  status = 1;
}
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status);
