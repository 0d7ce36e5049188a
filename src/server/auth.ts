// Token authentication (config `auth.tokens_file`). Every request but the open paths carries a token,
// as HTTP basic auth (user = tenant, password = token: how Grafana's Loki data source, Promtail's
// `basic_auth` and logcli send it) or as `Authorization: Bearer <token>`. The token's entry in the
// tokens file (src/server/tokens-file.ts) says which tenants it may use and whether it may write.
//
// The basic auth user and `X-Scope-OrgID` can only narrow what the token allows, never widen it. The
// tenant that remains is written into the request's X-Scope-OrgID header, so every route resolves the
// tenant the one way it always has (src/server/tenant.ts). The decision itself (`authorize`) is pure;
// the Fastify hook around it only reads the request and writes the answer.

import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { watchFiles } from './file-watch.ts';
import { findToken, readTokensFile, type TokenAccess, type TokenEntry } from './tokens-file.ts';

export const AUTH_REALM = 'rankscope';

/** What a request needs: nothing, any valid token, or a token with read or read-write access to its tenant. */
export type RequiredAccess = 'open' | 'authenticated' | TokenAccess;

const PUSH_PATHS = new Set(['/loki/api/v1/push', '/api/prom/push']);
const TAIL_PATHS = new Set(['/loki/api/v1/tail', '/api/prom/tail']);
/** The API trees whose requests belong to a tenant; anything else (the UI's assets) needs only a valid token. */
const TENANT_SCOPED = /^\/(loki\/api\/v1|api\/prom|prometheus\/api\/v1)(\/|$)/;
/**
 * Reads that Loki and Prometheus also take as POST forms. Every other POST, PUT, PATCH or DELETE needs
 * read-write, so an endpoint added later is protected as a write until it is listed here.
 */
const READ_POST =
  /^\/(loki\/api\/v1|api\/prom|prometheus\/api\/v1|api\/prom\/api\/v1)\/(query|query_range|labels?|label\/[^/]+\/values|series|index\/(stats|volume|volume_range)|detected_(fields|labels)|detected_field\/[^/]+\/values|patterns|format_query)$/;

export function requiredAccess(method: string, path: string, openPaths: ReadonlySet<string>): RequiredAccess {
  if (openPaths.has(path)) return 'open';
  if (PUSH_PATHS.has(path)) return 'read-write';
  const upper = method.toUpperCase();
  if (upper !== 'GET' && upper !== 'HEAD' && upper !== 'OPTIONS' && !READ_POST.test(path)) return 'read-write';
  return TENANT_SCOPED.test(path) ? 'read' : 'authenticated';
}

export interface AuthRequest {
  method: string;
  /**
   * The route the router matched (`/loki/api/v1/label/:name/values`), or the percent-decoded path when
   * none did. Never the raw path: `/%6Coki/api/v1/labels` reaches the labels route too.
   */
  path: string;
  authorization: string | undefined;
  /** X-Scope-OrgID as sent, if any. */
  orgIdHeader: string | undefined;
  /** `?orgId=` of a live tail (browsers cannot set headers on a WebSocket). */
  orgIdParam: string | undefined;
}

export type AuthDecision =
  | {
      ok: true;
      tokenName?: string;
      /**
       * The tenant(s) to serve, `a|b` for a multi-tenant read. Absent on an authenticated request: then
       * any X-Scope-OrgID the client sent must be dropped, so a route outside the API trees (one added
       * later, say) fails closed with `no org id` instead of trusting the header.
       */
      tenant?: string;
    }
  | { ok: false; statusCode: 400 | 401 | 403; message: string };

export interface AuthPolicy {
  openPaths: ReadonlySet<string>;
  /** query.multi_tenant_queries_enabled: a read may cover several tenants. */
  multiTenantQueries: boolean;
}

const CREDENTIAL_HINT = 'send HTTP basic auth (user = tenant, password = token) or the header Authorization: Bearer <token>';

export function authorize(entries: readonly TokenEntry[], request: AuthRequest, policy: AuthPolicy): AuthDecision {
  const needs = requiredAccess(request.method, request.path, policy.openPaths);
  if (needs === 'open') return { ok: true };
  const credential = parseAuthorization(request.authorization);
  if (credential === undefined) return { ok: false, statusCode: 401, message: `authentication required: ${CREDENTIAL_HINT}` };
  if ('error' in credential) return { ok: false, statusCode: 401, message: `${credential.error}; ${CREDENTIAL_HINT}` };
  const entry = findToken(entries, credential.token);
  if (entry === undefined) return { ok: false, statusCode: 401, message: 'invalid token: it is not in the server\'s tokens file' };

  // Tenants the token allows; undefined = every tenant.
  let allowed = entry.tenants;
  if (credential.username !== undefined && credential.username !== '') {
    const named = splitTenants(credential.username);
    const outside = allowed === undefined ? [] : named.filter((tenant) => !allowed!.includes(tenant));
    // A wrong user makes the user/password pair wrong: 401, so a browser asks again.
    if (outside.length > 0) return { ok: false, statusCode: 401, message: `token "${entry.name}" is not valid for tenant '${outside[0]}' (the basic auth user); it allows ${allowed!.join(', ')}` };
    allowed = named;
  }
  if (needs === 'read-write' && entry.access !== 'read-write') {
    return { ok: false, statusCode: 403, message: `token "${entry.name}" is read-only: ${request.method} ${request.path} needs a read-write token` };
  }
  const spanningRead = needs === 'read' && !TAIL_PATHS.has(request.path);
  const narrowed = narrowTenants(entry, allowed, request, spanningRead, spanningRead && policy.multiTenantQueries);
  if (needs === 'authenticated') return 'tenant' in narrowed ? { ok: true, tokenName: entry.name, tenant: narrowed.tenant } : { ok: true, tokenName: entry.name };
  if ('tenant' in narrowed) return { ok: true, tokenName: entry.name, tenant: narrowed.tenant };
  return { ok: false, ...narrowed };
}

