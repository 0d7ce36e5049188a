// The tokens file: who may push and read which tenants. Each entry holds the SHA-256 of a token (never
// the token), the tenants it is bound to, and its access (read, or read-write).
//
//   tokens:
//     - name: agents-team-a          # shown in logs and error messages, never secret
//       sha256: 9f86d081884c7d65…    # hex SHA-256 of the token (`rankscope auth hash-token`)
//       tenants: [team-a]            # one or more tenant ids, or ["*"] for every tenant
//       access: read-write           # read | read-write
//
// Why SHA-256 and not a salted slow hash (scrypt, bcrypt): those exist to make guessing a *chosen*
// password from a stolen hash expensive. Our tokens are 32 random bytes made by `rankscope auth
// add-token`, so there is nothing to guess (2^256 tries), and a salt adds nothing against that.
// A fast hash keeps the check to microseconds on every push (bench/auth-check.ts), where scrypt at its safe cost
// (~50 ms and 16 MB) would have to be cached or would let one client with wrong passwords occupy
// libuv's threadpool, which the WAL's fsync shares. `hash-token` refuses short tokens for that reason.

import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';

/** Shortest token `hash-token` accepts: below this a fast hash could be brute-forced offline. */
export const MIN_TOKEN_LENGTH = 20;
/** Tenant ids as Loki accepts them (src/server/tenant.ts checks the same set on every request). */
const TENANT_ID = /^[a-zA-Z0-9!\-_.*'()]{1,150}$/;

export type TokenAccess = 'read' | 'read-write';

const tokenEntrySchema = z.strictObject({
  name: z.string().min(1, 'expected a name for the token'),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'expected the 64 hex digits of the token\'s SHA-256 (make one with `rankscope auth hash-token`)')
    .transform((hex) => hex.toLowerCase()),
  tenants: z
    .array(z.string().refine((tenant) => tenant === '*' || (TENANT_ID.test(tenant) && tenant !== '.' && tenant !== '..'), {
      message: "expected a tenant id (up to 150 characters of a-z, A-Z, 0-9 and !-_.*'()) or \"*\" for every tenant",
    }))
    .min(1, 'expected at least one tenant'),
  access: z.enum(['read', 'read-write']),
});

const tokensFileSchema = z.strictObject({ tokens: z.array(tokenEntrySchema).default([]) });

export interface TokenEntry {
  name: string;
  /** The SHA-256 of the token. */
  digest: Buffer;
  /** Tenant ids, or undefined when the token is good for every tenant (`"*"`). */
  tenants: string[] | undefined;
  access: TokenAccess;
}

export class TokensFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokensFileError';
  }
}

/** Parses and validates a tokens file's text; errors name the file, the entry and the field. */
export function parseTokensFile(text: string, fileName: string): TokenEntry[] {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    throw new TokensFileError(`${fileName}:${lineCounter.linePos(first.pos[0]).line}: invalid YAML: ${first.message.split('\n')[0]}`);
  }
  const result = tokensFileSchema.safeParse(document.toJS() ?? {});
  if (!result.success) {
    const messages = result.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [];
      const path = [...issue.path, ...keys].map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('').replace(/^\./, '');
      return `${fileName}: ${path === '' ? '' : `${path}: `}${issue.message}`;
    });
    throw new TokensFileError(messages.join('\n'));
  }
  const seen = new Set<string>();
  return result.data.tokens.map((entry, index) => {
    if (seen.has(entry.sha256)) throw new TokensFileError(`${fileName}: tokens[${index}].sha256: the same token hash is listed twice`);
    seen.add(entry.sha256);
    return {
      name: entry.name,
      digest: Buffer.from(entry.sha256, 'hex'),
      tenants: entry.tenants.includes('*') ? undefined : [...new Set(entry.tenants)],
      access: entry.access,
    };
  });
}

export function readTokensFile(path: string): TokenEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TokensFileError(`${path}: cannot read tokens file: ${(error as Error).message}`);
  }
  return parseTokensFile(text, path);
}

export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/** A fresh token: 32 random bytes, base64url, with a prefix that secret scanners can match. */
export function generateToken(): string {
  return `rstk_${randomBytes(32).toString('base64url')}`;
}

/**
 * The entry whose hash matches `token`, or undefined. Every entry is compared, in constant time, so the
 * time taken says nothing about which entry (or which hash prefix) came close.
 */
export function findToken(entries: readonly TokenEntry[], token: string): TokenEntry | undefined {
  const digest = hash('sha256', token, 'buffer');
  let found: TokenEntry | undefined;
  for (const entry of entries) {
    if (timingSafeEqual(entry.digest, digest) && found === undefined) found = entry;
  }
  return found;
}
