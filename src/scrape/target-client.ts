// How a job's scrapes reach their targets: HTTP or HTTPS GETs with the job's tls_config (CA, client
// certificate, server_name, insecure_skip_verify, TLS versions) and credentials (basic_auth,
// bearer_token, authorization), following redirects as Prometheus does, gzip decoded. node:https and
// not fetch(): fetch has no way to present a client certificate or trust a CA without a dependency.
//
// Certificate, key and credential files are read at each scrape, and the connection pool is rebuilt
// only when their contents change, so rotated certificates are picked up without a restart.

import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { SecureVersion } from 'node:tls';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { ScrapeConfig, TlsConfig } from './config.ts';

const gunzipAsync = promisify(gunzip);

/** Prometheus follows up to 10 redirects (Go's net/http default). */
const MAX_REDIRECTS = 10;

const TLS_VERSIONS: Record<string, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

export interface TargetResponse {
  status: number;
  statusText: string;
  contentType: string | undefined;
  body: string;
}

/** Thrown for a scrape that ran out of time, so the loop can report it as Prometheus does. */
export class ScrapeTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`context deadline exceeded (scrape_timeout ${timeoutMs / 1000}s)`);
    this.name = 'ScrapeTimeoutError';
  }
}

interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

async function fileOrInline(inline: string, file: string, what: string): Promise<Buffer | undefined> {
  if (inline !== '') return Buffer.from(inline);
  if (file === '') return undefined;
  try {
    return await readFile(file);
  } catch (error) {
    throw new Error(`unable to read ${what} ${file}: ${(error as Error).message}`);
  }
}

async function loadTlsMaterial(tls: TlsConfig): Promise<TlsMaterial> {
  const [ca, cert, key] = await Promise.all([
    fileOrInline(tls.ca, tls.ca_file, 'CA cert'),
    fileOrInline(tls.cert, tls.cert_file, 'client certificate'),
    fileOrInline(tls.key, tls.key_file, 'client key'),
  ]);
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

const sameMaterial = (a: TlsMaterial, b: TlsMaterial): boolean => ['ca', 'cert', 'key'].every((name) => {
  const left = a[name as keyof TlsMaterial];
  const right = b[name as keyof TlsMaterial];
  return left === right || (left !== undefined && right !== undefined && left.equals(right));
});

export class TargetClient {
  private readonly config: ScrapeConfig;
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private httpsAgent: HttpsAgent | undefined;
  private material: TlsMaterial | undefined;

  constructor(config: ScrapeConfig) {
    this.config = config;
  }

  /** GETs `url` with the job's credentials, within `timeoutMs` for the whole exchange. */
  async get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<TargetResponse> {
    const signal = AbortSignal.timeout(timeoutMs);
    const authorization = await this.authorization();
    const allHeaders = authorization === undefined ? headers : { ...headers, authorization };
    let current = new URL(url);
    for (let redirects = 0; ; redirects++) {
      const response = await this.request(current, allHeaders, signal, timeoutMs);
      const location = response.headers.location;
      if (response.statusCode !== undefined && response.statusCode >= 300 && response.statusCode < 400 && location !== undefined) {
        response.resume();
        if (redirects >= MAX_REDIRECTS) throw new Error(`Get "${url}": stopped after ${MAX_REDIRECTS} redirects`);
        current = new URL(location, current);
        continue;
      }
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of response) chunks.push(chunk as Buffer);
      } catch (error) {
        throw signal.aborted ? new ScrapeTimeoutError(timeoutMs) : error;
      }
      let body = Buffer.concat(chunks);
      if (/\bgzip\b/i.test(response.headers['content-encoding'] ?? '')) body = await gunzipAsync(body);
      return { status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', contentType: response.headers['content-type'], body: body.toString('utf8') };
    }
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent?.destroy();
  }

  private async request(url: URL, headers: Record<string, string>, signal: AbortSignal, timeoutMs: number): Promise<IncomingMessage> {
    const https = url.protocol === 'https:';
    const agent = https ? await this.tlsAgent() : this.httpAgent;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const send = https ? httpsRequest : httpRequest;
      const outgoing = send(url, { method: 'GET', headers, agent, signal }, resolve);
      outgoing.on('error', (error: Error & { code?: string }) => {
        if (signal.aborted) reject(new ScrapeTimeoutError(timeoutMs));
        else reject(new Error(`Get "${url.href}": ${error.message}${error.code !== undefined && !error.message.includes(error.code) ? ` (${error.code})` : ''}`));
      });
      outgoing.end();
    });
  }

  /** The HTTPS pool for the job's current TLS material (rebuilt when a file changed). */
  private async tlsAgent(): Promise<HttpsAgent> {
    const tls = this.config.tls_config;
    const material = await loadTlsMaterial(tls);
    if (this.httpsAgent !== undefined && this.material !== undefined && sameMaterial(material, this.material)) return this.httpsAgent;
    this.httpsAgent?.destroy();
    this.material = material;
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      ...material,
      rejectUnauthorized: !tls.insecure_skip_verify,
      ...(tls.server_name !== '' ? { servername: tls.server_name } : {}),
      ...(tls.min_version !== '' ? { minVersion: TLS_VERSIONS[tls.min_version] } : {}),
      ...(tls.max_version !== '' ? { maxVersion: TLS_VERSIONS[tls.max_version] } : {}),
    });
    return this.httpsAgent;
  }

  private async authorization(): Promise<string | undefined> {
    const config = this.config;
    if (config.basic_auth !== undefined) {
      const password = config.basic_auth.password_file !== '' ? (await readFile(config.basic_auth.password_file, 'utf8')).trim() : config.basic_auth.password;
      return `Basic ${Buffer.from(`${config.basic_auth.username}:${password}`).toString('base64')}`;
    }
    if (config.authorization !== undefined) {
      const { type, credentials, credentials_file: file } = config.authorization;
      const secret = file !== '' ? (await readFile(file, 'utf8')).trim() : credentials;
      return secret === '' ? undefined : `${type} ${secret}`;
    }
    const token = config.bearer_token_file !== '' ? (await readFile(config.bearer_token_file, 'utf8')).trim() : config.bearer_token;
    return token === '' ? undefined : `Bearer ${token}`;
  }
}
