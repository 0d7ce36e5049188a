// X-Scope-OrgID handling (shared/reference/loki-api.md §0.1): with auth off every request belongs to
// tenant `fake`; with auth on the header is required (401 `no org id`) and must be a valid tenant id.

import type { FastifyRequest } from 'fastify';
import { BadRequestError } from './query-params.ts';

export const NO_AUTH_TENANT = 'fake';
const TENANT_ID = /^[a-zA-Z0-9!\-_.*'()]{1,150}$/;

/**
 * The tenant of a request, or throws BadRequestError (401/400). `orgIdParam` is the tenant a browser
 * WebSocket sends as `?orgId=` (it cannot set headers): it is used only when the header is absent, so a
 * proxy that sets X-Scope-OrgID still decides. With `allowMultiple` (query.multi_tenant_queries_enabled)
 * a read may name several tenants `a|b`; they come back deduplicated and sorted, joined by `|`.
 */
export function resolveTenant(request: FastifyRequest, authEnabled: boolean, orgIdParam?: string, allowMultiple = false): string {
  if (!authEnabled) return NO_AUTH_TENANT;
  const header = request.headers['x-scope-orgid'];
  const headerValue = Array.isArray(header) ? header[0] : header;
  const value = headerValue === undefined || headerValue.trim() === '' ? orgIdParam : headerValue;
  if (value === undefined || value.trim() === '') throw new BadRequestError('no org id', 401);
  const text = value.trim();
  if (text.includes('|')) {
    if (!allowMultiple) {
      throw new BadRequestError(
        `X-Scope-OrgID names several tenants ('${text}'): pushes and tails take one, and reads only with query.multi_tenant_queries_enabled`,
        400,
      );
    }
    const tenants = [...new Set(text.split('|').map((tenant) => tenant.trim()))].sort();
    for (const tenant of tenants) checkTenant(tenant);
    return tenants.join('|');
  }
  checkTenant(text);
  return text;
}

function checkTenant(tenant: string): void {
  if (!TENANT_ID.test(tenant) || tenant === '.' || tenant === '..') {
    throw new BadRequestError(`tenant ID '${tenant}' is invalid: use up to 150 characters of a-z, A-Z, 0-9 and !-_.*'()`, 401);
  }
}
