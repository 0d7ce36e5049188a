// `helm template` for our own chart, on the project's Go-template engine: the chart's files are read
// (Chart.yaml, values.yaml, templates/), user value files are merged over the chart's values as Helm
// merges them (maps recursively, a null deletes a key), every template and partial is parsed into one
// set so `include` reaches any `define`, and each manifest file runs with Helm's top-level object
// (.Values, .Release, .Chart, .Capabilities, .Template). The result is the rendered text per file and
// the Kubernetes objects parsed out of it. Neither helm nor an API server runs here, so this is what
// the chart's tests render and validate.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parse as yamlParse, parseAllDocuments } from 'yaml';
import { Template, TemplateError } from '../gotemplate/template.ts';
import { isPlainMap, toGoValue, type GoValue } from '../gotemplate/value.ts';
import { ChartRenderError, helmFunctions } from './functions.ts';

export { ChartRenderError };

export interface Chart {
  dir: string;
  metadata: Record<string, unknown>;
  values: Record<string, unknown>;
  /** Path under templates/ (with `/`) → source. */
  templates: Map<string, string>;
}

export interface ReleaseOptions {
  name: string;
  namespace: string;
  /** Value files' contents (already parsed), merged in order over the chart's values.yaml. */
  valueOverrides?: Record<string, unknown>[];
  kubeVersion?: string;
  /** API groups/versions the target cluster serves (`.Capabilities.APIVersions`). */
  apiVersions?: string[];
}

export interface RenderedObject {
  /** The template file that produced it, `templates/…`. */
  template: string;
  object: Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };
}

export interface RenderedChart {
  /** Template path → rendered text, for every non-partial template (NOTES.txt included). */
  files: Map<string, string>;
  objects: RenderedObject[];
  values: Record<string, unknown>;
}

function readTemplates(dir: string, root: string, into: Map<string, string>): void {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) readTemplates(path, root, into);
    else if (/\.(ya?ml|tpl|txt)$/.test(name)) into.set(relative(root, path).split(sep).join('/'), readFileSync(path, 'utf8'));
  }
}

export function loadChart(dir: string): Chart {
  const metadata = yamlParse(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  if (metadata?.apiVersion !== 'v2' || typeof metadata.name !== 'string' || typeof metadata.version !== 'string') {
    throw new ChartRenderError(`${join(dir, 'Chart.yaml')}: a v2 chart needs apiVersion: v2, name and version`);
  }
  const values = (yamlParse(readFileSync(join(dir, 'values.yaml'), 'utf8')) ?? {}) as Record<string, unknown>;
  const templates = new Map<string, string>();
  readTemplates(join(dir, 'templates'), dir, templates);
  return { dir, metadata, values, templates };
}

/** Helm's coalescing of values: maps merge key by key, a user's null removes the chart's key. */
export function mergeValues(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete out[key];
    else if (isObject(value) && isObject(out[key])) out[key] = mergeValues(out[key], value);
    else out[key] = value;
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Chart.yaml's fields as Helm exposes them under .Chart (Name, Version, AppVersion, …). */
function chartObject(metadata: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) out[key.charAt(0).toUpperCase() + key.slice(1)] = value;
  return out;
}

export function renderChart(chart: Chart, release: ReleaseOptions): RenderedChart {
  const values = (release.valueOverrides ?? []).reduce(mergeValues, chart.values);
  const chartName = chart.metadata.name as string;
  const kubeVersion = release.kubeVersion ?? 'v1.30.0';
  const [major, minor] = kubeVersion.replace(/^v/, '').split('.');
  const top = {
    Values: values,
    Release: { Name: release.name, Namespace: release.namespace, Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Chart: chartObject(chart.metadata),
    Capabilities: {
      KubeVersion: { Version: kubeVersion, Major: major, Minor: minor },
      APIVersions: release.apiVersions ?? ['v1', 'apps/v1', 'rbac.authorization.k8s.io/v1', 'networking.k8s.io/v1', 'policy/v1'],
      HelmVersion: { Version: 'v3.16.0' },
    },
  };

  // One set holds every file, partials included, so any `define` is reachable from any file.
  const functions = helmFunctions();
  const names = [...chart.templates.keys()];
  const set = new Template(`${chartName}/${names[0] ?? 'empty'}`, chart.templates.get(names[0]!) ?? '', { functions });
  for (const name of names.slice(1)) set.addSource(`${chartName}/${name}`, chart.templates.get(name)!);

  const files = new Map<string, string>();
  const objects: RenderedObject[] = [];
  for (const name of names) {
    const base = name.split('/').pop()!;
    if (base.startsWith('_')) continue;
    const dot = toGoValue({ ...top, Template: { Name: `${chartName}/${name}`, BasePath: `${chartName}/templates` } }) as GoValue;
    let text: string;
    try {
      text = set.executeTemplate(`${chartName}/${name}`, dot);
    } catch (error) {
      if (error instanceof TemplateError || error instanceof ChartRenderError) throw new ChartRenderError(`${chartName}/${name}: ${error.message}`);
      throw error;
    }
    // Helm's missingkey=zero prints a missing value as "<no value>" and then removes it.
    text = text.replaceAll('<no value>', '');
    files.set(name, text);
    if (!/\.ya?ml$/.test(name)) continue;
    for (const document of parseAllDocuments(text)) {
      if (document.errors.length > 0) throw new ChartRenderError(`${chartName}/${name}: rendered YAML does not parse: ${document.errors[0]!.message}`);
      const object = document.toJS() as unknown;
      if (object === null || object === undefined) continue;
      if (!isPlainMap(object as GoValue) || typeof (object as { kind?: unknown }).kind !== 'string' || typeof (object as { apiVersion?: unknown }).apiVersion !== 'string') {
        throw new ChartRenderError(`${chartName}/${name}: a rendered document is not a Kubernetes object (no apiVersion/kind)`);
      }
      objects.push({ template: name, object: object as RenderedObject['object'] });
    }
  }
  return { files, objects, values };
}
