// `| json` and `| json label="path", …`.

import type { ExtractionParam } from '../syntax/ast.ts';
import { ErrorType, sanitizeLabelKey, type PipelineEntry, type PipelineStage } from './labels-builder.ts';
import { jsonNodeText, JsonSyntaxError, parseJsonDocument, type JsonNode } from './json-scanner.ts';
import { StageBuildError } from './line-filter.ts';

export function jsonParserStage(params: ExtractionParam[]): PipelineStage {
  if (params.length === 0) return { process: extractAll };
  const compiled = params.map((param) => ({ label: param.label, path: parseJsonPath(param.expression) }));
  return {
    process(entry) {
      let document: JsonNode;
      try {
        document = parseJsonDocument(entry.line);
      } catch (error) {
        entry.labels.setError(ErrorType.json, (error as Error).message);
        return true;
      }
      const seen = new Set<string>();
      for (const { label, path } of compiled) {
        if (seen.has(label)) continue;
        seen.add(label);
        const node = resolvePath(document, path);
        const value = node ? jsonNodeText(entry.line, node) : '';
        entry.labels.setExtracted(label, cleanValue(value));
      }
      return true;
    },
  };
}

function extractAll(entry: PipelineEntry): boolean {
  let document: JsonNode;
  try {
    document = parseJsonDocument(entry.line);
  } catch (error) {
    entry.labels.setError(ErrorType.json, (error as Error).message);
    return true;
  }
  if (document.type !== 'object') {
    entry.labels.setError(ErrorType.json, "Value looks like object, but can't find closing '}' symbol");
    return true;
  }
  walk(entry, document, '');
  return true;
}

function walk(entry: PipelineEntry, node: JsonNode & { type: 'object' }, prefix: string): void {
  for (const [key, value] of node.entries) {
    const sanitized = sanitizeLabelKey(key, prefix === '');
    if (sanitized === '') continue;
    const name = prefix ? `${prefix}_${sanitized}` : sanitized;
    if (value.type === 'object') {
      walk(entry, value, name);
      continue;
    }
    if (value.type === 'array') continue;
    entry.labels.setExtracted(name, cleanValue(jsonNodeText(entry.line, value)));
  }
}

function cleanValue(value: string): string {
  return value.includes('\uFFFD') ? value.replaceAll('\uFFFD', ' ') : value;
}

type PathStep = string | number;

/** Parses `a.b`, `a["key with space"]`, `list[0]`, and mixes of those. */
export function parseJsonPath(expression: string): PathStep[] {
  const steps: PathStep[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new StageBuildError(`cannot parse expression [${expression}]: syntax error: ${what}`);
  };
  if (expression.length === 0) fail('unexpected $end');
  while (i < expression.length) {
    const c = expression[i]!;
    if (c === '.') {
      if (i === 0 || i === expression.length - 1) fail(`unexpected DOT`);
      i++;
      continue;
    }
    if (c === '[') {
      const close = expression.indexOf(']', i);
      if (close < 0) fail('unexpected $end, expecting RSB');
      const inner = expression.slice(i + 1, close).trim();
      if (/^\d+$/.test(inner)) steps.push(Number(inner));
      else if (/^"(?:[^"\\]|\\.)*"$/.test(inner)) steps.push(JSON.parse(inner) as string);
      else fail(`unexpected ${inner === '' ? 'RSB' : 'STRING'}`);
      i = close + 1;
      continue;
    }
    const match = /^[^.[\]]+/.exec(expression.slice(i))!;
    if (!match || /[\s"]/.test(match[0])) fail(`unexpected FIELD`);
    steps.push(match[0]);
    i += match[0].length;
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