/** The one tenant (or, for a read that may span them, the tenants) left after X-Scope-OrgID narrows the token. */
function narrowTenants(
  entry: TokenEntry,
  allowedByUser: string[] | undefined,
  request: AuthRequest,
  spanningRead: boolean,
  canSpan: boolean,
): { tenant: string } | { statusCode: 400 | 401 | 403; message: string } {
  let allowed = allowedByUser;
  const orgId = nonEmpty(request.orgIdHeader) ?? (TAIL_PATHS.has(request.path) ? nonEmpty(request.orgIdParam) : undefined);
  if (orgId !== undefined) {
    const named = splitTenants(orgId);
    const outside = allowed === undefined ? [] : named.filter((tenant) => !allowed!.includes(tenant));
    if (outside.length > 0) return { statusCode: 403, message: `token "${entry.name}" does not allow tenant '${outside[0]}' (X-Scope-OrgID); it allows ${allowed!.join(', ')}` };
    allowed = named;
  }
  if (allowed === undefined || allowed.length === 0) {
    return { statusCode: 401, message: `no org id: token "${entry.name}" is good for every tenant; name one as the basic auth user or in X-Scope-OrgID` };
  }
  if (allowed.length > 1 && !canSpan) {
    const why = spanningRead ? ' (or set query.multi_tenant_queries_enabled to read them together)' : '';
    return { statusCode: 400, message: `token "${entry.name}" allows several tenants (${allowed.join(', ')}): name one as the basic auth user or in X-Scope-OrgID${why}` };
  }
  return { tenant: [...allowed].sort().join('|') };
}

type Credential = { token: string; username?: string } | { error: string };

export function parseAuthorization(header: string | undefined): Credential | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
  if (match === null) return { error: 'malformed Authorization header' };
  const scheme = match[1]!.toLowerCase();
  if (scheme === 'bearer') return { token: match[2]! };
  if (scheme !== 'basic') return { error: `unsupported Authorization scheme "${match[1]}"` };
  const decoded = Buffer.from(match[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { error: 'malformed basic auth: expected base64 of user:password' };
  const token = decoded.slice(colon + 1);
  if (token === '') return { error: 'basic auth without a password (the password is the token)' };
  return { username: decoded.slice(0, colon), token };
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function splitTenants(text: string): string[] {
  return [...new Set(text.split('|').map((tenant) => tenant.trim()).filter((tenant) => tenant !== ''))];
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text.trim() === '' ? undefined : text;
}

export interface TokenAuthOptions {
  tokensFile: string;
  openPaths: string[];
  reloadIntervalMs: number;
  multiTenantQueries: boolean;
  log: FastifyBaseLogger;
}

/**
 * Checks every request against the tokens file, reloaded when it changes; a reload that fails keeps
 * the tokens last read and logs why. The file must be readable at start. Returns a stop function.
 */
export function registerTokenAuth(app: FastifyInstance, options: TokenAuthOptions): () => Promise<void> {
  let entries = readTokensFile(options.tokensFile);
  const policy: AuthPolicy = { openPaths: new Set(options.openPaths), multiTenantQueries: options.multiTenantQueries };
  const watch = watchFiles([options.tokensFile], options.reloadIntervalMs, () => {
    try {
      entries = readTokensFile(options.tokensFile);
      options.log.info({ tokens: entries.length }, `reloaded ${options.tokensFile}`);
    } catch (error) {
      options.log.error(`${(error as Error).message}; keeping the ${entries.length} tokens read before`);
    }
  });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const queryAt = request.url.indexOf('?');
    const path = request.routeOptions.url ?? decodePath(queryAt < 0 ? request.url : request.url.slice(0, queryAt));
    const header = request.headers['x-scope-orgid'];
    const decision = authorize(
      entries,
      {
        method: request.method,
        path,
        authorization: request.headers.authorization,
        orgIdHeader: Array.isArray(header) ? header[0] : header,
        orgIdParam: queryAt < 0 ? undefined : (new URLSearchParams(request.url.slice(queryAt + 1)).get('orgId') ?? undefined),
      },
      policy,
    );
    if (!decision.ok) {
      if (decision.statusCode === 401) reply.header('www-authenticate', `Basic realm="${AUTH_REALM}", charset="UTF-8"`);
      return reply.code(decision.statusCode).type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(decision.message);
    }
    if (decision.tenant !== undefined) request.headers['x-scope-orgid'] = decision.tenant;
    else if (decision.tokenName !== undefined) delete request.headers['x-scope-orgid'];
  });
  return async () => watch.close();
}
