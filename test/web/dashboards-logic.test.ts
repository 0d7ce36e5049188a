// The dashboard UI's pure logic under Node: Grafana's variable syntax and interval macros, variable
// queries, regex filters and sorts, legends, units, reducers and thresholds, heatmap buckets and the
// grid with folding rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterByRegex, formatDurationS, interpolate, legendName, parseIntervalS, parseVariableQuery, sortValues, type VariableState } from '../../web/src/dashboards/interpolate.ts';
import { formatUnit } from '../../web/src/dashboards/units.ts';
import { alignPanelSeries, heatmapFromBuckets, reduceSeries, stackColumns, stepFor, thresholdColour, trimEmptyBuckets, type PanelSeries } from '../../web/src/dashboards/panel-data.ts';
import { layoutPanels } from '../../web/src/dashboards/grid-layout.ts';
import type { PanelView, VariableView } from '../../web/src/dashboards/dashboard-types.ts';
import { parseExpr as parsePromql } from '../../src/promql/index.ts';
import { parseExpr as parseLogql } from '../../src/logql/index.ts';

function variable(name: string, options: Partial<VariableView> = {}): VariableView {
  return { name, label: name, kind: 'query', datasource: undefined, allValue: undefined, query: '', options: [], multi: false, includeAll: false, current: [], regex: '', sort: 0, hidden: false, ...options };
}

const states = new Map<string, VariableState>([
  ['run_id', { variable: variable('run_id'), options: ['r1', 'r2'], selected: ['r1'] }],
  ['rank', { variable: variable('rank', { multi: true, includeAll: true, allValue: '.*' }), options: ['0', '1', '2'], selected: ['$__all'] }],
  ['host', { variable: variable('host', { multi: true, includeAll: true }), options: ['node-0', 'node.1'], selected: ['$__all'] }],
  ['gpu', { variable: variable('gpu', { multi: true }), options: ['0', '1', '2'], selected: ['0', '2'] }],
  ['model', { variable: variable('model', { multi: true }), options: ['a/b'], selected: ['meta-llama/Llama-3.1-8B'] }],
  ['none', { variable: variable('none', { multi: true }), options: [], selected: [] }],
]);
const macros = { intervalS: 15, rangeS: 3600, fromMs: 1_000_000, toMs: 4_600_000 };

test('interpolation: single, All with and without allValue, multi values, formats and macros', () => {
  const cases: Array<[string, string]> = [
    ['up{run_id="$run_id"}', 'up{run_id="r1"}'],
    ['up{run_id="${run_id}"}', 'up{run_id="r1"}'],
    ['up{run_id="[[run_id]]"}', 'up{run_id="r1"}'],
    ['up{rank=~"$rank"}', 'up{rank=~".*"}'],
    ['up{host=~"$host"}', 'up{host=~"(node-0|node\\\\.1)"}'],
    ['up{gpu=~"$gpu"}', 'up{gpu=~"(0|2)"}'],
    ['up{model_name=~"$model"}', 'up{model_name=~"meta-llama/Llama-3\\\\.1-8B"}'],
    ['up{gpu=~"$none"}', 'up{gpu=~"[^\\\\s\\\\S]"}'],
    ['${gpu:csv} ${gpu:pipe} ${gpu:json} ${host:raw}', '0,2 0|2 ["0","2"] node-0,node.1'],
    ['rate(x[$__rate_interval]) [$__interval] [$__range] $__interval_ms $__range_s [$__auto]', 'rate(x[1m]) [15s] [1h] 15000 3600 [15s]'],
    ['$unknown stays', '$unknown stays'],
  ];
  for (const [input, expected] of cases) assert.equal(interpolate(input, states, macros), expected, input);
  // What the substitutions produce is valid PromQL and LogQL (RE2 regexes: no lookahead).
  for (const name of ['run_id', 'rank', 'host', 'gpu', 'model', 'none']) {
    parsePromql(interpolate(`up{a=~"$${name}"}`, states, macros));
    parseLogql(interpolate(`{job="x", a=~"$${name}"}`, states, macros));
  }
  assert.equal(interpolate('[$__rate_interval]', states, { ...macros, intervalS: 120 }), '[135s]', 'step plus a scrape interval once the step passes 4 scrapes');
  assert.deepEqual([formatDurationS(90), formatDurationS(120), formatDurationS(7200), formatDurationS(0.2)], ['90s', '2m', '2h', '1s']);
  assert.deepEqual([parseIntervalS('15s'), parseIntervalS('>1m'), parseIntervalS('500ms'), parseIntervalS('x')], [15, 60, 0.5, undefined]);
});

