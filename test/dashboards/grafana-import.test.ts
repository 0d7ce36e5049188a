// Reading Grafana dashboard JSON: what each panel becomes (a type outside the subset stays, as
// unsupported), how data sources and template variables resolve, errors that name the JSON path,
// and an import → export round trip that keeps every field we do not model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkGrafanaDashboard, dashboardView, DashboardError, type JsonObject } from '../../src/dashboards/grafana-import.ts';
import { exportFileName, exportGrafanaDashboard } from '../../src/dashboards/grafana-export.ts';
import type { PanelView } from '../../src/dashboards/dashboard-model.ts';

const fixtureText = readFileSync(new URL('./fixtures/grafana-gpu-nodes.json', import.meta.url), 'utf8');
const fixture = (): JsonObject => JSON.parse(fixtureText) as JsonObject;

function flatten(panels: PanelView[]): PanelView[] {
  return panels.flatMap((panel) => (panel.kind === 'row' ? [panel, ...panel.panels] : [panel]));
}

test('each panel of a Grafana dashboard becomes a kind we draw, or unsupported in its place', () => {
  const view = dashboardView(checkGrafanaDashboard(fixture()));
  const kinds = flatten(view.panels).map((panel) => [panel.id, panel.type, panel.kind, panel.title]);
  assert.deepEqual(kinds, [
    [100, 'row', 'row', 'Utilization'],
    [2, 'timeseries', 'timeseries', 'GPU utilization'],
    [3, 'graph', 'timeseries', 'Power draw (old graph panel)'],
    [4, 'gauge', 'gauge', 'Hottest GPU'],
    [5, 'stat', 'stat', 'Frame buffer used'],
    [6, 'bargauge', 'bargauge', 'SM activity'],
    [7, 'piechart', 'unsupported', 'GPU models'],
    [101, 'row', 'row', 'Errors and latency'],
    [8, 'table', 'table', 'XID errors'],
    [9, 'heatmap', 'heatmap', 'Request latency'],
    [10, 'text', 'unsupported', 'Notes'],
    [11, 'logs', 'logs', 'Kernel XID lines'],
  ]);
  const byId = new Map(flatten(view.panels).map((panel) => [panel.id, panel]));
  const collapsed = byId.get(101)!;
  assert.ok(collapsed.kind === 'row' && collapsed.collapsed && collapsed.panels.length === 3, 'a collapsed row keeps its panels');
  assert.deepEqual(byId.get(7)!.gridPos, { x: 18, y: 9, w: 6, h: 6 }, 'the unsupported panel keeps its place');

  const utilization = byId.get(2)!;
  assert.ok(utilization.kind === 'timeseries');
  assert.deepEqual(utilization.targets, [{ refId: 'A', datasource: 'prometheus', expr: 'DCGM_FI_DEV_GPU_UTIL{Hostname=~"$host"}', legendFormat: '{{Hostname}} gpu {{gpu}}', instant: false, format: 'time_series', interval: '' }], 'the hidden target B is left out');
  assert.deepEqual([utilization.display.unit, utilization.display.min, utilization.display.max], ['percent', 0, 100]);

  const graph = byId.get(3)!;
  assert.ok(graph.kind === 'timeseries');
  assert.equal(graph.display.unit, 'watt', 'the old graph panel keeps its unit in yaxes');
  assert.equal(graph.targets[0]!.datasource, 'prometheus', '"${DS_PROMETHEUS}" resolves through __inputs');

  const gauge = byId.get(4)!;
  assert.ok(gauge.kind === 'gauge');
  assert.deepEqual(gauge.display.thresholds, [
    { value: null, color: 'green' },
    { value: 80, color: '#EAB839' },
    { value: 87, color: 'red' },
  ]);
  assert.equal(gauge.display.reducer, 'max');
  assert.equal(gauge.targets[0]!.instant, true);

  const heatmap = byId.get(9)!;
  assert.ok(heatmap.kind === 'heatmap' && heatmap.targets[0]!.format === 'heatmap');

  const logs = byId.get(11)!;
  assert.ok(logs.kind === 'logs');
  assert.deepEqual(
    logs.targets.map((target) => [target.refId, target.datasource]),
    [['A', 'loki']],
  );
  assert.deepEqual(logs.problems, ['query B: data source type "influxdb" is not supported here (prometheus and loki are)'], 'a query we cannot run is said, not dropped');
});

test('template variables: data source, label_values query (Prometheus and Loki editor forms), custom; ad hoc filters are not templated', () => {
  const view = dashboardView(fixture());
  assert.deepEqual(
    view.variables.map((variable) => [variable.name, variable.kind, variable.datasource, variable.query, variable.hidden]),
    [
      ['ds', 'datasource', 'prometheus', 'prometheus', true],
      ['host', 'query', 'prometheus', 'label_values(DCGM_FI_DEV_GPU_UTIL, Hostname)', false],
      ['window', 'custom', undefined, '5m,15m,1h', false],
      ['log_host', 'query', 'loki', 'label_values({job="kernel"}, host)', false],
    ],
  );
  const host = view.variables[1]!;
  assert.deepEqual([host.label, host.multi, host.includeAll, host.allValue, host.current, host.sort], ['Host', true, true, '.*', ['$__all'], 1]);
  assert.deepEqual(view.variables[2]!.options, ['5m', '15m', '1h']);
  assert.deepEqual(view.variables[2]!.current, ['5m']);
  assert.deepEqual([view.uid, view.title, view.refresh, view.time, view.tags], ['gpu-nodes-7f3a', 'GPU nodes', '1m', { from: 'now-3h', to: 'now' }, ['gpu', 'dcgm']]);
});

