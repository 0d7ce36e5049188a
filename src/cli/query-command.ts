// `rankscope query '<LogQL>'`: runs a query against a server's Loki API, like `logcli query`.
// Log queries print one entry per line (oldest first by default, as logcli does); metric queries
// print one row per sample.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { authorizationHeader, ClientCredentialsError, tlsConnectOptions, type ClientAuth, type TlsConnectOptions } from '../agent/client-credentials.ts';

const USAGE = `usage: rankscope query '<LogQL>' [options]

  --server URL        server address (default $LOKI_ADDR or http://127.0.0.1:3100)
  --since DUR         how far back to look (default 1h)
  --from TIME         start (RFC3339 or unix seconds/ns); overrides --since
  --to TIME           end (default now)
  --limit N           maximum entries for log queries (default 30)
  --step DUR          resolution step for metric queries
  --instant           run an instant query at --to (metric queries)
  -t, --tail          follow new lines live (WebSocket tail) until interrupted
  --forward           oldest entries first from the server (default: newest first, printed oldest first)
  --org-id TENANT     X-Scope-OrgID (default $LOKI_ORG_ID)
  --username NAME     basic auth user, the tenant (default $LOKI_USERNAME)
  --password TOKEN    basic auth password, the token (default $LOKI_PASSWORD)
  --bearer-token T    Authorization: Bearer T (default $LOKI_BEARER_TOKEN)
  --bearer-token-file F  read the bearer token from F (default $LOKI_BEARER_TOKEN_FILE)
  --ca-cert FILE      CA that signed the server's certificate (default $LOKI_CA_CERT_PATH)
  --cert FILE         client certificate for mutual TLS (default $LOKI_CLIENT_CERT_PATH)
  --key FILE          its key (default $LOKI_CLIENT_KEY_PATH)
  --tls-skip-verify   do not check the server's certificate (default $LOKI_TLS_SKIP_VERIFY)
  --output MODE       default | raw | json | table (default: default)
  -h, --help          show this help`;