test('variable queries, their regex filter and sort', () => {
  assert.deepEqual(parseVariableQuery('label_values(DCGM_FI_DEV_GPU_UTIL{run_id="a,b"}, rank)'), { kind: 'label_values', selector: 'DCGM_FI_DEV_GPU_UTIL{run_id="a,b"}', label: 'rank' });
  assert.deepEqual(parseVariableQuery('label_values(job)'), { kind: 'label_values', selector: undefined, label: 'job' });
  assert.deepEqual(parseVariableQuery('label_names()'), { kind: 'label_names', selector: undefined });
  assert.deepEqual(parseVariableQuery('metrics(vllm:.*)'), { kind: 'metrics', regex: 'vllm:.*' });
  assert.deepEqual(parseVariableQuery('query_result(topk(3, up))'), { kind: 'query_result', expr: 'topk(3, up)' });
  assert.equal(parseVariableQuery('up').kind, 'unknown');
  assert.deepEqual(filterByRegex(['gpu-node-1', 'cpu-node', 'gpu-node-2'], '/gpu-(.*)/'), ['node-1', 'node-2']);
  assert.deepEqual(filterByRegex(['a', 'B'], '/b/i'), ['B']);
  assert.deepEqual(filterByRegex(['a'], ''), ['a']);
  assert.deepEqual(sortValues(['10', '9', '1'], 3), ['1', '9', '10']);
  assert.deepEqual(sortValues(['10', '9', '1'], 1), ['1', '10', '9']);
  assert.deepEqual(sortValues(['demo-1', 'demo-3', 'demo-2'], 2), ['demo-3', 'demo-2', 'demo-1']);
});

test('legends: {{label}} templates, else the series name', () => {
  assert.equal(legendName('rank {{rank}} on {{ host }}', { rank: '3', host: 'n1' }), 'rank 3 on n1');
  assert.equal(legendName('', { __name__: 'up', job: 'x', a: 'b' }), 'up{a="b", job="x"}');
  assert.equal(legendName('', {}), 'value');
  assert.equal(legendName('__auto', { le: '0.5' }), '{le="0.5"}');
});

test('units as Grafana prints them', () => {
  const cases: Array<[number | null, string, string, number?]> = [
    [97.4, 'percent', '97.4%'],
    [0.4375, 'percentunit', '43.8%'],
    [73036, 'decmbytes', '71.3 GiB'],
    [2048, 'bytes', '2 KiB'],
    [91_234_567_890, 'Bps', '85 GiB/s'],
    [0.085, 's', '85 ms'],
    [2.5, 's', '2.5 s'],
    [612.4, 'watt', '612 W'],
    [83, 'celsius', '83 °C'],
    [1234567, 'short', '1.23 M'],
    [3, '', '3'],
    [0.5, 'percent', '0.500%', 3],
    [null, 'percent', '–'],
    [Infinity, 's', '+Inf'],
    [7, 'lux', '7 lux'],
  ];
  for (const [value, unit, expected, decimals] of cases) assert.equal(formatUnit(value, unit, decimals === undefined ? {} : { decimals }), expected, `${value} ${unit}`);
});

test('reducers and threshold colours', () => {
  const values = [null, 3, 1, 4, null];
  assert.deepEqual(
    ['lastNotNull', 'last', 'firstNotNull', 'mean', 'max', 'min', 'sum', 'count', 'range', 'diff'].map((reducer) => reduceSeries(values, reducer)),
    [4, null, 3, 8 / 3, 4, 1, 8, 5, 3, 1],
  );
  assert.equal(reduceSeries([null], 'mean'), null);
  const steps = [
    { value: null, color: 'red' },
    { value: 10, color: 'orange' },
    { value: 50, color: 'green' },
  ];
  assert.deepEqual([thresholdColour(3, steps), thresholdColour(10, steps), thresholdColour(97, steps), thresholdColour(null, steps), thresholdColour(5, [])], ['#f2495c', '#ff9830', '#73bf69', '#f2495c', '#73bf69']);
});

