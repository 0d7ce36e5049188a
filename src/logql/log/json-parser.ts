// `| json` (every key, flattened: json-flattener.ts) and `| json label="path", …` (picked by path).

import type { ExtractionParam } from '../syntax/ast.ts';
import { ErrorType, type PipelineEntry, type PipelineStage } from './labels-builder.ts';
import { JsonFlattener, neededNamesByLength, type NeededNamesByLength } from './json-flattener.ts';
import { jsonNodeText, JsonSyntaxError, parseJsonDocument, type JsonNode } from './json-scanner.ts';
import { StageBuildError } from './line-filter.ts';
import { isNeeded, type NeededLabels } from './label-hints.ts';

export function jsonParserStage(params: ExtractionParam[], needed: NeededLabels = null): PipelineStage {
  if (params.length === 0) {
    const neededNames = neededNamesByLength(needed);
    return {
      process(entry) {
        const bytes = Buffer.from(entry.line, 'utf8');
        return extractAll(entry, bytes, 0, bytes.length, needed, neededNames);
      },
      processRaw: (entry, bytes, start, end) => extractAll(entry, bytes, start, end, needed, neededNames),
    };
  }
  const compiled = params.map((param) => ({ label: param.label, path: parseJsonPath(param.expression) }));
  return {
    process(entry) {
      let document: JsonNode | undefined;
      if (entry.line.trim() !== '') {
        try {
          document = parseJsonDocument(entry.line, true);
        } catch {
          // Loki reports a bare JSONParserErr here (no details) and extracts nothing.
          entry.labels.setError(ErrorType.json);
          return true;
        }
      }
      const seen = new Set<string>();
      for (const { label, path } of compiled) {
        if (seen.has(label)) continue;
        seen.add(label);
        const node = document && path.length > 0 ? resolvePath(document, path) : undefined;
        const value = node ? jsonNodeText(entry.line, node) : '';
        entry.labels.setExtracted(label, cleanValue(value));
      }
      return true;
    },
  };
}

/** The walk's output for one line: [name, value, name, value, …], reused line after line. */
const pairs: string[] = [];
const flattener = new JsonFlattener();

function extractAll(entry: PipelineEntry, bytes: Buffer, start: number, end: number, needed: NeededLabels, neededNames: NeededNamesByLength): boolean {
  pairs.length = 0;
  const error = flattener.run(bytes, start, end, pairs, neededNames);
  if (error !== null) {
    entry.labels.setError(ErrorType.json, error);
    return true;
  }
  for (let i = 0; i < pairs.length; i += 2) {
    if (isNeeded(needed, pairs[i]!)) entry.labels.setExtracted(pairs[i]!, cleanValue(pairs[i + 1]!));
  }
  return true;
}

function cleanValue(value: string): string {
  return value.includes('\uFFFD') ? value.replaceAll('\uFFFD', ' ') : value;
}

type PathStep = string | number;

/** Parses `a.b`, `a["key with space"]`, `list[0]`, and mixes of those. Errors use Loki's yacc wording. */
export function parseJsonPath(expression: string): PathStep[] {
  const steps: PathStep[] = [];
  const fail = (what: string): never => {
    throw new StageBuildError(`cannot parse expression [${expression}]: syntax error: ${what}`);
  };
  // Tokens: FIELD, DOT, LSB, RSB, STRING, INDEX.
  type Token = { t: 'FIELD' | 'DOT' | 'LSB' | 'RSB' | 'STRING' | 'INDEX'; v: string };
  const tokens: Token[] = [];
  let i = 0;
  while (i < expression.length) {
    const c = expression[i]!;
    if (c === '.') { tokens.push({ t: 'DOT', v: c }); i++; continue; }
    if (c === '[') { tokens.push({ t: 'LSB', v: c }); i++; continue; }
    if (c === ']') { tokens.push({ t: 'RSB', v: c }); i++; continue; }
    if (c === '"') {
      const match = /^"(?:[^"\\]|\\.)*"/.exec(expression.slice(i));
      if (!match) fail('unexpected $end, expecting RSB');
      tokens.push({ t: 'STRING', v: JSON.parse(match![0]) as string });
      i += match![0].length;
      continue;
    }
    if (/\s/.test(c)) { i++; continue; }
    const field = /^[^.[\]"\s]+/.exec(expression.slice(i))![0];
    tokens.push({ t: /^\d+$/.test(field) && tokens[tokens.length - 1]?.t === 'LSB' ? 'INDEX' : 'FIELD', v: field });
    i += field.length;
  }
  const unexpected = (token: Token | undefined, expecting?: string): never =>
    fail(`unexpected ${token ? token.t : '$end'}${expecting ? `, expecting ${expecting}` : ''}`);
  if (tokens.length === 0) return steps;
  let k = 0;
  const first = tokens[k];
  if (first?.t === 'FIELD') { steps.push(first.v); k++; }
  else if (first?.t !== 'LSB') unexpected(first, 'LSB or FIELD');
  while (k < tokens.length) {
    const token = tokens[k]!;
    if (token.t === 'DOT') {
      const next = tokens[k + 1];
      if (next?.t !== 'FIELD') unexpected(next, 'FIELD');
      steps.push(next!.v);
      k += 2;
      continue;
    }
    if (token.t === 'LSB') {
      const inner = tokens[k + 1];
      if (inner?.t !== 'STRING' && inner?.t !== 'INDEX') unexpected(inner, 'STRING or INDEX');
      const close = tokens[k + 2];
      if (close?.t !== 'RSB') unexpected(close, 'RSB');
      steps.push(inner!.t === 'INDEX' ? Number(inner!.v) : inner!.v);
      k += 3;
      continue;
    }
    unexpected(token);
  }
  return steps;
}

function resolvePath(document: JsonNode, path: PathStep[]): JsonNode | undefined {
  let node: JsonNode | undefined = document;
  for (const step of path) {
    if (!node) return undefined;
    if (typeof step === 'number') {
      node = node.type === 'array' ? node.items[step] : undefined;
    } else if (node.type === 'object') {
      node = node.entries.find(([key]) => key === step)?.[1];
    } else {
      return undefined;
    }
  }
  return node;
}

export { JsonSyntaxError };
