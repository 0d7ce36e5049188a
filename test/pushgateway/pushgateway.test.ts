// The embedded Pushgateway with a real groups file and an in-memory TSDB appender: a push is applied
// only when it is durable, groups come back on open, and the default TTL applies to new groups.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pushgateway } from '../../src/pushgateway/pushgateway.ts';
import type { AppendSeries } from '../../src/tsdb/types.ts';

async function withGateway(run: (dir: string, open: (defaultTtlMs?: number) => Promise<Pushgateway>, appended: AppendSeries[][], clock: { nowMs: number }) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-pushgateway-'));
  const appended: AppendSeries[][] = [];
  const clock = { nowMs: 1_800_000_000_000 };
  const opened: Pushgateway[] = [];
  const open = async (defaultTtlMs = 0) => {
    const gateway = await Pushgateway.open({ dataDir: dir, metrics: { append: async (_tenant, series) => (appended.push(series), { accepted: series.length, rejected: [] }) }, sampleIntervalMs: 60_000, defaultTtlMs, now: () => clock.nowMs });
    opened.push(gateway);
    return gateway;
  };
  try {
    await run(dir, open, appended, clock);
  } finally {
    for (const gateway of opened) await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const TEXT = { contentType: 'text/plain' };

test('a push that cannot be made durable fails and leaves the group as it was', () =>
  withGateway(async (dir, open) => {
    const gateway = await open();
    await gateway.push('t', 'PUT', { job: 'j' }, Buffer.from('m 1\n'), TEXT);
    // A file where the groups directory must be makes every write fail.
    const groupsDirectory = join(dir, 'pushgateway', 'groups');
    renameSync(groupsDirectory, `${groupsDirectory}.moved`);
    writeFileSync(groupsDirectory, '');
    await assert.rejects(gateway.push('t', 'PUT', { job: 'j' }, Buffer.from('m 2\n'), TEXT), /EEXIST|ENOTDIR/);
    await assert.rejects(gateway.delete('t', { job: 'j' }), /ENOTDIR/);
    assert.equal(gateway.groups('t')[0]!.families.m!.samples[0]!.value, 1);
    rmSync(groupsDirectory);
    renameSync(`${groupsDirectory}.moved`, groupsDirectory);
    await gateway.push('t', 'PUT', { job: 'j' }, Buffer.from('m 3\n'), TEXT);
    await gateway.stop();
    const reopened = await open();
    assert.equal(reopened.groups('t')[0]!.families.m!.samples[0]!.value, 3);
  }));

test('the default TTL applies to new groups; a tick expires them with staleness markers', () =>
  withGateway(async (_dir, open, appended, clock) => {
    const gateway = await open(1000);
    await gateway.push('t', 'PUT', { job: 'short' }, Buffer.from('m 1\n'), TEXT);
    await gateway.push('t', 'PUT', { job: 'long' }, Buffer.from('n 1\n'), TEXT, 60_000);
    clock.nowMs += 1000;
    await gateway.tick();
    assert.deepEqual(gateway.groups('t').map((group) => group.labels.job), ['long']);
    const markers = appended.flat().filter((series) => series.samples[0]!.stale === true);
    assert.deepEqual(markers.map((series) => series.labels.__name__).sort(), ['m', 'push_failure_time_seconds', 'push_time_seconds']);
    assert.ok(markers.every((series) => series.labels.job === 'short'));
  }));

test('an unreadable groups file is an error naming the file, not an empty gateway', () =>
  withGateway(async (dir, open) => {
    mkdirSync(join(dir, 'pushgateway', 'groups'), { recursive: true });
    writeFileSync(join(dir, 'pushgateway', 'groups', 'damaged.json'), '{"version":1,"tenant":"t","group":{"families":{},"labels":{"job":3}}}');
    await assert.rejects(open(), /damaged\.json: group\.labels\.job is not a string/);
  }));
