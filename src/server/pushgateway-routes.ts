// The Pushgateway API on the server's port (shared/reference/prometheus-api.md §4.1): PUT, POST and
// DELETE /metrics/job/<JOB>{/<LABEL>/<VALUE>} (`@base64` names), text and delimited-protobuf bodies
// (gzip too), and the JSON API GET /api/v1/metrics and /api/v1/status. PUT/POST answer 200 once the
// group is durable and its samples are in the TSDB; DELETE answers 202. rankscope's extension: a per-group TTL, from the
// `ttl` query parameter or the `Rankscope-Push-TTL` header (a duration such as `30m`; `0` removes it).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseDurationMs } from '../duration/duration.ts';
import { GroupingKeyError, parseGroupingKeyPath } from '../pushgateway/grouping-key.ts';
import { PushRejectedError, type PushGroup } from '../pushgateway/group-store.ts';
import { groupJson } from '../pushgateway/metrics-json.ts';
import { PushBodyError, type Pushgateway } from '../pushgateway/pushgateway.ts';
import type { Labels } from '../push/types.ts';
import { BadRequestError } from './query-params.ts';
import { resolveTenant } from './tenant.ts';

/** The embedded Pushgateway, or in cluster mode the one forwarding to the cluster's (src/cluster/cluster-pushgateway.ts). */
export type PushgatewayApi = Pick<Pushgateway, 'push' | 'delete' | 'sampleIntervalMs' | 'startTimeMs' | 'stop'> & { groups(tenant: string): PushGroup[] | Promise<PushGroup[]> };

export interface PushgatewayRoutesOptions {
  gateway: PushgatewayApi;
  authEnabled: boolean;
  maxRequestBodyBytes: number;
  version: string;
  defaultTtlMs: number;
}

export const PUSH_TTL_HEADER = 'rankscope-push-ttl';
const PATH_PREFIX = '/metrics/';

export async function pushgatewayRoutes(app: FastifyInstance, options: PushgatewayRoutesOptions): Promise<void> {
  const { gateway } = options;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxRequestBodyBytes }, (_request, body, done) => done(null, body));

  const change = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    let tenant: string;
    let groupLabels: Labels;
    let ttlMs: number | undefined;
    try {
      tenant = resolveTenant(request, options.authEnabled);
      const [path, query = ''] = request.url.split('?', 2) as [string, string?];
      groupLabels = parseGroupingKeyPath(path.slice(PATH_PREFIX.length));
      ttlMs = ttlOf(new URLSearchParams(query).get('ttl') ?? headerValue(request.headers[PUSH_TTL_HEADER]));
    } catch (error) {
      if (error instanceof BadRequestError) return text(reply, error.statusCode, error.message);
      if (error instanceof GroupingKeyError) return text(reply, 400, error.message);
      throw error;
    }
    if (request.method === 'DELETE') {
      await gateway.delete(tenant, groupLabels);
      return reply.code(202).send();
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    try {
      await gateway.push(tenant, request.method === 'PUT' ? 'PUT' : 'POST', groupLabels, body, { contentType: headerValue(request.headers['content-type']), contentEncoding: headerValue(request.headers['content-encoding']) }, ttlMs);
    } catch (error) {
      if (error instanceof PushBodyError || error instanceof PushRejectedError) return text(reply, 400, error.message);
      throw error;
    }
    return reply.code(200).send();
  };
  for (const url of ['/metrics/job/*', '/metrics/job@base64/*']) app.route({ method: ['PUT', 'POST', 'DELETE'], url, handler: change });

  app.get('/api/v1/metrics', async (request, reply) => {
    let tenant: string;
    try {
      tenant = resolveTenant(request, options.authEnabled);
    } catch (error) {
      if (error instanceof BadRequestError) return text(reply, error.statusCode, error.message);
      throw error;
    }
    return reply.send({ status: 'success', data: (await gateway.groups(tenant)).map(groupJson) });
  });

  app.get('/api/v1/status', async (_request, reply) =>
    reply.send({
      status: 'success',
      data: {
        build_information: { version: options.version, branch: '', revision: '', buildUser: '', buildDate: '', goVersion: '' },
        flags: {
          'push.disable-consistency-check': 'false',
          'rankscope.pushgateway.sample-interval': `${gateway.sampleIntervalMs / 1000}s`,
          'rankscope.pushgateway.default-ttl': `${options.defaultTtlMs / 1000}s`,
        },
        start_time: new Date(gateway.startTimeMs).toISOString(),
      },
    }),
  );
}

function ttlOf(value: string | undefined | null): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  try {
    return parseDurationMs(value);
  } catch (error) {
    throw new BadRequestError(`invalid push TTL ${JSON.stringify(value)} (ttl parameter or Rankscope-Push-TTL header): ${(error as Error).message}`);
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function text(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(message);
}
