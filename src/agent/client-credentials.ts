// What a client (the agent, `rankscope run`, `rankscope query`) sends to prove who it is, and how it
// checks the server's certificate. Names follow Promtail's client config: basic_auth {username,
// password | password_file}, bearer_token | bearer_token_file, tls_config {ca_file, cert_file,
// key_file, server_name, insecure_skip_verify}. Secret files are read on every request, so a rotated
// token is picked up without a restart (as Prometheus does).

import { readFileSync } from 'node:fs';

export interface ClientAuth {
  basicAuth?: { username: string; password?: string; passwordFile?: string };
  bearerToken?: string;
  bearerTokenFile?: string;
}

export interface ClientTls {
  /** PEM CA bundle that signed the server's certificate; replaces the system's trusted CAs. */
  caFile?: string;
  /** Client certificate and key for servers that require mutual TLS. */
  certFile?: string;
  keyFile?: string;
  /** Name the certificate must carry when it differs from the URL's host. */
  serverName?: string;
  /** Accept any certificate. Only by explicit choice; never a fallback. */
  insecureSkipVerify?: boolean;
}

/** Options for https.Agent / https.request / ws. */
export interface TlsConnectOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
}

export class ClientCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientCredentialsError';
  }
}

function readSecret(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ClientCredentialsError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  const secret = text.trim();
  if (secret === '') throw new ClientCredentialsError(`${what} ${path} is empty`);
  return secret;
}

/** The Authorization header value, or undefined when no credential is configured. */
export function authorizationHeader(auth: ClientAuth): string | undefined {
  if (auth.basicAuth !== undefined) {
    const { username, password, passwordFile } = auth.basicAuth;
    const secret = passwordFile !== undefined && passwordFile !== '' ? readSecret(passwordFile, 'password_file') : (password ?? '');
    return `Basic ${Buffer.from(`${username}:${secret}`, 'utf8').toString('base64')}`;
  }
  if (auth.bearerTokenFile !== undefined && auth.bearerTokenFile !== '') return `Bearer ${readSecret(auth.bearerTokenFile, 'bearer_token_file')}`;
  if (auth.bearerToken !== undefined && auth.bearerToken !== '') return `Bearer ${auth.bearerToken}`;
  return undefined;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ClientCredentialsError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

export function tlsConnectOptions(tls: ClientTls): TlsConnectOptions {
  if ((tls.certFile ?? '') === '' !== ((tls.keyFile ?? '') === '')) {
    throw new ClientCredentialsError('a client certificate needs both cert_file and key_file');
  }
  return {
    ...(tls.caFile ? { ca: readPem(tls.caFile, 'ca_file') } : {}),
    ...(tls.certFile ? { cert: readPem(tls.certFile, 'cert_file') } : {}),
    ...(tls.keyFile ? { key: readPem(tls.keyFile, 'key_file') } : {}),
    ...(tls.serverName ? { servername: tls.serverName } : {}),
    rejectUnauthorized: tls.insecureSkipVerify !== true,
  };
}
