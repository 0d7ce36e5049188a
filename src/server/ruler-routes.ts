// The ruler's HTTP API, thin over src/ruler: Loki's rule-management endpoints (YAML; LogQL and PromQL
// namespaces alike), Mimir's `/prometheus/config/v1/rules` (PromQL namespaces), and the
// Prometheus-compatible rule and alert listings Grafana reads. Recorded samples live in the TSDB and
// are queried through the Prometheus API (prometheus-routes.ts). Tenants come from the server's
// resolver (X-Scope-OrgID rules).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stringify } from 'yaml';
import { RulerRequestError, type Ruler } from '../ruler/index.ts';
import { ruleGroupToObject } from '../ruler/rule-file.ts';
import type { RuleLanguage } from '../ruler/rule-directory.ts';

export interface RulerRoutesOptions {
  /** Undefined when the ruler is disabled: the endpoints then answer 404 like Loki without a ruler. */
  ruler: Ruler | undefined;
  /** The request's tenant; may throw an error carrying `statusCode` (401 `no org id`). */
  tenantOf(request: FastifyRequest): string;
}

const ACCEPTED = { status: 'success', data: null, errorType: '', error: '' };

type Query = Record<string, string | string[] | undefined>;

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function yamlReply(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.type('application/yaml').send(stringify(value, { lineWidth: 0 }));
}

function promError(reply: FastifyReply, message: string, status = 400): FastifyReply {
  return reply.code(status).send({ status: 'error', errorType: status === 400 ? 'bad_data' : 'unavailable', error: message });
}

export async function rulerRoutes(app: FastifyInstance, options: RulerRoutesOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  // Rule groups arrive as YAML (cortextool, Grafana, curl); any content type is read as text.
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_request, body, done) => done(null, body));

  const withRuler = (request: FastifyRequest, reply: FastifyReply): { ruler: Ruler; tenant: string } | undefined => {
    const tenant = options.tenantOf(request);
    if (options.ruler === undefined) {
      void reply.code(404).type('text/plain; charset=utf-8').send('the ruler is not enabled (ruler.enabled: false)');
      return undefined;
    }
    return { ruler: options.ruler, tenant };
  };

  const sendRulerError = (reply: FastifyReply, error: unknown): FastifyReply => {
    if (error instanceof RulerRequestError) return reply.code(error.statusCode).type('text/plain; charset=utf-8').send(error.message);
    throw error;
  };

  /** Lists namespaces: every one, or (Mimir's API) only PromQL ones. */
  const listRules = (only: RuleLanguage | undefined) => async (request: FastifyRequest<{ Params: { namespace?: string } }>, reply: FastifyReply) => {
    const context = withRuler(request, reply);
    if (context === undefined) return reply;
    const namespaces = context.ruler
      .namespaces(context.tenant)
      .filter((ns) => (only === undefined || ns.language === only) && (request.params.namespace === undefined || ns.namespace === request.params.namespace));
    if (namespaces.length === 0 || namespaces.every((ns) => ns.groups.length === 0)) {
      return reply.code(404).type('text/plain; charset=utf-8').send('no rule groups found');
    }
    const out: Record<string, unknown[]> = {};
    for (const ns of namespaces) out[ns.namespace] = ns.groups.map(ruleGroupToObject);
    return yamlReply(reply, out);
  };

  const getGroup = async (request: FastifyRequest<{ Params: { namespace: string; groupName: string } }>, reply: FastifyReply) => {
    const context = withRuler(request, reply);
    if (context === undefined) return reply;
    const ns = context.ruler.namespaces(context.tenant).find((candidate) => candidate.namespace === request.params.namespace);
    const group = ns?.groups.find((candidate) => candidate.name === request.params.groupName);
    if (group === undefined) return reply.code(404).type('text/plain; charset=utf-8').send('group does not exist');
    return yamlReply(reply, ruleGroupToObject(group));
  };

  /** Creates or replaces a group; a new namespace is created in `language` (an existing one keeps its own). */
  const setGroup = (language: RuleLanguage) => async (request: FastifyRequest<{ Params: { namespace: string } }>, reply: FastifyReply) => {
    const context = withRuler(request, reply);
    if (context === undefined) return reply;
    const body = typeof request.body === 'string' ? request.body : '';
    if (body.trim() === '') return reply.code(400).type('text/plain; charset=utf-8').send('empty request body: send one rule group as YAML');
    try {
      await context.ruler.setRuleGroup(context.tenant, request.params.namespace, body, language);
    } catch (error) {
      return sendRulerError(reply, error);
    }
    return reply.code(202).send(ACCEPTED);
  };

  const deleteRules = async (request: FastifyRequest<{ Params: { namespace: string; groupName?: string } }>, reply: FastifyReply) => {
    const context = withRuler(request, reply);
    if (context === undefined) return reply;
    try {
      await context.ruler.deleteRuleGroup(context.tenant, request.params.namespace, request.params.groupName);
    } catch (error) {
      return sendRulerError(reply, error);
    }
    return reply.code(202).send(ACCEPTED);
  };

  const rulePrefixes: Array<{ prefix: string; language: RuleLanguage; only?: RuleLanguage }> = [
    { prefix: '/loki/api/v1/rules', language: 'logql' },
    { prefix: '/api/prom/rules', language: 'logql' },
    { prefix: '/prometheus/config/v1/rules', language: 'promql', only: 'promql' },
  ];
  for (const { prefix, language, only } of rulePrefixes) {
    app.get(prefix, listRules(only));
    app.get(`${prefix}/:namespace`, listRules(only));
    app.get(`${prefix}/:namespace/:groupName`, getGroup);
    app.post(`${prefix}/:namespace`, setGroup(language));
    app.delete(`${prefix}/:namespace`, deleteRules);
    app.delete(`${prefix}/:namespace/:groupName`, deleteRules);
  }

  for (const prefix of ['/api/v1', '/prometheus/api/v1', '/api/prom/api/v1']) {
    app.get(`${prefix}/rules`, async (request: FastifyRequest<{ Querystring: Query }>, reply) => {
      const context = withRuler(request, reply);
      if (context === undefined) return reply;
      const type = single(request.query.type);
      if (type !== undefined && type !== '' && type !== 'alert' && type !== 'record') {
        return promError(reply, `unsupported rule type ${JSON.stringify(type)}: use alert or record`);
      }
      const data = context.ruler.prometheusRules(context.tenant, {
        ...(type === 'alert' || type === 'record' ? { type } : {}),
        files: [...list(request.query.file), ...list(request.query['file[]'])],
        groups: [...list(request.query.rule_group), ...list(request.query['rule_group[]'])],
        names: [...list(request.query.rule_name), ...list(request.query['rule_name[]'])],
      });
      return reply.send({ status: 'success', data, errorType: '', error: '' });
    });

    app.get(`${prefix}/alerts`, async (request, reply) => {
      const context = withRuler(request, reply);
      if (context === undefined) return reply;
      return reply.send({ status: 'success', data: context.ruler.prometheusAlerts(context.tenant), errorType: '', error: '' });
    });
  }
}
