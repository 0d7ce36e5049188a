// Connection pools for one Prometheus tls_config (CA, client certificate, server_name,
// insecure_skip_verify, TLS versions), used for scrape targets and OAuth2 token endpoints alike.
// node:https and not fetch(): fetch has no way to present a client certificate or trust a CA without
// a dependency. Certificate and key files are read at each request, and the HTTPS pool is rebuilt only
// when their contents change, so rotated certificates are picked up without a restart.

import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { SecureVersion } from 'node:tls';
import type { TlsConfig } from './config.ts';

const TLS_VERSIONS: Record<string, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

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

/** Connection pools for one tls_config: the HTTPS one is rebuilt when a certificate file changes. */
export class TlsPool {
  private readonly tls: TlsConfig;
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private httpsAgent: HttpsAgent | undefined;
  private material: TlsMaterial | undefined;

  constructor(tls: TlsConfig) {
    this.tls = tls;
  }

  /** Sends one request; the response's body is left to the caller. */
  async send(url: URL, options: { method: string; headers: Record<string, string>; body?: string }, signal: AbortSignal, timeoutMs: number): Promise<IncomingMessage> {
    const https = url.protocol === 'https:';
    const agent = https ? await this.tlsAgent() : this.httpAgent;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const send = https ? httpsRequest : httpRequest;
      const outgoing = send(url, { method: options.method, headers: options.headers, agent, signal }, resolve);
      outgoing.on('error', (error: Error & { code?: string }) => {
        if (signal.aborted) reject(new ScrapeTimeoutError(timeoutMs));
        else reject(new Error(`${options.method === 'GET' ? 'Get' : 'Post'} "${url.href}": ${error.message}${error.code !== undefined && !error.message.includes(error.code) ? ` (${error.code})` : ''}`));
      });
      outgoing.end(options.body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent?.destroy();
  }

  private async tlsAgent(): Promise<HttpsAgent> {
    const tls = this.tls;
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
}

/** Reads a whole response body, turning an abort into the scrape's timeout error. */
export async function readBody(response: IncomingMessage, signal: AbortSignal, timeoutMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of response) chunks.push(chunk as Buffer);
  } catch (error) {
    throw signal.aborted ? new ScrapeTimeoutError(timeoutMs) : error;
  }
  return Buffer.concat(chunks);
}
