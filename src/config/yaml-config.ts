// YAML configuration files validated by a zod schema, with every problem named by file, line and
// column: the one mapping from a zod issue to a position in the YAML text, shared by the server's and
// the agent's config files (rule files have their own grammar in ruler/rule-file.ts).

import { isMap, isPair, isScalar, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';

export class ConfigFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

export interface YamlConfigText {
  /** The document as plain data (`{}` for an empty file). */
  value: unknown;
  /** `file:line:col` of the node at `path` (or of the deepest node of it that exists). */
  locate(path: readonly PropertyKey[], unknownKey?: string): string;
}

/** Parses YAML text; a syntax error or a duplicate key throws with its position. */
export function parseYamlConfig(text: string, fileName: string): YamlConfigText {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    const position = lineCounter.linePos(first.pos[0]);
    throw new ConfigFileError(`${fileName}:${position.line}:${position.col}: invalid YAML: ${first.message.split('\n')[0]}`);
  }
  return {
    value: document.toJS() ?? {},
    locate: (path, unknownKey) => {
      const node = findNode(document.contents, path, unknownKey);
      const position = node?.range ? lineCounter.linePos(node.range[0]) : { line: 1, col: 1 };
      return `${fileName}:${position.line}:${position.col}`;
    },
  };
}

/** `a.b[2].c`, or `(top level)` for the root. */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : `${text === '' ? '' : '.'}${String(key)}`;
  return text === '' ? '(top level)' : text;
}

/** The path an issue is about; for an unknown key, the key itself. */
export function issueKeyPath(issue: z.core.$ZodIssue): PropertyKey[] {
  return issue.code === 'unrecognized_keys' && issue.keys.length > 0 ? [...issue.path, issue.keys[0]!] : [...issue.path];
}

/** What the issue says; a bad record key carries the key's own issue, which says what a key must be. */
export function issueMessage(issue: z.core.$ZodIssue): string {
  const nested = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
  return nested !== undefined ? `invalid key: ${nested}` : issue.message;
}

/** One line per issue: `file:line:col: path: message`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], text: YamlConfigText): string[] {
  return issues.map((issue) => {
    const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    return `${text.locate(issue.path, unknownKey)}: ${formatConfigPath(issueKeyPath(issue))}: ${issueMessage(issue)}`;
  });
}

/** The node at `path`, else the deepest one that exists; for an unknown key, the key's own node. */
function findNode(root: unknown, path: readonly PropertyKey[], unknownKey?: string): YamlNode | undefined {
  let node = root as YamlNode | null | undefined;
  const keys = unknownKey === undefined ? path : [...path, unknownKey];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(key));
      if (pair === undefined) return node;
      const last = i === keys.length - 1;
      node = (last && unknownKey !== undefined ? pair.key : (pair.value ?? pair.key)) as YamlNode;
    } else if (node !== null && node !== undefined && 'items' in node && Array.isArray(node.items) && typeof key === 'number') {
      node = (node.items[key] as YamlNode | undefined) ?? node;
    } else {
      return node ?? undefined;
    }
  }
  return node ?? undefined;
}
