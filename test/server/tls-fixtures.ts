// A throwaway CA and the certificates a test needs (server for 127.0.0.1/localhost, client), made with
// the openssl CLI into a temp dir, and an HTTPS request helper that trusts that CA. No network.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export const OPENSSL_MISSING = spawnSync('openssl', ['version']).status === 0 ? undefined : 'the openssl CLI is not installed';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface TestCa {
  dir: string;
  caFile: string;
  ca: Buffer;
  /** Writes a certificate signed by this CA (and its key) to `certFile`/`keyFile`. */
  issue(options: { certFile: string; keyFile: string; commonName: string; client?: boolean }): void;
  dispose(): void;
}

export function makeTestCa(name = 'rankscope test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-tls-'));
  const caFile = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  let serial = 0;
  return {
    dir,
    caFile,
    ca: readFileSync(caFile),
    issue({ certFile, keyFile, commonName, client = false }) {
      serial++;
      const csr = join(dir, `req-${serial}.csr`);
      const extensions = join(dir, `ext-${serial}.cnf`);
      writeFileSync(extensions, client ? 'extendedKeyUsage=clientAuth\n' : 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${commonName}`]);
      openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-set_serial', String(1000 + serial), '-out', certFile, '-days', '2', '-extfile', extensions]);
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface HttpsAnswer {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
  /** The certificate the server presented on this (fresh) connection. */
  peerCertificate: PeerCertificate;
}

/** One request on a fresh connection (no keep-alive), so a reloaded certificate is seen at once. */
export function httpsRequest(url: string, options: RequestOptions & { body?: string | Buffer } = {}): Promise<HttpsAnswer> {
  const { body, ...requestOptions } = options;
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...requestOptions }, (response) => {
      const peerCertificate = (response.socket as TLSSocket).getPeerCertificate();
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: response.headers, peerCertificate }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
