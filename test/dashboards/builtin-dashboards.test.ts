// The built-in dashboards are Grafana JSON we can read ourselves: every panel is in the subset,
// every query parses as PromQL or LogQL once its variables have values, panels do not overlap on
// the grid, and the export is an importable document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinDashboards } from '../../src/dashboards/builtin-dashboards.ts';
import { checkGrafanaDashboard, dashboardView } from '../../src/dashboards/grafana-import.ts';
import { exportGrafanaDashboard } from '../../src/dashboards/grafana-export.ts';
import type { PanelView } from '../../src/dashboards/dashboard-model.ts';
import { parseExpr as parsePromql } from '../../src/promql/index.ts';
import { parseExpr as parseLogql } from '../../src/logql/index.ts';

/** Values as the UI substitutes them: a selected value, All as `.*`, and the interval macros. */
const SAMPLE_VALUES: Record<string, string> = {
  run_id: 'demo-20261206-1',
  rank: '.*',
  host: '(node-0|node-1)',
  model_name: '.*',
  log_selector: '{job=~".*vllm.*"}',
  __rate_interval: '1m',
  __interval: '15s',
  __range: '1h',
};

function interpolate(expr: string): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => SAMPLE_VALUES[name] ?? whole);
}

function flatten(panels: PanelView[]): PanelView[] {
  return panels.flatMap((panel) => (panel.kind === 'row' ? [panel, ...panel.panels] : [panel]));
}

const dashboards = builtinDashboards();

test('three built-ins: Training run, Inference (vLLM), Cluster', () => {
  assert.deepEqual(
    dashboards.map((json) => [json.uid, json.title]),
    [
      ['rankscope-training-run', 'Training run'],
      ['rankscope-inference', 'Inference (vLLM)'],
      ['rankscope-cluster', 'Cluster'],
    ],
  );
});

for (const json of dashboards) {
  test(`${String(json.title)}: every panel is drawable and every query parses`, () => {
    const view = dashboardView(checkGrafanaDashboard(json));
    const panels = flatten(view.panels);
    assert.ok(panels.length >= 10, `${panels.length} panels`);
    for (const panel of panels) {
      if (panel.kind === 'row') continue;
      assert.notEqual(panel.kind, 'unsupported', panel.title);
      assert.ok(panel.kind !== 'unsupported' && panel.problems.length === 0 && panel.targets.length > 0, `${panel.title}: ${panel.kind !== 'unsupported' ? panel.problems.join('; ') : ''}`);
      for (const target of panel.targets) {
        const text = interpolate(target.expr);
        assert.doesNotMatch(text, /\$/, `${panel.title}: every variable has a value in ${text}`);
        try {
          if (target.datasource === 'prometheus') parsePromql(text);
          else parseLogql(text);
        } catch (error) {
          assert.fail(`${panel.title} (${target.datasource}): ${(error as Error).message}\n${text}`);
        }
      }
    }
    for (const variable of view.variables) {
      if (variable.kind !== 'query') continue;
      const inner = /^label_values\((.*),\s*(\w+)\)$/.exec(variable.query);
      assert.ok(inner, `${variable.name}: label_values(selector, label)`);
      parsePromql(interpolate(inner[1]!));
    }
  });

  test(`${String(json.title)}: panels sit inside the 24-column grid without overlapping`, () => {
    const cells = new Map<string, string>();
    for (const panel of flatten(dashboardView(json).panels)) {
      const { x, y, w, h } = panel.gridPos;
      assert.ok(x + w <= 24, `${panel.title} ends at column ${x + w}`);
      for (let row = y; row < y + h; row++) {
        for (let column = x; column < x + w; column++) {
          const key = `${column},${row}`;
          assert.equal(cells.get(key), undefined, `${panel.title} overlaps ${cells.get(key)} at ${key}`);
          cells.set(key, panel.title);
        }
      }
    }
  });
}

test('a built-in exports as an importable dashboard with its data sources as template variables', () => {
  for (const json of builtinDashboards()) {
    const exported = exportGrafanaDashboard(json);
    assert.deepEqual({ ...exported, id: undefined }, { ...json, id: undefined });
    const view = dashboardView(checkGrafanaDashboard(exported));
    assert.deepEqual(
      view.variables.filter((variable) => variable.kind === 'datasource').map((variable) => [variable.name, variable.datasource]),
      [
        ['datasource', 'prometheus'],
        ['loki', 'loki'],
      ],
    );
    assert.equal(exported.schemaVersion, 39);
  }
});