test('import then export round-trips the document: unknown fields stay, only the instance id is cleared', () => {
  const original = fixture();
  const exported = exportGrafanaDashboard(checkGrafanaDashboard(fixture()));
  assert.equal(exported.id, null);
  assert.deepEqual({ ...exported, id: original.id }, original);
  assert.deepEqual(exported.__inputs, original.__inputs);
  assert.deepEqual((exported.panels as JsonObject[])[1]!.fieldConfig, (original.panels as JsonObject[])[1]!.fieldConfig, 'overrides survive');
  // Exporting again changes nothing: the export is itself an importable dashboard.
  assert.deepEqual(exportGrafanaDashboard(checkGrafanaDashboard(structuredClone(exported))), exported);
  assert.equal(exportFileName(original), 'gpu-nodes.json');
  assert.equal(exportFileName({ title: '  Ünïcode / only  ' }), 'n-code-only.json');
});

test('dashboards before schema 16 (rows[].panels with spans) are laid out on the grid', () => {
  const view = dashboardView({
    title: 'old',
    rows: [{ height: '250px', panels: [{ id: 1, type: 'graph', span: 6, targets: [{ expr: 'up', refId: 'A' }] }, { id: 2, type: 'singlestat', span: 6, datasource: 'Loki', targets: [{ expr: 'count_over_time({a="b"}[1m])', refId: 'A' }] }] }],
  });
  assert.deepEqual(
    view.panels.map((panel) => [panel.kind, panel.gridPos.w]),
    [
      ['timeseries', 12],
      ['stat', 12],
    ],
  );
  const single = view.panels[1]!;
  assert.ok(single.kind === 'stat' && single.targets[0]!.datasource === 'loki', 'a data source named Loki is Loki');
});

test('Grafana 6.x–7.0 panels keep unit, min, max, thresholds and reducer in options.fieldOptions', () => {
  const view = dashboardView({
    title: 'old gauge',
    panels: [
      {
        id: 1,
        type: 'gauge',
        gridPos: { x: 0, y: 0, w: 6, h: 8 },
        options: { fieldOptions: { calcs: ['sum'], defaults: { unit: 'watt', min: 0, max: 2400, thresholds: { steps: [{ color: 'green', value: null }, { color: 'red', value: 2200 }] } } } },
        targets: [{ expr: 'sum(DCGM_FI_DEV_POWER_USAGE)', refId: 'A' }],
      },
    ],
  });
  const gauge = view.panels[0]!;
  assert.ok(gauge.kind === 'gauge');
  assert.deepEqual([gauge.display.unit, gauge.display.min, gauge.display.max, gauge.display.reducer, gauge.display.thresholds.length], ['watt', 0, 2400, 'sum', 2]);
});

test('a dashboard we cannot read is refused with the JSON path of the problem', () => {
  const cases: Array<[input: unknown, message: RegExp]> = [
    [[], /^a dashboard is a JSON object$/],
    [{ panels: [] }, /^title: a dashboard needs a non-empty title$/],
    [{ title: 'x', uid: 'has space' }, /^uid: "has space" is not a uid/],
    [{ title: 'x', uid: 'a'.repeat(41) }, /^uid: /],
    [{ title: 'x', panels: {} }, /^panels: expected an array$/],
    [{ title: 'x', panels: [{ title: 'no type' }] }, /^panels\[0\]\.type: a panel needs a type/],
    [{ title: 'x', panels: [{ type: 'stat', gridPos: { x: 0, y: 0, w: 30, h: 4 } }] }, /^panels\[0\]\.gridPos\.w: expected a whole number from 1 to 24, got 30$/],
    [{ title: 'x', panels: [{ type: 'stat', targets: ['up'] }] }, /^panels\[0\]\.targets\[0\]: a target is an object$/],
    [{ title: 'x', panels: [{ type: 'stat', targets: [{ expr: 5 }] }] }, /^panels\[0\]\.targets\[0\]\.expr: expected a string/],
    [{ title: 'x', panels: [{ type: 'row', panels: [{ type: 'row' }] }] }, /^panels\[0\]\.panels\[0\]: a row cannot sit inside another row$/],
    [{ title: 'x', templating: { list: [{ name: 'bad-name', type: 'query' }] } }, /^templating\.list\[0\]\.name: a variable needs a name/],
    [{ title: 'x', rows: [{ panels: [{ type: 'graph', title: 7 }] }] }, /^rows\[0\]\.panels\[0\]\.title: expected a string/],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => checkGrafanaDashboard(input),
      (error: unknown) => error instanceof DashboardError && message.test(error.message),
      JSON.stringify(input),
    );
  }
});

test('a query without an expression is a panel problem, not a failure of the dashboard', () => {
  const view = dashboardView({ title: 'x', panels: [{ type: 'stat', id: 1, targets: [{ refId: 'A' }] }] });
  const panel = view.panels[0]!;
  assert.ok(panel.kind === 'stat');
  assert.deepEqual(panel.problems, ['query A has no expression']);
});
