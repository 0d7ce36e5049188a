// HTTPS for the server (config `server.tls`): the certificate and key, and optionally a client CA that
// every client must present a certificate from (mutual TLS). The files are re-read when they change
// and swapped in with setSecureContext, so a renewed certificate is served to new connections without
// a restart; a pair that fails to load (a key written before its certificate, say) keeps the last good
// one and is logged.

import { readFileSync } from 'node:fs';
import { createSecureContext, type Server as TlsServer, type SecureContextOptions } from 'node:tls';
import type { FastifyBaseLogger } from 'fastify';
import { watchFiles, type FileWatch } from './file-watch.ts';

export interface TlsFiles {
  cert_file: string;
  key_file: string;
  client_ca_file: string;
}

export interface TlsServerOptions extends SecureContextOptions {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TlsConfigError(`server.tls.${key} ${path}: cannot read: ${(error as Error).message}`);
  }
}

/** Reads and checks the files: a certificate and key that do not match fail here, not at the first handshake. */
export function readTlsOptions(files: TlsFiles): TlsServerOptions {
  const cert = readPem(files.cert_file, 'cert_file');
  const key = readPem(files.key_file, 'key_file');
  const ca = files.client_ca_file === '' ? undefined : readPem(files.client_ca_file, 'client_ca_file');
  const options: TlsServerOptions = { cert, key, ...(ca !== undefined ? { ca } : {}), requestCert: ca !== undefined, rejectUnauthorized: ca !== undefined };
  try {
    createSecureContext(options);
  } catch (error) {
    throw new TlsConfigError(
      `server.tls: cannot use cert_file ${files.cert_file} with key_file ${files.key_file}${ca !== undefined ? ` and client_ca_file ${files.client_ca_file}` : ''}: ${(error as Error).message}`,
    );
  }
  return options;
}

/** Re-reads the files when they change and applies them to new connections. */
export function reloadTlsOnChange(server: TlsServer, files: TlsFiles, intervalMs: number, log: FastifyBaseLogger): FileWatch {
  const paths = [files.cert_file, files.key_file, ...(files.client_ca_file === '' ? [] : [files.client_ca_file])];
  return watchFiles(paths, intervalMs, () => {
    try {
      const options = readTlsOptions(files);
      server.setSecureContext(options);
      log.info(`reloaded TLS certificate ${files.cert_file}`);
    } catch (error) {
      log.error(`${(error as Error).message}; still serving the certificate loaded before`);
    }
  });
}
