// A Kubernetes API client for what rankscope reads: GET of a list and its watch stream (one JSON event
// per line), over HTTPS with the service account's token and CA when running in a pod, or against an
// `api_server` URL (with an optional token file and CA) from the config. The token file is re-read
// every minute, as projected service-account tokens rotate.

import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const TOKEN_REREAD_MS = 60_000;
/** A list answer larger than this is refused (a cluster's pods are a few MB; this bounds a broken server). */
const MAX_LIST_BYTES = 256 * 1024 * 1024;
/** One watch event line; Kubernetes objects are limited to 1.5 MB by etcd. */
const MAX_EVENT_BYTES = 8 * 1024 * 1024;

export interface KubernetesApiConfig {
  /** `https://host:port`; empty = in-cluster (KUBERNETES_SERVICE_HOST/PORT and the service account). */
  apiServer?: string;
  bearerTokenFile?: string;
  caFile?: string;
  insecureSkipVerify?: boolean;
}

export class KubernetesApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'KubernetesApiError';
    this.status = status;
  }
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export class KubernetesClient {
  private readonly base: URL;
  private readonly tokenFile: string | undefined;
  private readonly ca: Buffer | undefined;
  private readonly insecure: boolean;
  private token: { value: string; readAtMs: number } | undefined;

  constructor(config: KubernetesApiConfig = {}, env: NodeJS.ProcessEnv = process.env) {
    if (config.apiServer) {
      this.base = new URL(config.apiServer);
      this.tokenFile = config.bearerTokenFile;
      this.ca = config.caFile ? readFileSync(config.caFile) : undefined;
    } else {
      const host = env.KUBERNETES_SERVICE_HOST;
      const port = env.KUBERNETES_SERVICE_PORT ?? '443';
      if (!host) throw new Error('not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is unset) and no api_server is configured');
      this.base = new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`);
      this.tokenFile = config.bearerTokenFile ?? `${SERVICE_ACCOUNT_DIR}/token`;
      this.ca = readFileSync(config.caFile ?? `${SERVICE_ACCOUNT_DIR}/ca.crt`);
    }
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new Error(`api_server ${config.apiServer}: expected an http or https URL`);
    this.insecure = config.insecureSkipVerify ?? false;
  }

  private bearerToken(): string | undefined {
    if (this.tokenFile === undefined) return undefined;
    const now = Date.now();
    if (this.token === undefined || now - this.token.readAtMs > TOKEN_REREAD_MS) this.token = { value: readFileSync(this.tokenFile, 'utf8').trim(), readAtMs: now };
    return this.token.value;
  }

  private open(path: string, signal: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(path, this.base);
    const token = this.bearerToken();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const request = send(url, { method: 'GET', headers, signal, ...(url.protocol === 'https:' ? { ca: this.ca, rejectUnauthorized: !this.insecure } : {}) }, async (response) => {
        if (response.statusCode !== 200) {
          const body = await readBody(response, 64 * 1024).catch(() => '');
          let message = body;
          try {
            message = (JSON.parse(body) as { message?: string }).message ?? body;
          } catch {
            // not a Status object: keep the text
          }
          reject(new KubernetesApiError(response.statusCode ?? 0, `GET ${url.pathname}${url.search}: ${response.statusCode} ${message}`.trim()));
          return;
        }
        resolve(response);
      });
      request.on('error', reject);
      request.end();
    });
  }

  /** GET a list (or any object) as JSON. */
  async get<T>(path: string, signal: AbortSignal): Promise<T> {
    const response = await this.open(path, signal);
    return JSON.parse(await readBody(response, MAX_LIST_BYTES)) as T;
  }

  /** Streams watch events of `path` (a list path with `watch=1` added) until the server ends it or `signal` aborts. */
  async watch<T>(path: string, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    const response = await this.open(path, signal);
    let pending = '';
    for await (const chunk of response as AsyncIterable<Buffer>) {
      pending += chunk.toString('utf8');
      if (pending.length > MAX_EVENT_BYTES) throw new Error(`watch ${path}: an event line exceeds ${MAX_EVENT_BYTES} bytes`);
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line !== '') onEvent(JSON.parse(line) as WatchEvent<T>);
      }
    }
  }
}

async function readBody(response: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      response.destroy();
      throw new Error(`response larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