interface StreamValue {
  stream: Record<string, string>;
  values: Array<[string, string, unknown?]>;
}
interface MetricSeries {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  value?: [number, string];
}
interface QueryResponse {
  status: string;
  data: { resultType: string; result: unknown };
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        server: { type: 'string' },
        since: { type: 'string', default: '1h' },
        from: { type: 'string' },
        to: { type: 'string' },
        limit: { type: 'string', default: '30' },
        step: { type: 'string' },
        instant: { type: 'boolean', default: false },
        tail: { type: 'boolean', short: 't', default: false },
        forward: { type: 'boolean', default: false },
        'org-id': { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        'bearer-token': { type: 'string' },
        'bearer-token-file': { type: 'string' },
        'ca-cert': { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'tls-skip-verify': { type: 'boolean' },
        output: { type: 'string', short: 'o', default: 'default' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`rankscope query: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`rankscope query: expected exactly one LogQL query argument\n\n${USAGE}`);
    return 2;
  }
  const output = values.output;
  if (!['default', 'raw', 'json', 'table'].includes(output)) {
    console.error(`rankscope query: --output must be default, raw, json or table, not ${JSON.stringify(output)}`);
    return 2;
  }
  if (!/^\d+$/.test(values.limit) || Number(values.limit) <= 0) {
    console.error(`rankscope query: --limit must be a positive integer, not ${JSON.stringify(values.limit)}`);
    return 2;
  }

  const server = (values.server ?? process.env.LOKI_ADDR ?? 'http://127.0.0.1:3100').replace(/\/+$/, '');
  const query = positionals[0]!;
  const search = new URLSearchParams({ query, limit: values.limit, direction: values.forward ? 'forward' : 'backward' });
  let path: string;
  if (values.instant) {
    path = '/loki/api/v1/query';
    if (values.to !== undefined) search.set('time', values.to);
  } else {
    path = '/loki/api/v1/query_range';
    if (values.from !== undefined) search.set('start', values.from);
    else search.set('since', values.since);
    if (values.to !== undefined) search.set('end', values.to);
    if (values.step !== undefined) search.set('step', values.step);
  }
  const headers: Record<string, string> = {};
  const orgId = values['org-id'] ?? process.env.LOKI_ORG_ID;
  if (orgId !== undefined && orgId !== '') headers['X-Scope-OrgID'] = orgId;
  const env = process.env;
  const username = values.username ?? env.LOKI_USERNAME;
  const password = values.password ?? env.LOKI_PASSWORD;
  const auth: ClientAuth =
    username !== undefined && username !== ''
      ? { basicAuth: { username, password: password ?? '' } }
      : {
          ...((values['bearer-token'] ?? env.LOKI_BEARER_TOKEN) ? { bearerToken: values['bearer-token'] ?? env.LOKI_BEARER_TOKEN } : {}),
          ...((values['bearer-token-file'] ?? env.LOKI_BEARER_TOKEN_FILE) ? { bearerTokenFile: values['bearer-token-file'] ?? env.LOKI_BEARER_TOKEN_FILE } : {}),
        };
  let tls: TlsConnectOptions;
  try {
    const authorization = authorizationHeader(auth);
    if (authorization !== undefined) headers.Authorization = authorization;
    const caFile = values['ca-cert'] ?? env.LOKI_CA_CERT_PATH;
    const certFile = values.cert ?? env.LOKI_CLIENT_CERT_PATH;
    const keyFile = values.key ?? env.LOKI_CLIENT_KEY_PATH;
    tls = tlsConnectOptions({
      ...(caFile ? { caFile } : {}),
      ...(certFile ? { certFile } : {}),
      ...(keyFile ? { keyFile } : {}),
      insecureSkipVerify: values['tls-skip-verify'] === true || env.LOKI_TLS_SKIP_VERIFY === 'true',
    });
  } catch (error) {
    if (!(error instanceof ClientCredentialsError)) throw error;
    console.error(`rankscope query: ${error.message}`);
    return 2;
  }

  if (values.tail) return tail(server, query, values.limit, headers, output, tls);

  let response: { status: number; body: string };
  try {
    response = await getText(`${server}${path}?${search}`, headers, tls, 120_000);
  } catch (error) {
    console.error(`rankscope query: cannot reach ${server}: ${connectionErrorText(error)}`);
    return 1;
  }
  const body = response.body;
  if (response.status < 200 || response.status > 299) {
    console.error(`rankscope query: server answered ${response.status}: ${body.trim()}`);
    return 1;
  }
  const answer = JSON.parse(body) as QueryResponse;
  if (output === 'json') {
    console.log(JSON.stringify(answer.data, null, 2));
    return 0;
  }
  const { resultType, result } = answer.data;
  if (resultType === 'streams') printStreams(result as StreamValue[], output);
  else if (resultType === 'matrix' || resultType === 'vector') printSeries(result as MetricSeries[]);
  else console.log(JSON.stringify(result));
  return 0;
}

function printStreams(streams: StreamValue[], output: string): void {
  const rows: Array<{ ns: bigint; labels: string; line: string }> = [];
  for (const stream of streams) {
    const labels = formatLabelSet(stream.stream);
    for (const [ns, line] of stream.values) rows.push({ ns: BigInt(ns), labels, line });
  }
  // logcli prints newest-first answers oldest first, so the terminal reads like the log file.
  rows.sort((a, b) => (a.ns === b.ns ? 0 : a.ns < b.ns ? -1 : 1));
  const labelWidth = output === 'table' ? Math.min(60, Math.max(0, ...rows.map((row) => row.labels.length))) : 0;
  for (const row of rows) {
    if (output === 'raw') {
      console.log(row.line);
      continue;
    }
    const time = formatNs(row.ns);
    if (output === 'table') console.log(`${time}  ${row.labels.padEnd(labelWidth)}  ${row.line}`);
    else console.log(`${time} ${row.labels} ${row.line}`);
  }
}

/** Follows the query live; prints each entry as it arrives, until SIGINT/SIGTERM or the server closes. */
function tail(server: string, query: string, limit: string, headers: Record<string, string>, output: string, tls: TlsConnectOptions): Promise<number> {
  const url = `${server.replace(/^http/, 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query, limit })}`;
  const socket = new WebSocket(url, { headers, ...tls });
  return new Promise((resolve) => {
    const stop = () => socket.close(1000);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { streams?: StreamValue[]; dropped_entries?: unknown[] };
      if (output === 'json') console.log(JSON.stringify(frame));
      else if (frame.streams !== undefined) printStreams(frame.streams, output);
      if (frame.dropped_entries !== undefined && frame.dropped_entries.length > 0) {
        console.error(`rankscope query: the server dropped ${frame.dropped_entries.length} entries (this terminal is too slow)`);
      }
    });
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        console.error(`rankscope query: server answered ${response.statusCode}: ${body.trim()}`);
        resolve(1);
      });
    });
    socket.on('error', (error) => {
      console.error(`rankscope query: cannot tail ${server}: ${connectionErrorText(error)}`);
      resolve(1);
    });
    socket.on('close', () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(0);
    });
  });
}

function printSeries(series: MetricSeries[]): void {
  for (const item of series) {
    const labels = formatLabelSet(item.metric);
    const points = item.values ?? (item.value !== undefined ? [item.value] : []);
    for (const [seconds, value] of points) console.log(`${new Date(seconds * 1000).toISOString()} ${labels} ${value}`);
  }
}

function formatLabelSet(labels: Record<string, string>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(', ')}}`;
}

function formatNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString();
  const nanos = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${nanos}Z`;
}

/** One GET over http or https (fetch cannot take a CA or client certificate without undici's Agent). */
function getText(url: string, headers: Record<string, string>, tls: TlsConnectOptions, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:');
    const options = { headers: { 'accept-encoding': 'identity', ...headers }, signal: AbortSignal.timeout(timeoutMs), ...(secure ? tls : {}) };
    const request = (secure ? httpsRequest : httpRequest)(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

const UNTRUSTED_CERTIFICATE = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED']);

function connectionErrorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const message = (error as Error).message;
  if (UNTRUSTED_CERTIFICATE.has(code)) return `${message}: the server's certificate is not signed by a trusted CA; pass the CA with --ca-cert FILE`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `${message}: the certificate does not name this host`;
  return message;
}
