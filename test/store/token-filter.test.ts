import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnsFromEntries } from '../../src/store/block.ts';
import { buildTokenFilter, decodeTokenFilter, encodeTokenFilter, mayContain, unfilteredTokenFilter, type TokenFilter } from '../../src/store/token-filter.ts';

function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

// A small alphabet so random literals often do occur, plus separators, non-ASCII and the two
// characters Unicode folds onto ASCII letters (KELVIN SIGN, LONG S).
const ALPHABET = ['a', 'b', 'c', 'A', 'B', 'C', 's', 'k', '1', '2', ' ', '=', '-', '_', '.', ':', '\n', 'é', 'É', 'ß', '日'];
const RARE = ['\u212a', '\u017f'];

function randomText(random: () => number, length: number, allowRare: boolean): string {
  let text = '';
  for (let i = 0; i < length; i++) {
    text += allowRare && random() < 0.01 ? RARE[Math.floor(random() * RARE.length)]! : ALPHABET[Math.floor(random() * ALPHABET.length)]!;
  }
  return text;
}

function filterFor(lines: string[]): TokenFilter {
  const columns = columnsFromEntries(lines.map((line, i) => ({ timestampNs: BigInt(i), line })));
  // Round-trip through the serialized form, as the part index stores it.
  return decodeTokenFilter(encodeTokenFilter(buildTokenFilter(columns.lines, columns.lineEnds)));
}

function containsIgnoringCase(lines: string[], literal: string): boolean {
  const pattern = new RegExp(literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'iu');
  return lines.some((line) => pattern.test(line));
}

test('token filter never gives a false negative (randomized, case-sensitive and insensitive)', () => {
  const random = seededRandom(42);
  let prunedChecks = 0;
  for (let round = 0; round < 60; round++) {
    const allowRare = round % 3 === 0;
    const lines = Array.from({ length: 1 + Math.floor(random() * 40) }, () => randomText(random, Math.floor(random() * 60), allowRare));
    const filter = filterFor(lines);
    for (let probe = 0; probe < 200; probe++) {
      let literal: string;
      if (probe % 2 === 0) {
        // A substring of a real line, sometimes with its case flipped.
        const line = lines[Math.floor(random() * lines.length)]!;
        const start = Math.floor(random() * (line.length + 1));
        literal = line.slice(start, start + 1 + Math.floor(random() * 12));
        if (random() < 0.5) literal = random() < 0.5 ? literal.toUpperCase() : literal.toLowerCase();
      } else {
        literal = randomText(random, 1 + Math.floor(random() * 8), allowRare);
      }
      if (literal === '') continue;
      const bytes = Buffer.from(literal, 'utf8');
      const caseSensitivePresent = lines.some((line) => line.includes(literal));
      const insensitivePresent = containsIgnoringCase(lines, literal);
      if (caseSensitivePresent) assert.ok(mayContain(filter, bytes, false), `false negative for ${JSON.stringify(literal)} in ${JSON.stringify(lines)}`);
      if (insensitivePresent) assert.ok(mayContain(filter, bytes, true), `case-insensitive false negative for ${JSON.stringify(literal)} in ${JSON.stringify(lines)}`);
      if (!mayContain(filter, bytes, true)) prunedChecks++;
    }
  }
  // The test is only meaningful if the filter also prunes.
  assert.ok(prunedChecks > 100, `filter pruned only ${prunedChecks} probes`);
});

test('token filter prunes needles absent from realistic training logs', () => {
  const lines: string[] = [];
  for (let i = 0; i < 5000; i++) {
    lines.push(`2025-11-21 10:00:${String(i % 60).padStart(2, '0')} INFO [rank${i % 8}] step=${i} loss=${(2 - i / 5000).toFixed(4)} lr=3e-05 throughput=${1200 + (i % 37)} tokens/s`);
  }
  const filter = filterFor(lines);
  for (const present of ['loss=', 'rank7', 'INFO', 'tokens/s', 'LOSS', ' step=4999 ', 'throughput']) {
    assert.ok(mayContain(filter, Buffer.from(present), true), present);
  }
  for (const absent of ['Traceback', 'NCCL', 'CUDA out of memory', 'ChildFailedError', 'watchdog']) {
    assert.equal(mayContain(filter, Buffer.from(absent), false), false, `should prune ${absent}`);
    assert.equal(mayContain(filter, Buffer.from(absent.toLowerCase()), true), false, `should prune ${absent} (case-insensitive)`);
  }
  // "ss=" is a substring of "loss=" even though no token is "ss": trigram "lss" is absent, but the
  // literal's trigrams are only its own: must not be pruned.
  assert.ok(mayContain(filter, Buffer.from('ss='), false));
});

test('the whole-token bloom prunes literals whose inner tokens never occur as whole tokens', () => {
  // "rank" occurs only inside "rank7"-style tokens, so " rank " bounded by spaces is not a token of
  // these lines; trigrams alone could not tell.
  const lines = Array.from({ length: 2000 }, (_, i) => `[rank${i % 8}] heartbeat ok status=${i % 3 === 0 ? 'idle' : 'busy'} worker-${i % 16}`);
  const filter = filterFor(lines);
  assert.equal(mayContain(filter, Buffer.from(' rank '), false), false);
  assert.ok(mayContain(filter, Buffer.from(' heartbeat ok '), false));
  assert.ok(mayContain(filter, Buffer.from('status=idle w'), true));
});

test('blocks too small to filter carry a 2-byte marker that never prunes', () => {
  const encoded = encodeTokenFilter(unfilteredTokenFilter());
  assert.equal(encoded.length, 2);
  const decoded = decodeTokenFilter(encoded);
  for (const literal of ['anything', 'NCCL watchdog', 'x']) assert.ok(mayContain(decoded, Buffer.from(literal), false) && mayContain(decoded, Buffer.from(literal), true));
});
