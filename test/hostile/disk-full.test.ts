// A full disk: the server's data directory sits on a small tmpfs this test mounts (it needs root;
// otherwise it is skipped and says why). While the disk is full a push gets 507 naming ENOSPC and
// /ready says not ready; once space is freed both recover without a restart, and every acknowledged
// line (and no line of a refused push) is there, before and after a SIGKILL and WAL replay.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../cli/server-process.ts';
import { nowNs, pushJson, queryLines, waitFor } from '../server/test-server.ts';

const mountPoint = mkdtempSync(join(tmpdir(), 'rankscope-hostile-enospc-'));
const skipReason = mountTmpfs();

function mountTmpfs(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs (running as a normal user)';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `cannot mount a tmpfs: ${(error as Error).message.split('\n')[0]}`;
  }
}

if (skipReason !== undefined) console.log(`# disk-full tests skipped: ${skipReason}`);

/** Writes a file until the filesystem refuses (ENOSPC). */
function fillDisk(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  try {
    for (let i = 0; i < 1024; i++) written += writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return written;
}

describe('disk full', { skip: skipReason }, () => {
  const dataDir = join(mountPoint, 'data');
  const filler = join(mountPoint, 'filler');
  let server: ServerProcess;
  const start = () => startServerProcess(['--data-dir', dataDir]);
  before(async () => {
    mkdirSync(dataDir, { recursive: true });
    server = await start();
  });
  after(async () => {
    if (server !== undefined) {
      server.kill('SIGKILL');
      await server.exited;
    }
    if (skipReason === undefined) execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  test('507 naming ENOSPC and not ready while full; recovery without a restart; nothing acknowledged lost', async () => {
    const t = nowNs();
    const lines = (from: number, count: number, pad = '') => Array.from({ length: count }, (_, i) => [String(t + BigInt(from + i)), `line ${String(from + i).padStart(5, '0')}${pad}`]);
    const acknowledged: string[] = [];

    const first = lines(0, 100);
    assert.equal((await pushJson(server.url, [{ stream: { job: 'disk' }, values: first }])).status, 204);
    acknowledged.push(...first.map((value) => value[1]!));

    const fillerBytes = fillDisk(filler);
    assert.ok(fillerBytes > 0);
    // Leave 64 KB free: the refused push's WAL write then fails part way, leaving a torn frame that
    // must be cut back, or the next acknowledged frame would sit behind it and be lost on replay.
    truncateSync(filler, fillerBytes - 64 * 1024);
    const refused = await pushJson(server.url, [{ stream: { job: 'disk' }, values: lines(1000, 2000, ' '.repeat(100)) }]);
    const refusedText = await refused.text();
    assert.equal(refused.status, 507, refusedText);
    assert.match(refusedText, /no space left on device \(ENOSPC\); nothing from this push was stored/);
    const notReady = await fetch(`${server.url}/ready`);
    assert.equal(notReady.status, 503);
    assert.match(await notReady.text(), /not ready: .*\(ENOSPC\)/);
    // Still full: still refused, still not ready.
    assert.equal((await pushJson(server.url, [{ stream: { job: 'disk' }, values: lines(5000, 2000, ' '.repeat(100)) }])).status, 507);

    unlinkSync(filler);
    await waitFor(async () => ((await fetch(`${server.url}/ready`)).status === 200 ? true : undefined), 5000, '/ready to recover');
    const second = lines(10_000, 100);
    const recovered = await pushJson(server.url, [{ stream: { job: 'disk' }, values: second }]);
    assert.equal(recovered.status, 204, await recovered.text());
    acknowledged.push(...second.map((value) => value[1]!));

    assert.deepEqual(await queryLines(server.url, '{job="disk"}'), acknowledged);
    // No flush on the way down: the restart must find the lines by replaying the WAL past the cut.
    server.kill('SIGKILL');
    await server.exited;
    server = await start();
    assert.deepEqual(await queryLines(server.url, '{job="disk"}'), acknowledged, 'after a SIGKILL and WAL replay');
  });
});
