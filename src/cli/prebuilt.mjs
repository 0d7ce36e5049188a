// Finds the prebuilt plain-JS bundle of a command (`rankscope agent`: scripts/build-agent.mjs,
// `rankscope server`: scripts/build-server.mjs) and returns its module, or undefined when there is
// none or any source it was built from has changed since (then the caller runs the .ts sources).
// Plain JavaScript on purpose: importing it must not load the TypeScript type stripper, which is
// the memory the bundles exist to save.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Commands that have a bundle: dist/<name>/<name>-command.js. */
export const PREBUILT_COMMANDS = ['agent', 'server'];

/**
 * @param {string} root the repository (package) root
 * @param {string} name the command
 * @returns {Promise<{ run(argv: string[]): Promise<number> } | undefined>}
 */
export async function loadPrebuiltCommand(root, name) {
  if (!PREBUILT_COMMANDS.includes(name)) return undefined;
  const dir = join(root, 'dist', name);
  const bundle = join(dir, `${name}-command.js`);
  if (!existsSync(bundle)) return undefined;
  try {
    const { files } = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8'));
    for (const file of files) {
      const stat = statSync(join(root, file.path));
      if (stat.size !== file.sizeBytes || stat.mtimeMs !== file.mtimeMs) return undefined;
    }
  } catch {
    return undefined; // no or unreadable manifest, or a source gone: not trustworthy
  }
  return import(pathToFileURL(bundle).href);
}
