// Prometheus' `oauth2` scrape credentials: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4)
// against `token_url`, the token cached until 10 s before it expires (as Go's oauth2 package does) and
// sent as `Authorization: <token_type> <access_token>`. The client authenticates with HTTP Basic first
// and, if the server refuses that, with client_id/client_secret in the form body (Go's auto-detected
// auth style).

import { readFile } from 'node:fs/promises';
import type { OAuth2Config } from './config.ts';
import { readBody, TlsPool } from './tls-pool.ts';

/** A token is renewed this long before its expiry (Go's oauth2 expiryDelta). */
const EXPIRY_MARGIN_MS = 10_000;

interface CachedToken {
  header: string;
  /** Infinity when the server gave no expires_in. */
  renewAtMs: number;
}

/** Go's Token.Type(): the canonical spelling of the usual token types. */
function tokenType(raw: string): string {
  switch (raw.toLowerCase()) {
    case '':
    case 'bearer':
      return 'Bearer';
    case 'mac':
      return 'MAC';
    case 'basic':
      return 'Basic';
    default:
      return raw;
  }
}

export class OAuth2TokenSource {
  private readonly config: OAuth2Config;
  private readonly pool: TlsPool;
  private readonly now: () => number;
  private token: CachedToken | undefined;

  constructor(config: OAuth2Config, now: () => number = Date.now) {
    this.config = config;
    this.pool = new TlsPool(config.tls_config);
    this.now = now;
  }

  /** The Authorization header value, fetching a new token when there is none or it is about to expire. */
  async authorization(signal: AbortSignal, timeoutMs: number): Promise<string> {
    if (this.token !== undefined && this.now() < this.token.renewAtMs) return this.token.header;
    const secret = this.config.client_secret_file !== '' ? (await readFile(this.config.client_secret_file, 'utf8')).trim() : this.config.client_secret;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.config.scopes.length > 0) form.set('scope', this.config.scopes.join(' '));
    for (const [name, value] of Object.entries(this.config.endpoint_params)) form.set(name, value);
    let answer = await this.request(form, { authorization: `Basic ${Buffer.from(`${encodeURIComponent(this.config.client_id)}:${encodeURIComponent(secret)}`).toString('base64')}` }, signal, timeoutMs);
    if (answer.status < 200 || answer.status >= 300) {
      const inBody = new URLSearchParams(form);
      inBody.set('client_id', this.config.client_id);
      if (secret !== '') inBody.set('client_secret', secret);
      answer = await this.request(inBody, {}, signal, timeoutMs);
    }
    if (answer.status < 200 || answer.status >= 300) throw new Error(`oauth2: cannot fetch token: ${answer.status} ${answer.statusText}; response: ${answer.body.slice(0, 200)}`);
    const fields = parseTokenResponse(answer.body, answer.contentType);
    const accessToken = fields.access_token;
    if (typeof accessToken !== 'string' || accessToken === '') throw new Error('oauth2: server response missing access_token');
    const expiresInSeconds = Number(fields.expires_in ?? 0);
    const startedMs = this.now();
    this.token = {
      header: `${tokenType(typeof fields.token_type === 'string' ? fields.token_type : '')} ${accessToken}`,
      renewAtMs: Number.isFinite(expiresInSeconds) && expiresInSeconds > 0 ? startedMs + expiresInSeconds * 1000 - EXPIRY_MARGIN_MS : Infinity,
    };
    return this.token.header;
  }

  close(): void {
    this.pool.close();
  }

  private async request(form: URLSearchParams, headers: Record<string, string>, signal: AbortSignal, timeoutMs: number): Promise<{ status: number; statusText: string; contentType: string; body: string }> {
    const body = form.toString();
    const response = await this.pool.send(new URL(this.config.token_url), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)), ...headers }, body }, signal, timeoutMs);
    const text = (await readBody(response, signal, timeoutMs)).toString('utf8');
    return { status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', contentType: response.headers['content-type'] ?? '', body: text };
  }
}

/** JSON, or a form-encoded body (some servers, GitHub's among them, answer that way). */
function parseTokenResponse(body: string, contentType: string): Record<string, unknown> {
  if (/application\/x-www-form-urlencoded|text\/plain/i.test(contentType)) return Object.fromEntries(new URLSearchParams(body));
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed !== null && typeof parsed === 'object') return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new Error(`oauth2: cannot parse token response: ${body.slice(0, 200)}`);
}
