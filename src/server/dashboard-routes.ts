// The dashboards API (docs/dashboards.md), thin over src/dashboards/dashboard-store.ts. Paths and
// bodies follow Grafana's HTTP API where it has one, so a script that pushes dashboards to Grafana
// can push them here:
//   GET    /api/dashboards                   the tenant's dashboards and the built-ins
//   POST   /api/dashboards/db                {dashboard, overwrite} (Grafana's) or a bare dashboard
//   GET    /api/dashboards/uid/{uid}         {dashboard, meta, view}: the stored JSON and what the UI draws
//   PUT    /api/dashboards/uid/{uid}         replaces it with the body (a dashboard, or {dashboard})
//   DELETE /api/dashboards/uid/{uid}
//   GET    /api/dashboards/uid/{uid}/export  Grafana JSON to import into Grafana, as a download
// Errors are plain text: 400 a dashboard we cannot read (naming the JSON path), 403 a built-in,
// 404 unknown uid, 412 the uid exists and overwrite is not set (Grafana answers that with 412 too).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DashboardStore, DashboardStoreError, type StoredDashboard } from '../dashboards/dashboard-store.ts';
import { DashboardError, dashboardView, UID_PATTERN, type JsonObject } from '../dashboards/grafana-import.ts';
import { exportFileName, exportGrafanaDashboard } from '../dashboards/grafana-export.ts';
import { BadRequestError } from './query-params.ts';
import { resolveTenant } from './tenant.ts';

export interface DashboardRoutesOptions {
  store: DashboardStore;
  authEnabled: boolean;
}

const STATUS_OF_REFUSAL = { not_found: 404, exists: 412, read_only: 403 } as const;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Grafana's save body `{dashboard, overwrite, folderUid, message}`, or the dashboard itself. */
function unwrapSaveBody(body: unknown): { dashboard: unknown; overwrite: boolean } {
  if (!isObject(body)) throw new BadRequestError('the body must be a JSON object: a dashboard, or {"dashboard": …, "overwrite": true}');
  if (isObject(body.dashboard)) return { dashboard: body.dashboard, overwrite: body.overwrite === true };
  return { dashboard: body, overwrite: false };
}

function uidParam(request: FastifyRequest): string {
  const uid = (request.params as { uid: string }).uid;
  if (!UID_PATTERN.test(uid)) throw new BadRequestError(`invalid uid ${JSON.stringify(uid)}: use 1 to 40 letters, digits, - and _`);
  return uid;
}

function meta(stored: StoredDashboard): JsonObject {
  const uid = String(stored.json.uid);
  return {
    builtIn: stored.builtIn,
    version: stored.json.version ?? 0,
    updated: stored.updatedMs === undefined ? null : new Date(stored.updatedMs).toISOString(),
    url: `/?view=dashboards&uid=${encodeURIComponent(uid)}`,
    canSave: !stored.builtIn,
    canDelete: !stored.builtIn,
  };
}

export async function dashboardRoutes(app: FastifyInstance, options: DashboardRoutesOptions): Promise<void> {
  const { store } = options;
  const handle = (handler: (request: FastifyRequest, tenant: string) => unknown, onSuccess?: (reply: FastifyReply, body: unknown) => FastifyReply) => async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const tenant = resolveTenant(request, options.authEnabled);
      const body = handler(request, tenant);
      if (onSuccess !== undefined) return onSuccess(reply, body);
      return reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(body));
    } catch (error) {
      if (error instanceof BadRequestError) return reply.code(error.statusCode).type('text/plain; charset=utf-8').send(error.message);
      if (error instanceof DashboardError) return reply.code(400).type('text/plain; charset=utf-8').send(`invalid dashboard: ${error.message}`);
      if (error instanceof DashboardStoreError) return reply.code(STATUS_OF_REFUSAL[error.reason]).type('text/plain; charset=utf-8').send(error.message);
      throw error;
    }
  };

  const saved = (stored: StoredDashboard) => ({ status: 'success', id: null, uid: stored.json.uid, version: stored.json.version, url: meta(stored).url, title: stored.json.title });

  app.get(
    '/api/dashboards',
    handle((_request, tenant) => ({ dashboards: store.list(tenant) })),
  );
  for (const path of ['/api/dashboards', '/api/dashboards/db']) {
    app.post(
      path,
      handle((request, tenant) => {
        const { dashboard, overwrite } = unwrapSaveBody(request.body);
        return saved(store.save(tenant, dashboard, { overwrite }));
      }),
    );
  }
  app.get(
    '/api/dashboards/uid/:uid',
    handle((request, tenant) => {
      const stored = store.get(tenant, uidParam(request));
      return { dashboard: stored.json, meta: meta(stored), view: dashboardView(stored.json) };
    }),
  );
  app.put(
    '/api/dashboards/uid/:uid',
    handle((request, tenant) => {
      const uid = uidParam(request);
      const { dashboard } = unwrapSaveBody(request.body);
      if (!isObject(dashboard)) throw new BadRequestError('the body must be a dashboard object');
      if (dashboard.uid !== undefined && dashboard.uid !== null && dashboard.uid !== uid) throw new BadRequestError(`the body's uid ${JSON.stringify(dashboard.uid)} differs from the path's ${JSON.stringify(uid)}`);
      store.get(tenant, uid); // 404 for an unknown uid: PUT replaces, POST creates
      return saved(store.save(tenant, { ...dashboard, uid }, { overwrite: true }));
    }),
  );
  app.delete(
    '/api/dashboards/uid/:uid',
    handle((request, tenant) => {
      const uid = uidParam(request);
      const title = store.get(tenant, uid).json.title;
      store.delete(tenant, uid);
      return { title, message: `dashboard ${JSON.stringify(title)} deleted` };
    }),
  );
  app.get(
    '/api/dashboards/uid/:uid/export',
    handle(
      (request, tenant) => exportGrafanaDashboard(store.get(tenant, uidParam(request)).json),
      (reply, body) =>
        reply
          .code(200)
          .type('application/json; charset=utf-8')
          .header('Content-Disposition', `attachment; filename="${exportFileName(body as JsonObject)}"`)
          .send(`${JSON.stringify(body, null, 2)}\n`),
    ),
  );
}
