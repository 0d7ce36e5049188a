import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/store.ts';
import { DAY_START_NS, makeTempDir, readAll, testOptions } from './store-fixture.ts';

const WRITER_SCRIPT = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

/** Lines per batch id, from `batch=<id> line=<k>` lines. */
function countByLine(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const text = line.slice(line.indexOf(' ') + 1);
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  return counts;
}

test('after SIGKILL mid-stream, every acknowledged line is present exactly once', async () => {
  const dir = await makeTempDir('store-crash');
  try {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', WRITER_SCRIPT, dir.path, '8'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acknowledged: string[] = [];
    const lines = createInterface({ input: child.stdout! });
    const exited = once(child, 'exit');
    // Kill once enough batches were acknowledged for several head cuts to have happened.
    const killAfterAcks = 400 + Math.floor(Math.random() * 200);
    const safety = setTimeout(() => child.kill('SIGKILL'), 60_000);
    for await (const line of lines) {
      if (line.startsWith('ack ')) acknowledged.push(line.slice(4));
      if (acknowledged.length >= killAfterAcks) {
        child.kill('SIGKILL');
        break;
      }
    }
    const [, signal] = await exited;
    clearTimeout(safety);
    assert.equal(signal, 'SIGKILL', 'the writer was killed, not finished');
    assert.ok(acknowledged.length >= killAfterAcks);

    const store = await openStore(testOptions(dir.path));
    try {
      const counts = countByLine(await readAll(store, 'fake'));
      for (const batch of acknowledged) {
        for (let k = 0; k < 20; k++) {
          const text = `batch=${batch} line=${k} payload=${'x'.repeat(40)}`;
          assert.equal(counts.get(text), 1, `${text} present exactly once`);
        }
      }
      for (const [text, count] of counts) assert.equal(count, 1, `${text} is never duplicated (acked or not)`);
      // Batches are atomic: an unacknowledged batch is either wholly present or wholly absent.
      const perBatch = new Map<string, number>();
      for (const text of counts.keys()) {
        const batch = /^batch=(\S+)/.exec(text)![1]!;
        perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
      }
      for (const [batch, count] of perBatch) assert.equal(count, 20, `batch ${batch} complete`);
      assert.ok(store.metrics().parts > 0, 'parts were written before the kill');
    } finally {
      await store.close();
    }
  } finally {
    await dir.remove();
  }
});

test('WAL replay skips records already persisted in parts (crash between part write and WAL truncation)', async () => {
  const dir = await makeTempDir('store-replay-idempotent');
  try {
    const options = testOptions(dir.path);
    const store = await openStore(options);
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
    await store.append('fake', [{ labels: { job: 'replay' }, entries: lines.map((line, i) => ({ timestampNs: DAY_START_NS + BigInt(i), line })) }]);
    // The WAL as it was before the cut: restoring it afterwards is exactly a crash after the part
    // became durable but before the WAL was truncated.
    const walBackup = join(dir.path, 'wal-backup');
    await cp(join(dir.path, 'wal'), walBackup, { recursive: true });
    await store.flush();
    await store.append('fake', [{ labels: { job: 'replay' }, entries: [{ timestampNs: DAY_START_NS + 100n, line: 'after cut' }] }]);
    await store.append('fake', [{ labels: { job: 'other' }, entries: [{ timestampNs: DAY_START_NS + 101n, line: 'other stream' }] }]);
    await store.close();
    await cp(walBackup, join(dir.path, 'wal'), { recursive: true });
    await rm(walBackup, { recursive: true });

    const reopened = await openStore(options);
    const expected = [...lines.map((line, i) => `${DAY_START_NS + BigInt(i)} ${line}`), `${DAY_START_NS + 100n} after cut`, `${DAY_START_NS + 101n} other stream`].sort();
    assert.deepEqual(await readAll(reopened, 'fake'), expected);
    assert.equal(reopened.metrics().headStreams, 0, 'nothing replayed into the head');
    await reopened.close();
  } finally {
    await dir.remove();
  }
});

test('WAL replay of a record whose first day reached a part and whose second did not keeps the second day, once', async () => {
  // A cut writes one part per day; a crash between them leaves a record half persisted. Replay must
  // keep the entries of the day without a part (their lines read from the WAL bytes) and skip the rest.
  const dir = await makeTempDir('store-replay-half');
  try {
    const options = testOptions(dir.path);
    const store = await openStore(options);
    const nextDayNs = DAY_START_NS + 86_400_000_000_000n;
    const entries = [
      { timestampNs: DAY_START_NS + 1n, line: 'day one ü' },
      { timestampNs: nextDayNs + 1n, line: 'day two ü' },
      { timestampNs: nextDayNs + 2n, line: 'day two, again' },
    ];
    await store.append('fake', [{ labels: { job: 'half' }, entries }]);
    const walBackup = join(dir.path, 'wal-backup');
    await cp(join(dir.path, 'wal'), walBackup, { recursive: true });
    await store.close();
    // Drop the second day's partition (its part and label index), as if the crash came before it was written.
    const { dayOfNs, partitionPrefix } = await import('../../src/store/object-keys.ts');
    await rm(join(dir.path, 'objects', partitionPrefix('fake', dayOfNs(nextDayNs))), { recursive: true });
    await rm(join(dir.path, 'wal'), { recursive: true });
    await cp(walBackup, join(dir.path, 'wal'), { recursive: true });

    const reopened = await openStore(options);
    assert.deepEqual(await readAll(reopened, 'fake'), entries.map((entry) => `${entry.timestampNs} ${entry.line}`).sort());
    assert.equal(reopened.metrics().headStreams, 1, 'the second day replayed into a head');
    await reopened.close();
  } finally {
    await dir.remove();
  }
});
