// The ruler's HTTP API, thin over src/ruler: Loki's rule-management endpoints (YAML), the
// Prometheus-compatible rule and alert listings Grafana reads, and a Prometheus-style instant/range
// query over recorded-rule samples. Tenants come from the server's resolver (X-Scope-OrgID rules).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stringify } from 'yaml';
import { RulerRequestError, type Ruler } from '../ruler/index.ts';
import { parseDurationMs } from '../duration/duration.ts';
import { ruleGroupToObject } from '../ruler/rule-file.ts';
import { evaluateConstant, parseSeriesSelector, SelectorError } from '../ruler/series-selector.ts';

export interface RulerRoutesOptions {
  /** Undefined when the ruler is disabled: the endpoints then answer 404 like Loki without a ruler. */
  ruler: Ruler | undefined;
  /** The request's tenant; may throw an error carrying `statusCode` (401 `no org id`). */
  tenantOf(request: FastifyRequest): string;
}

const ACCEPTED = { status: 'success', data: null, errorType: '', error: '' };
/** Range queries over recorded samples: Prometheus's own cap on points per series. */
const MAX_POINTS = 11_000;

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

/** Prometheus's time parameter: float Unix seconds or RFC3339. */
function parseTimeMs(text: string | undefined, name: string, fallbackMs: number): number {
  if (text === undefined || text === '') return fallbackMs;
  if (/^[-+]?[0-9]+(\.[0-9]+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new PromBadData(`invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`);
  return ms;
}

function parseStepMs(text: string | undefined): number {
  if (text === undefined || text === '') throw new PromBadData('invalid parameter "step": missing');
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return Math.round(Number(text) * 1000);
  try {
    return parseDurationMs(text);
  } catch {
    throw new PromBadData(`invalid parameter "step": cannot parse "${text}" to a valid duration`);
  }
}

class PromBadData extends Error {}

function promError(reply: FastifyReply, message: string, status = 400): FastifyReply {
  return reply.code(status).send({ status: 'error', errorType: status === 400 ? 'bad_data' : 'unavailable', error: message });
}

function promValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(value);
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

  const listRules = async (request: FastifyRequest<{ Params: { namespace?: string } }>, reply: FastifyReply) => {
    const context = withRuler(request, reply);
    if (context === undefined) return reply;
    const namespaces = context.ruler.namespaces(context.tenant).filter((ns) => request.params.namespace === undefined || ns.namespace === request.params.namespace);
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

  const setGroup = async (request: FastifyRequest<{ Params: { namespace: string } }>, reply: FastifyReply) => {
    const context = withRuler(request, reply);
    if (context === undefined) return reply;
    const body = typeof request.body === 'string' ? request.body : '';
    if (body.trim() === '') return reply.code(400).type('text/plain; charset=utf-8').send('empty request body: send one rule group as YAML');
    try {
      await context.ruler.setRuleGroup(context.tenant, request.params.namespace, body);
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

  for (const prefix of ['/loki/api/v1/rules', '/api/prom/rules']) {
    app.get(prefix, listRules);
    app.get(`${prefix}/:namespace`, listRules);
    app.get(`${prefix}/:namespace/:groupName`, getGroup);
    app.post(`${prefix}/:namespace`, setGroup);
    app.delete(`${prefix}/:namespace`, deleteRules);
    app.delete(`${prefix}/:namespace/:groupName`, deleteRules);
  }

  for (const prefix of ['/prometheus/api/v1', '/api/prom/api/v1']) {
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

    const instantQuery = async (request: FastifyRequest<{ Querystring: Query }>, reply: FastifyReply) => {
      const context = withRuler(request, reply);
      if (context === undefined) return reply;
      try {
        const { params, query } = queryParamsOf(request);
        const timeMs = parseTimeMs(single(params.time), 'time', Date.now());
        const constant = evaluateConstant(query);
        if (constant !== undefined) return reply.send({ status: 'success', data: { resultType: 'scalar', result: [timeMs / 1000, promValue(constant)] } });
        const result = context.ruler.queryRecorded(context.tenant, parseSeriesSelector(query), timeMs);
        return reply.send({
          status: 'success',
          data: { resultType: 'vector', result: result.map((sample) => ({ metric: sample.labels, value: [sample.timestampMs / 1000, promValue(sample.value)] })) },
        });
      } catch (error) {
        if (error instanceof PromBadData || error instanceof SelectorError) return promError(reply, error.message);
        throw error;
      }
    };

    const rangeQuery = async (request: FastifyRequest<{ Querystring: Query }>, reply: FastifyReply) => {
      const context = withRuler(request, reply);
      if (context === undefined) return reply;
      try {
        const { params, query } = queryParamsOf(request);
        const nowMs = Date.now();
        const endMs = parseTimeMs(single(params.end), 'end', nowMs);
        const startMs = parseTimeMs(single(params.start), 'start', endMs - 3_600_000);
        const stepMs = parseStepMs(single(params.step));
        if (endMs < startMs) throw new PromBadData('end timestamp must not be before start time');
        if (stepMs <= 0) throw new PromBadData('zero or negative query resolution step widths are not accepted. Try a positive integer');
        if ((endMs - startMs) / stepMs > MAX_POINTS) throw new PromBadData('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
        const result = context.ruler.queryRecordedRange(context.tenant, parseSeriesSelector(query), startMs, endMs, stepMs);
        return reply.send({
          status: 'success',
          data: { resultType: 'matrix', result: result.map((series) => ({ metric: series.labels, values: series.samples.map(([t, v]) => [t / 1000, promValue(v)]) })) },
        });
      } catch (error) {
        if (error instanceof PromBadData || error instanceof SelectorError) return promError(reply, error.message);
        throw error;
      }
    };

    app.get(`${prefix}/labels`, async (request, reply) => {
      const context = withRuler(request, reply);
      if (context === undefined) return reply;
      return reply.send({ status: 'success', data: context.ruler.recordedLabelNames(context.tenant) });
    });
    app.get(`${prefix}/label/:name/values`, async (request: FastifyRequest<{ Params: { name: string } }>, reply) => {
      const context = withRuler(request, reply);
      if (context === undefined) return reply;
      return reply.send({ status: 'success', data: context.ruler.recordedLabelValues(context.tenant, request.params.name) });
    });

    app.get(`${prefix}/query`, instantQuery);
    app.post(`${prefix}/query`, instantQuery);
    app.get(`${prefix}/query_range`, rangeQuery);
    app.post(`${prefix}/query_range`, rangeQuery);
  }
}

/** Prometheus query endpoints take their parameters from the URL or a form body, and need `query`. */
function queryParamsOf(request: FastifyRequest<{ Querystring: Query }>): { params: Query; query: string } {
  const params: Query = { ...request.query, ...(typeof request.body === 'string' ? Object.fromEntries(new URLSearchParams(request.body)) : {}) };
  const query = single(params.query);
  if (query === undefined || query.trim() === '') throw new PromBadData('invalid parameter "query": missing');
  return { params, query };
}
