import assert from 'node:assert/strict';
import { test } from 'node:test';
import { streamFingerprint } from '../../src/store/stream-id.ts';
import { LabelInterner, sameLabels, StreamTable } from '../../src/store/stream-table.ts';

const item = (tenant: string, labels: Record<string, string>) => ({ tenant, info: { id: `${tenant}/${JSON.stringify(labels)}`, labels } });

test('stream fingerprints ignore label order and tell tenants and label pairs apart', () => {
  assert.equal(streamFingerprint('t', { a: '1', b: '2' }), streamFingerprint('t', { b: '2', a: '1' }));
  const distinct = [
    ['t', { a: '1', b: '2' }],
    ['u', { a: '1', b: '2' }],
    ['t', { a: '2', b: '1' }],
    ['t', { a: '1' }],
    ['t', { a: '12' }],
    ['t', { a1: '2' }],
  ] as const;
  const fingerprints = new Set(distinct.map(([tenant, labels]) => streamFingerprint(tenant, labels)));
  assert.equal(fingerprints.size, distinct.length);
  for (const fingerprint of fingerprints) assert.ok(Number.isInteger(fingerprint) && fingerprint >= 0 && fingerprint < 2 ** 30);
});

test('a stream table finds each stream by tenant and labels when fingerprints collide', () => {
  const table = new StreamTable<ReturnType<typeof item>>();
  // All under one fingerprint: the table must compare tenant and labels.
  const a = item('t', { job: 'a' });
  const b = item('t', { job: 'b' });
  const c = item('u', { job: 'a' });
  const d = item('t', { job: 'a', rank: '0' });
  for (const each of [a, b, c, d]) table.add(7, each);
  assert.equal(table.size, 4);
  assert.equal(table.get(7, 't', { job: 'a' }), a);
  assert.equal(table.get(7, 't', { job: 'b' }), b);
  assert.equal(table.get(7, 'u', { job: 'a' }), c);
  assert.equal(table.get(7, 't', { rank: '0', job: 'a' }), d);
  assert.equal(table.get(7, 't', { job: 'c' }), undefined);
  assert.equal(table.get(8, 't', { job: 'a' }), undefined);
  assert.ok(table.delete(7, b));
  assert.ok(!table.delete(7, b));
  assert.equal(table.get(7, 't', { job: 'b' }), undefined);
  assert.ok(table.delete(7, a) && table.delete(7, c));
  // One left: stored alone again, still found.
  assert.equal(table.get(7, 't', { job: 'a', rank: '0' }), d);
  assert.deepEqual([...table.values()], [d]);
  assert.equal(table.size, 1);
});

test('a stream table holds many streams through growth and deletions in any order (against a Map)', () => {
  const table = new StreamTable<ReturnType<typeof item>>();
  const reference = new Map<string, { fingerprint: number; item: ReturnType<typeof item> }>();
  // A fixed pseudo-random sequence; fingerprints from a small range so probe runs collide and wrap.
  let seed = 12345;
  const next = (bound: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % bound;
  };
  for (let step = 0; step < 20000; step++) {
    const key = String(next(3000));
    const known = reference.get(key);
    if (known === undefined) {
      const fingerprint = next(2) === 0 ? next(64) : next(1 << 30);
      const added = item('t', { pod: key });
      table.add(fingerprint, added);
      reference.set(key, { fingerprint, item: added });
    } else if (next(3) === 0) {
      assert.ok(table.delete(known.fingerprint, known.item), `delete ${key}`);
      reference.delete(key);
    }
  }
  assert.equal(table.size, reference.size);
  for (let key = 0; key < 3000; key++) {
    const known = reference.get(String(key));
    if (known !== undefined) assert.equal(table.get(known.fingerprint, 't', { pod: String(key) }), known.item, `pod ${key}`);
  }
  assert.deepEqual(new Set(table.values()), new Set([...reference.values()].map((entry) => entry.item)));
});

test('sameLabels compares label sets, whatever the order', () => {
  const cases: Array<[Record<string, string>, Record<string, string>, boolean]> = [
    [{}, {}, true],
    [{ a: '1', b: '2' }, { b: '2', a: '1' }, true],
    [{ a: '1' }, { a: '1', b: '2' }, false],
    [{ a: '1', b: '2' }, { a: '1' }, false],
    [{ a: '1' }, { a: '2' }, false],
    [{ a: '' }, { b: '' }, false],
  ];
  for (const [a, b, equal] of cases) assert.equal(sameLabels(a, b), equal, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
});

test('the label interner shares names and low-cardinality values, and copies labels unchanged', () => {
  const interner = new LabelInterner();
  const first = interner.labels({ namespace: 'training', pod: 'p-0' });
  const second = interner.labels({ namespace: ['train', 'ing'].join(''), pod: 'p-1' });
  assert.deepEqual(second, { namespace: 'training', pod: 'p-1' });
  assert.deepEqual(first, { namespace: 'training', pod: 'p-0' });
  // Thousands of distinct pods: still copied right once the name stops being interned.
  for (let i = 0; i < 3000; i++) assert.deepEqual(interner.labels({ namespace: 'training', pod: `p-${i}` }), { namespace: 'training', pod: `p-${i}` });
});
