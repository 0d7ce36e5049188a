// `rankscope auth add-token` makes a token and adds its hash to a tokens file; `rankscope auth
// hash-token` hashes a token read from stdin and prints the entry to paste. The token itself is
// printed once and never stored (docs/auth.md).

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isSeq, parseDocument, stringify, type YAMLSeq } from 'yaml';
import { generateToken, hashToken, MIN_TOKEN_LENGTH, parseTokensFile, TokensFileError } from '../server/tokens-file.ts';

const USAGE = `usage: rankscope auth <add-token | hash-token> [options]

  add-token --file FILE --name NAME --tenant T [--tenant T2…] [--read-only]
      Makes a random token, adds its SHA-256 to FILE (created if missing; the server reloads it),
      and prints the token on stdout. It is shown only this once.
  hash-token [--name NAME --tenant T… --read-only] [--generate]
      Reads a token from stdin (or makes one with --generate) and prints its tokens-file entry.

  --tenant T    a tenant the token may use; repeat for several, "*" for every tenant
  --read-only   the token may query, tail and list, but not push or change rules`;

interface EntryOptions {
  name: string;
  tenants: string[];
  readOnly: boolean;
}

function entryOf(token: string, options: EntryOptions): Record<string, unknown> {
  return { name: options.name, sha256: hashToken(token), tenants: options.tenants, access: options.readOnly ? 'read' : 'read-write' };
}

/** Adds the entry to the file, checks the result parses, and replaces the file in one rename. */
function addToFile(path: string, entry: Record<string, unknown>): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# rankscope tokens file (docs/auth.md): SHA-256 hashes of tokens, never the tokens.\ntokens: []\n';
  let document = parseDocument(text);
  if (document.errors.length > 0) throw new TokensFileError(`${path}: invalid YAML: ${document.errors[0]!.message.split('\n')[0]}`);
  // A file of comments only has no mapping to add to.
  if (document.contents === null) document = parseDocument(`${text}\ntokens: []\n`);
  const names = parseTokensFile(text, path).map((existing) => existing.name);
  if (names.includes(String(entry.name))) throw new TokensFileError(`${path}: a token named "${String(entry.name)}" is already listed`);
  let tokens = document.get('tokens');
  if (!isSeq(tokens)) {
    tokens = document.createNode([]);
    document.set('tokens', tokens);
  }
  (tokens as YAMLSeq).flow = false;
  const node = document.createNode(entry);
  const tenants = node.get('tenants', true);
  if (isSeq(tenants)) tenants.flow = true;
  (tokens as YAMLSeq).add(node);
  const updated = document.toString();
  parseTokensFile(updated, path);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, updated, { mode: 0o600 });
  renameSync(temporary, path);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h') {
    console.log(USAGE);
    return action === undefined ? 2 : 0;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        file: { type: 'string' },
        name: { type: 'string' },
        tenant: { type: 'string', multiple: true },
        'read-only': { type: 'boolean', default: false },
        generate: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`rankscope auth: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const entryOptions: EntryOptions = { name: values.name ?? '', tenants: values.tenant ?? [], readOnly: values['read-only'] };
  try {
    if (action === 'add-token') {
      if (values.file === undefined || entryOptions.name === '' || entryOptions.tenants.length === 0) {
        console.error(`rankscope auth add-token: --file, --name and --tenant are required\n\n${USAGE}`);
        return 2;
      }
      const token = generateToken();
      addToFile(values.file, entryOf(token, entryOptions));
      console.error(`added token "${entryOptions.name}" (${entryOptions.readOnly ? 'read' : 'read-write'}, tenants ${entryOptions.tenants.join(', ')}) to ${values.file}; the token, shown only now:`);
      console.log(token);
      return 0;
    }
    if (action === 'hash-token') {
      const token = values.generate ? generateToken() : await readStdin();
      if (token.length < MIN_TOKEN_LENGTH) {
        console.error(
          `rankscope auth hash-token: the token is ${token.length} characters; use at least ${MIN_TOKEN_LENGTH} random characters (tokens are stored as a fast SHA-256, which only a long random token makes safe) or --generate`,
        );
        return 2;
      }
      if (values.generate) console.error(`token (shown only now): ${token}`);
      const entry = entryOf(token, { name: entryOptions.name || 'NAME', tenants: entryOptions.tenants.length > 0 ? entryOptions.tenants : ['TENANT'], readOnly: entryOptions.readOnly });
      process.stdout.write(stringify([entry]));
      return 0;
    }
  } catch (error) {
    if (!(error instanceof TokensFileError)) throw error;
    console.error(`rankscope auth: ${error.message}`);
    return 1;
  }
  console.error(`rankscope auth: unknown action ${JSON.stringify(action)}\n\n${USAGE}`);
  return 2;
}