test('histogram buckets become per-bucket heatmap cells, sorted by le with +Inf last', () => {
  const bucket = (le: string, values: number[]): PanelSeries => ({ name: le, labels: { le }, refId: 'A', timesS: [10, 20], values });
  const heatmap = heatmapFromBuckets([bucket('+Inf', [10, 20]), bucket('0.5', [6, 9]), bucket('0.1', [1, 4]), { name: 'x', labels: {}, refId: 'A', timesS: [10], values: [1] }]);
  assert.deepEqual(heatmap.timesS, [10, 20]);
  assert.deepEqual(heatmap.upperBounds, [0.1, 0.5, Infinity]);
  assert.deepEqual(heatmap.counts, [
    [1, 4],
    [5, 5],
    [4, 11],
  ]);
  assert.equal(heatmap.maxCount, 11);
  const sparse = heatmapFromBuckets(['0.1', '0.2', '0.5', '1', '2', '5', '+Inf'].map((le, index) => bucket(le, index < 2 ? [0, 0] : index === 2 ? [3, 6] : [5, 9])));
  assert.deepEqual(trimEmptyBuckets(sparse).upperBounds, [0.2, 0.5, 1, 2], 'one empty bucket kept below the first used and above the last');
});

test('series share one x array with gaps where a series has no point; stacking adds each on the ones before', () => {
  const one = (refId: string, timesS: number[], values: Array<number | null>): PanelSeries => ({ name: refId, labels: {}, refId, timesS, values });
  const aligned = alignPanelSeries([one('a', [10, 20, 30], [1, 2, 3]), one('b', [20, 40], [5, Infinity]), one('c', [10, 20, 30], [1, null, 1])]);
  assert.deepEqual(aligned, [
    [10, 20, 30, 40],
    [1, 2, 3, null],
    [null, 5, null, null],
    [1, null, 1, null],
  ]);
  assert.deepEqual(stackColumns(aligned), [
    [10, 20, 30, 40],
    [1, 2, 3, null],
    [null, 7, null, null],
    [2, null, 4, null],
  ]);
});

test('steps: about one point per 25 px, rounded, never under the min interval', () => {
  assert.equal(stepFor(3600, 24, 0), 10);
  assert.equal(stepFor(3600, 8, 0), 30);
  assert.equal(stepFor(300, 12, 0), 1);
  assert.equal(stepFor(300, 12, 30), 30);
  assert.equal(stepFor(7 * 86_400, 24, 0), 1800);
});

function panel(id: number, y: number, h = 4, x = 0): PanelView {
  return { id, kind: 'stat', type: 'stat', title: `p${id}`, description: '', gridPos: { x, y, w: 12, h }, targets: [], display: { unit: '', min: undefined, max: undefined, decimals: undefined, thresholds: [], reducer: 'lastNotNull', orientation: 'auto', stacked: false }, problems: [] };
}
function row(id: number, y: number, collapsed: boolean, panels: PanelView[] = []): PanelView {
  return { id, kind: 'row', type: 'row', title: `r${id}`, description: '', gridPos: { x: 0, y, w: 24, h: 1 }, collapsed, panels };
}

test('grid: unfolded rows move what follows; folding one closes its gap; a saved-folded row opens in place', () => {
  const panels = [row(1, 0, false), panel(2, 1), panel(3, 1, 6, 12), row(4, 7, true, [panel(5, 8, 5)]), panel(6, 8)];
  const positions = (collapsed: Map<number, boolean>) => layoutPanels(panels, collapsed).map((placed) => `${placed.panel.id}@${placed.y}`);
  assert.deepEqual(positions(new Map()), ['1@0', '2@1', '3@1', '4@7', '6@8']);
  assert.deepEqual(positions(new Map([[1, true]])), ['1@0', '4@1', '6@2'], 'row 1 folded: its 6 rows of panels are gone');
  assert.deepEqual(positions(new Map([[4, false]])), ['1@0', '2@1', '3@1', '4@7', '5@8', '6@13'], 'row 4 unfolded: panel 6 moves down by 5');
});
