import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultStepMs,
  parseBounds,
  parseDirection,
  parseInterval,
  parseLimit,
  parseStep,
  parseTimestampNs,
  RequestParams,
} from '../../src/server/query-params.ts';

const params = (query: string) => RequestParams.from(`/x?${query}`);

test('timestamps: ≤10 digits are seconds, longer are ns, floats are seconds, else RFC3339', () => {
  const cases: Array<[string, bigint]> = [
    ['4000000000', 4_000_000_000_000_000_000n],
    ['1795254601919000000', 1_795_254_601_919_000_000n],
    ['1700000000.5', 1_700_000_000_500_000_000n],
    ['2026-11-21T10:35:01.919Z', 1_795_257_301_919_000_000n],
    ['2026-11-21T10:35:01.000000007+00:00', 1_795_257_301_000_000_007n],
  ];
  for (const [text, ns] of cases) assert.equal(parseTimestampNs(text, 'start', 0n), ns, text);
  assert.equal(parseTimestampNs(undefined, 'start', 42n), 42n);
  assert.throws(() => parseTimestampNs('yesterday', 'start', 0n), /could not parse 'start' parameter: cannot parse "yesterday" to a valid timestamp/);
});

test('bounds: end defaults to now and start to end − since; end before start is rejected', () => {
  const bounds = parseBounds(params('end=1700000000&since=2h'));
  assert.equal(bounds.endNs, 1_700_000_000_000_000_000n);
  assert.equal(bounds.startNs, 1_700_000_000_000_000_000n - 7_200_000_000_000n);
  assert.throws(() => parseBounds(params('start=20&end=10')), /end timestamp must not be before or equal to start time/);
  assert.throws(() => parseBounds(params('since=yesterday')), /could not parse 'since' parameter/);
});

test('limit, direction, step and interval parse and fail with Loki messages', () => {
  assert.equal(parseLimit(params('')), 100);
  assert.equal(parseLimit(params('limit=1000')), 1000);
  assert.throws(() => parseLimit(params('limit=x')), /strconv.Atoi: parsing "x": invalid syntax/);
  assert.throws(() => parseLimit(params('limit=-1')), /limit must be a positive value/);
  assert.equal(parseDirection(params('')), 'backward');
  assert.equal(parseDirection(params('direction=FORWARD')), 'forward');
  assert.throws(() => parseDirection(params('direction=up')), /invalid direction 'up'/);
  const hour = { startNs: 0n, endNs: 3_600_000_000_000n };
  assert.equal(defaultStepMs(hour), 14_000);
  assert.equal(defaultStepMs({ startNs: 0n, endNs: 60_000_000_000n }), 1000);
  assert.equal(parseStep(params('step=2000ms'), hour), 2000);
  assert.equal(parseStep(params('step=15'), hour), 15_000);
  assert.equal(parseStep(params('step=0.5'), hour), 500);
  assert.equal(parseStep(params('step=1m30s'), hour), 90_000);
  assert.throws(() => parseStep(params('step=0'), hour), /zero or negative query resolution step widths are not accepted/);
  assert.throws(() => parseStep(params('step=1ms'), { startNs: 0n, endNs: 3_600_000_000_000_000n }), /exceeded maximum resolution of 11,000 points/);
  assert.throws(() => parseStep(params('step=fast'), hour), /invalid step value/);
  assert.equal(parseInterval(params('interval=5s')), 5000);
  assert.throws(() => parseInterval(params('interval=-1')), /interval must be >= 0/);
});

test('POST form bodies add to URL parameters; repeated keys keep every value', () => {
  const merged = RequestParams.from('/x?match[]=%7Ba%3D%22b%22%7D', 'match[]=%7Bc%3D%22d%22%7D&query=x+y');
  assert.deepEqual(merged.getAll('match[]'), ['{a="b"}', '{c="d"}']);
  assert.equal(merged.get('query'), 'x y');
});
