// Builds a plain-JS bundle of `rankscope agent` (src/cli/agent-command.ts and everything it imports,
// zod and yaml included; snappy stays external because it is a native addon) into dist/agent/.
// Running the bundle skips TypeScript type stripping at start-up, whose compiler stays resident and
// costs the agent ~18 MB of RSS (plus the stripped sources). Next to the bundle, inputs.json lists
// every source file it was built from with its size and mtime: src/cli/prebuilt.mjs uses the
// bundle only while all of them are unchanged, and otherwise the agent runs from the .ts sources.
// Usage: node scripts/build-agent.mjs [--out-dir DIR]
import { buildCommandBundle } from './command-bundle.mjs';

await buildCommandBundle('agent', 'src/cli/agent-command.ts', process.argv.slice(2));
