// Dashboards per tenant as Grafana JSON files: <dataDir>/dashboards/<tenant>/<uid>.json, one document
// each, exactly what an export returns (so the directory also works as a Grafana provisioning path).
// A save writes a temporary file, fsyncs it, renames it over the old one and fsyncs the directory:
// an acknowledged save survives a crash, and a crash mid-save leaves the previous version.
// The built-ins (builtin-dashboards.ts) are listed for every tenant and cannot be replaced or deleted.

import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DashboardSummary } from './dashboard-model.ts';
import { BUILTIN_UID_PREFIX, builtinDashboards } from './builtin-dashboards.ts';
import { checkGrafanaDashboard, dashboardView, DashboardError, type JsonObject } from './grafana-import.ts';

/** Why a store operation was refused; the HTTP layer maps each to a status. */
export type DashboardRefusal = 'not_found' | 'exists' | 'read_only';

export class DashboardStoreError extends Error {
  readonly reason: DashboardRefusal;
  constructor(reason: DashboardRefusal, message: string) {
    super(message);
    this.name = 'DashboardStoreError';
    this.reason = reason;
  }
}

export interface StoredDashboard {
  json: JsonObject;
  builtIn: boolean;
  /** When it was last saved; undefined for built-ins. */
  updatedMs: number | undefined;
}

export interface DashboardStoreOptions {
  dataDir: string;
  /** Told about a stored file that cannot be read (it is left out of the list, not deleted). */
  onUnreadable?: (path: string, error: Error) => void;
}

/** Bounds a stored document, as the request body limit bounds what can be posted. */
const MAX_DASHBOARD_BYTES = 8 * 1024 * 1024;

export class DashboardStore {
  private readonly rootDir: string;
  private readonly onUnreadable: (path: string, error: Error) => void;
  private readonly builtins = new Map<string, JsonObject>(builtinDashboards().map((json) => [String(json.uid), json]));
  /** tenant → uid → stored dashboard, loaded from disk on the tenant's first request. */
  private readonly tenants = new Map<string, Map<string, StoredDashboard>>();

  constructor(options: DashboardStoreOptions) {
    this.rootDir = join(options.dataDir, 'dashboards');
    this.onUnreadable = options.onUnreadable ?? (() => undefined);
  }

  list(tenant: string): DashboardSummary[] {
    const summaries: DashboardSummary[] = [];
    for (const json of this.builtins.values()) summaries.push(summary(json, true, undefined));
    for (const stored of this.loadTenant(tenant).values()) summaries.push(summary(stored.json, false, stored.updatedMs));
    return summaries.sort((a, b) => Number(b.builtIn) - Number(a.builtIn) || a.title.localeCompare(b.title));
  }

  get(tenant: string, uid: string): StoredDashboard {
    const builtin = this.builtins.get(uid);
    if (builtin !== undefined) return { json: structuredClone(builtin), builtIn: true, updatedMs: undefined };
    const stored = this.loadTenant(tenant).get(uid);
    if (stored === undefined) throw new DashboardStoreError('not_found', `dashboard ${JSON.stringify(uid)} not found`);
    return { json: structuredClone(stored.json), builtIn: false, updatedMs: stored.updatedMs };
  }

  /**
   * Stores a dashboard (checked first: a DashboardError names what is wrong). Without a uid one is
   * made up; an existing uid is replaced only with `overwrite`. The version goes up by one per save.
   */
  save(tenant: string, input: unknown, options: { overwrite: boolean }): StoredDashboard {
    const json = structuredClone(checkGrafanaDashboard(input));
    if (typeof json.uid !== 'string' || json.uid === '') json.uid = newUid();
    const uid = json.uid as string;
    if (this.builtins.has(uid) || uid.startsWith(BUILTIN_UID_PREFIX)) {
      throw new DashboardStoreError('read_only', `uid ${JSON.stringify(uid)} belongs to a built-in dashboard, which cannot be replaced: import it under another uid (or none, to get a new one)`);
    }
    const dashboards = this.loadTenant(tenant);
    const previous = dashboards.get(uid);
    if (previous !== undefined && !options.overwrite) throw new DashboardStoreError('exists', `a dashboard with uid ${JSON.stringify(uid)} exists already ("${String(previous.json.title)}"): set overwrite to replace it`);
    json.id = null;
    json.version = (typeof previous?.json.version === 'number' ? previous.json.version : 0) + 1;
    const text = `${JSON.stringify(json, null, 2)}\n`;
    if (Buffer.byteLength(text) > MAX_DASHBOARD_BYTES) throw new DashboardError('', `the dashboard is larger than ${MAX_DASHBOARD_BYTES} bytes`);
    const dir = this.tenantDir(tenant);
    mkdirSync(dir, { recursive: true });
    writeDurably(dir, `${uid}.json`, text);
    const stored: StoredDashboard = { json, builtIn: false, updatedMs: Date.now() };
    dashboards.set(uid, stored);
    return { ...stored, json: structuredClone(json) };
  }

  delete(tenant: string, uid: string): void {
    if (this.builtins.has(uid)) throw new DashboardStoreError('read_only', `${JSON.stringify(uid)} is a built-in dashboard and cannot be deleted`);
    const dashboards = this.loadTenant(tenant);
    if (!dashboards.has(uid)) throw new DashboardStoreError('not_found', `dashboard ${JSON.stringify(uid)} not found`);
    const dir = this.tenantDir(tenant);
    unlinkSync(join(dir, `${uid}.json`));
    syncDirectory(dir);
    dashboards.delete(uid);
  }

  private tenantDir(tenant: string): string {
    // Tenant ids are checked (server/tenant.ts): no `/`, and never `.` or `..`.
    return join(this.rootDir, tenant);
  }

  private loadTenant(tenant: string): Map<string, StoredDashboard> {
    let dashboards = this.tenants.get(tenant);
    if (dashboards !== undefined) return dashboards;
    dashboards = new Map();
    const dir = this.tenantDir(tenant);
    // A directory that exists but cannot be listed throws: an empty list would hide the dashboards.
    const names = existsSync(dir) ? readdirSync(dir) : [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const path = join(dir, name);
      try {
        const json = checkGrafanaDashboard(JSON.parse(readFileSync(path, 'utf8')));
        const uid = name.slice(0, -'.json'.length);
        if (json.uid !== uid) throw new DashboardError('uid', `the file is named for uid ${JSON.stringify(uid)} but holds ${JSON.stringify(json.uid)}`);
        dashboards.set(uid, { json, builtIn: false, updatedMs: statSync(path).mtimeMs });
      } catch (error) {
        this.onUnreadable(path, error as Error);
      }
    }
    this.tenants.set(tenant, dashboards);
    return dashboards;
  }
}

function summary(json: JsonObject, builtIn: boolean, updatedMs: number | undefined): DashboardSummary {
  const view = dashboardView(json);
  const count = view.panels.reduce((total, panel) => total + (panel.kind === 'row' ? panel.panels.length : 1), 0);
  return { uid: view.uid, title: view.title, tags: view.tags, builtIn, panels: count, version: typeof json.version === 'number' ? json.version : 0, updatedMs };
}

/** 14 characters of [A-Za-z0-9], like the uids Grafana makes. */
function newUid(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(14)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

function writeDurably(dir: string, name: string, text: string): void {
  const temporary = join(dir, `.${name}.${process.pid}.tmp`);
  const fd = openSync(temporary, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, join(dir, name));
  syncDirectory(dir);
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
