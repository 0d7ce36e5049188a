// How a job's scrapes reach their targets: HTTP or HTTPS GETs through the job's tls_config pool
// (tls-pool.ts) with its credentials (basic_auth, bearer_token, authorization, oauth2), following
// redirects as Prometheus does, gzip decoded. Credential files are read at each scrape.

import { readFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { ScrapeConfig } from './config.ts';
import { OAuth2TokenSource } from './oauth2-token.ts';
import { readBody, TlsPool } from './tls-pool.ts';

const gunzipAsync = promisify(gunzip);

/** Prometheus follows up to 10 redirects (Go's net/http default). */
const MAX_REDIRECTS = 10;

export interface TargetResponse {
  status: number;
  statusText: string;
  contentType: string | undefined;
  body: string;
}

export class TargetClient {
  private readonly config: ScrapeConfig;
  private readonly pool: TlsPool;
  private readonly oauth2: OAuth2TokenSource | undefined;

  constructor(config: ScrapeConfig) {
    this.config = config;
    this.pool = new TlsPool(config.tls_config);
    this.oauth2 = config.oauth2 === undefined ? undefined : new OAuth2TokenSource(config.oauth2);
  }

  /** GETs `url` with the job's credentials, within `timeoutMs` for the whole exchange. */
  async get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<TargetResponse> {
    const signal = AbortSignal.timeout(timeoutMs);
    const authorization = await this.authorization(signal, timeoutMs);
    const allHeaders = authorization === undefined ? headers : { ...headers, authorization };
    let current = new URL(url);
    for (let redirects = 0; ; redirects++) {
      const response = await this.pool.send(current, { method: 'GET', headers: allHeaders }, signal, timeoutMs);
      const location = response.headers.location;
      if (response.statusCode !== undefined && response.statusCode >= 300 && response.statusCode < 400 && location !== undefined) {
        response.resume();
        if (redirects >= MAX_REDIRECTS) throw new Error(`Get "${url}": stopped after ${MAX_REDIRECTS} redirects`);
        current = new URL(location, current);
        continue;
      }
      let body = await readBody(response, signal, timeoutMs);
      if (/\bgzip\b/i.test(response.headers['content-encoding'] ?? '')) body = await gunzipAsync(body);
      return { status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', contentType: response.headers['content-type'], body: body.toString('utf8') };
    }
  }

  close(): void {
    this.pool.close();
    this.oauth2?.close();
  }

  private async authorization(signal: AbortSignal, timeoutMs: number): Promise<string | undefined> {
    const config = this.config;
    if (this.oauth2 !== undefined) return this.oauth2.authorization(signal, timeoutMs);
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
