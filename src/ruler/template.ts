// A Go text/template subset, enough for Prometheus alert templates: text and {{ actions }} with trim
// markers and comments; pipelines with `|`; fields (.Labels.pod), variables ($labels.pod, $x := …),
// literals; if / else if / else, range (with $k, $v :=), with; and Go's builtins plus the functions in
// template-functions.ts. Parsing is separate from execution so rule files are checked once at load.

import { formatGoValue } from './go-format.ts';

export class TemplateError extends Error {
  /** 0-based offset into the template text, when known. */
  readonly offset: number | undefined;
  constructor(message: string, offset?: number) {
    super(message);
    this.name = 'TemplateError';
    this.offset = offset;
  }
}

type Operand =
  | { kind: 'dot'; fields: string[] }
  | { kind: 'variable'; name: string; fields: string[] }
  | { kind: 'function'; name: string }
  | { kind: 'literal'; value: unknown }
  | { kind: 'nested'; pipeline: Pipeline; fields: string[] };

interface Command {
  operands: Operand[];
  offset: number;
}

interface Pipeline {
  declarations: string[];
  /** `$x = …` assigns an existing variable; `$x := …` declares one. */
  assigns: boolean;
  commands: Command[];
  offset: number;
}

type TemplateNode =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Pipeline }
  | { kind: 'if' | 'with' | 'range'; pipeline: Pipeline; body: TemplateNode[]; elseBody: TemplateNode[] };

export interface CompiledTemplate {
  source: string;
  nodes: TemplateNode[];
}

export type TemplateFunction = (...args: unknown[]) => unknown;

// ---------------------------------------------------------------------------------------------------
// Lexing: split into text and action spans, then tokenize each action.

interface Token {
  kind: 'field' | 'variable' | 'identifier' | 'string' | 'number' | 'bool' | 'nil' | 'dot' | '(' | ')' | '|' | ':=' | '=' | ',';
  text: string;
  offset: number;
}

const MAX_TEMPLATE_DEPTH = 100;
/** Bounds `range` output so a runaway template cannot eat the process's memory. */
const MAX_OUTPUT_CHARS = 1 << 20;

function tokenizeAction(text: string, base: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    const offset = base + i;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === '|' || ch === ',') {
      tokens.push({ kind: ch, text: ch, offset });
      i++;
      continue;
    }
    if (ch === ':' && text[i + 1] === '=') {
      tokens.push({ kind: ':=', text: ':=', offset });
      i += 2;
      continue;
    }
    if (ch === '=') {
      tokens.push({ kind: '=', text: '=', offset });
      i++;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw new TemplateError('unterminated quoted string', offset);
      let value: string;
      try {
        value = JSON.parse(text.slice(i, j + 1)) as string;
      } catch {
        throw new TemplateError(`invalid escape in string ${text.slice(i, j + 1)}`, offset);
      }
      tokens.push({ kind: 'string', text: value, offset });
      i = j + 1;
      continue;
    }
    if (ch === '`') {
      const j = text.indexOf('`', i + 1);
      if (j < 0) throw new TemplateError('unterminated raw string', offset);
      tokens.push({ kind: 'string', text: text.slice(i + 1, j), offset });
      i = j + 1;
      continue;
    }
    const word = /^(?:\$[A-Za-z0-9_]*|\.?[A-Za-z_][A-Za-z0-9_]*|[-+]?(?:0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?)|\.)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)/.exec(
      text.slice(i),
    );
    if (word === null) throw new TemplateError(`unexpected ${JSON.stringify(ch)} in action`, offset);
    const whole = word[0];
    const head = whole.slice(0, whole.length - (word[1] ?? '').length);
    if (head.startsWith('$')) tokens.push({ kind: 'variable', text: whole, offset });
    else if (head === '.' || head.startsWith('.')) {
      if (/^\.[0-9]/.test(head)) tokens.push({ kind: 'number', text: head, offset });
      else tokens.push({ kind: whole === '.' ? 'dot' : 'field', text: whole, offset });
    } else if (/^[-+0-9]/.test(head)) tokens.push({ kind: 'number', text: head, offset });
    else if (head === 'true' || head === 'false') tokens.push({ kind: 'bool', text: head, offset });
    else if (head === 'nil') tokens.push({ kind: 'nil', text: head, offset });
    else tokens.push({ kind: 'identifier', text: whole, offset });
    i += whole.length;
  }
  return tokens;
}

interface Action {
  tokens: Token[];
  offset: number;
}

type Piece = { kind: 'text'; text: string } | { kind: 'action'; action: Action };

/** The `}}` that closes an action, skipping any inside quoted strings (`{{ "}}" }}`). -1 if none. */
function findActionEnd(source: string, from: number): number {
  for (let i = from; i < source.length; i++) {
    const ch = source[i];
    if (ch === '"' || ch === '`' || ch === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== ch) j += ch !== '`' && source[j] === '\\' ? 2 : 1;
      i = j;
      continue;
    }
    if (ch === '}' && source[i + 1] === '}') return i;
  }
  return -1;
}

function splitPieces(source: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let trimNextText = false;
  while (i <= source.length) {
    const open = source.indexOf('{{', i);
    let text = source.slice(i, open < 0 ? source.length : open);
    if (trimNextText) text = text.replace(/^\s+/, '');
    if (open < 0) {
      if (text !== '') pieces.push({ kind: 'text', text });
      break;
    }
    const trimBefore = source[open + 2] === '-' && /\s/.test(source[open + 3] ?? '');
    if (trimBefore) text = text.replace(/\s+$/, '');
    if (text !== '') pieces.push({ kind: 'text', text });
    const contentStart = open + (trimBefore ? 3 : 2);
    const close = findActionEnd(source, contentStart);
    if (close < 0) throw new TemplateError('unclosed action: missing }}', open);
    const trimAfter = source[close - 1] === '-' && /\s/.test(source[close - 2] ?? '');
    const content = source.slice(contentStart, trimAfter ? close - 1 : close);
    const trimmed = content.trim();
    if (trimmed.startsWith('/*')) {
      if (!trimmed.endsWith('*/')) throw new TemplateError('unclosed comment', open);
    } else {
      pieces.push({ kind: 'action', action: { tokens: tokenizeAction(content, contentStart), offset: open } });
    }
    trimNextText = trimAfter;
    i = close + 2;
  }
  return pieces;
}

// ---------------------------------------------------------------------------------------------------
// Parsing.

function splitFields(text: string): { head: string; fields: string[] } {
  const parts = text.split('.');
  if (text.startsWith('$')) return { head: parts[0]!, fields: parts.slice(1) };
  return { head: '.', fields: parts.slice(1).filter((part) => part !== '') };
}

function parseNumber(text: string, offset: number): unknown {
  if (/^[-+]?0[xX]/.test(text)) return BigInt(text.replace('+', ''));
  if (/^[-+]?[0-9]+$/.test(text)) return BigInt(text.replace('+', ''));
  const value = Number(text);
  if (Number.isNaN(value)) throw new TemplateError(`bad number syntax: ${JSON.stringify(text)}`, offset);
  return value;
}

class PipelineParser {
  private position = 0;
  private readonly tokens: Token[];
  private readonly offset: number;
  constructor(tokens: Token[], offset: number) {
    this.tokens = tokens;
    this.offset = offset;
  }

  parse(): Pipeline {
    const pipeline = this.pipeline();
    const extra = this.tokens[this.position];
    if (extra !== undefined) throw new TemplateError(`unexpected ${JSON.stringify(extra.text)} in pipeline`, extra.offset);
    return pipeline;
  }

  private pipeline(): Pipeline {
    const start = this.tokens[this.position]?.offset ?? this.offset;
    const declarations: string[] = [];
    let assigns = false;
    // `$x :=`, `$k, $v :=` or `$x =` at the start declares variables.
    const first = this.tokens[this.position];
    if (first?.kind === 'variable' && !first.text.includes('.')) {
      const second = this.tokens[this.position + 1];
      const third = this.tokens[this.position + 2];
      const fourth = this.tokens[this.position + 3];
      if (second?.kind === ':=' || second?.kind === '=') {
        declarations.push(first.text);
        assigns = second.kind === '=';
        this.position += 2;
      } else if (second?.kind === ',' && third?.kind === 'variable' && fourth?.kind === ':=') {
        declarations.push(first.text, third.text);
        this.position += 4;
      }
    }
    const commands: Command[] = [];
    for (;;) {
      commands.push(this.command());
      if (this.tokens[this.position]?.kind !== '|') break;
      this.position++;
    }
    return { declarations, assigns, commands, offset: start };
  }

  private command(): Command {
    const operands: Operand[] = [];
    const offset = this.tokens[this.position]?.offset ?? this.offset;
    for (;;) {
      const token = this.tokens[this.position];
      if (token === undefined || token.kind === '|' || token.kind === ')') break;
      operands.push(this.operand());
    }
    if (operands.length === 0) throw new TemplateError('missing value for command', offset);
    return { operands, offset };
  }

  private operand(): Operand {
    const token = this.tokens[this.position++]!;
    switch (token.kind) {
      case 'dot':
        return { kind: 'dot', fields: [] };
      case 'field':
        return { kind: 'dot', fields: splitFields(token.text).fields };
      case 'variable': {
        const { head, fields } = splitFields(token.text);
        return { kind: 'variable', name: head, fields };
      }
      case 'identifier':
        return { kind: 'function', name: token.text };
      case 'string':
        return { kind: 'literal', value: token.text };
      case 'number':
        return { kind: 'literal', value: parseNumber(token.text, token.offset) };
      case 'bool':
        return { kind: 'literal', value: token.text === 'true' };
      case 'nil':
        return { kind: 'literal', value: null };
      case '(': {
        const pipeline = this.pipeline();
        const close = this.tokens[this.position++];
        if (close?.kind !== ')') throw new TemplateError('unclosed left paren', token.offset);
        // `(…).Field` is lexed as a separate field token immediately after the paren.
        const next = this.tokens[this.position];
        let fields: string[] = [];
        if (next?.kind === 'field' && next.offset === close.offset + 1) {
          fields = splitFields(next.text).fields;
          this.position++;
        }
        return { kind: 'nested', pipeline, fields };
      }
      default:
        throw new TemplateError(`unexpected ${JSON.stringify(token.text)} in operand`, token.offset);
    }
  }
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

/** Parses a template; throws TemplateError with the offset of the problem. */
export function compileTemplate(source: string): CompiledTemplate {
  const pieces = splitPieces(source);
  let index = 0;

  const parseList = (depth: number, terminators: Set<string>): { nodes: TemplateNode[]; ended: string; endAction?: Action } => {
    if (depth > MAX_TEMPLATE_DEPTH) throw new TemplateError('template nesting too deep');
    const nodes: TemplateNode[] = [];
    while (index < pieces.length) {
      const piece = pieces[index++]!;
      if (piece.kind === 'text') {
        nodes.push(piece);
        continue;
      }
      const { tokens, offset } = piece.action;
      if (tokens.length === 0) throw new TemplateError('missing value for command', offset);
      const keyword = tokens[0]!.kind === 'identifier' && KEYWORDS.has(tokens[0]!.text) ? tokens[0]!.text : undefined;
      if (keyword === 'end' || keyword === 'else') {
        if (!terminators.has(keyword)) throw new TemplateError(`unexpected {{${keyword}}}`, offset);
        return { nodes, ended: keyword, endAction: piece.action };
      }
      if (keyword === 'if' || keyword === 'with' || keyword === 'range') {
        nodes.push(parseControl(keyword, tokens.slice(1), offset, depth));
        continue;
      }
      if (keyword !== undefined) throw new TemplateError(`{{${keyword}}} is not supported in alert templates`, offset);
      nodes.push({ kind: 'action', pipeline: new PipelineParser(tokens, offset).parse() });
    }
    if (terminators.size > 0) throw new TemplateError('unexpected EOF: missing {{end}}', source.length);
    return { nodes, ended: 'eof' };
  };

  const parseControl = (keyword: 'if' | 'with' | 'range', tokens: Token[], offset: number, depth: number): TemplateNode => {
    if (tokens.length === 0) throw new TemplateError(`missing pipeline in {{${keyword}}}`, offset);
    const pipeline = new PipelineParser(tokens, offset).parse();
    const body = parseList(depth + 1, new Set(['end', 'else']));
    let elseBody: TemplateNode[] = [];
    if (body.ended === 'else') {
      const elseTokens = body.endAction!.tokens.slice(1);
      if (elseTokens.length > 0) {
        // `{{else if …}}` / `{{else with …}}` chain: a nested control node that consumes the shared {{end}}.
        const chained = elseTokens[0]!;
        if (chained.kind !== 'identifier' || (chained.text !== 'if' && chained.text !== 'with')) {
          throw new TemplateError('unexpected tokens after {{else}}', chained.offset);
        }
        elseBody = [parseControl(chained.text, elseTokens.slice(1), chained.offset, depth + 1)];
      } else {
        const rest = parseList(depth + 1, new Set(['end']));
        elseBody = rest.nodes;
      }
    }
    return { kind: keyword, pipeline, body: body.nodes, elseBody };
  };

  const { nodes } = parseList(0, new Set());
  return { source, nodes };
}

// ---------------------------------------------------------------------------------------------------
// Execution.

export function isTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (value === 0 || value === 0n || value === '') return false;
  if (typeof value === 'number' && Number.isNaN(value)) return true;
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof Map) return value.size > 0;
  if (typeof value === 'object' && !(value instanceof Date)) return Object.keys(value).length > 0;
  return true;
}

function fieldOf(value: unknown, name: string, offset: number): unknown {
  if (value === undefined || value === null) throw new TemplateError(`nil pointer evaluating .${name}`, offset);
  if (value instanceof Map) return value.has(name) ? value.get(name) : '';
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    // Prometheus runs alert templates with missingkey=zero: a missing label reads as "".
    return Object.hasOwn(record, name) ? record[name] : '';
  }
  throw new TemplateError(`can't evaluate field ${name} in type ${typeof value}`, offset);
}

class Scope {
  private readonly frames: Array<Map<string, unknown>> = [new Map()];
  get(name: string, offset: number): unknown {
    for (let i = this.frames.length - 1; i >= 0; i--) if (this.frames[i]!.has(name)) return this.frames[i]!.get(name);
    throw new TemplateError(`undefined variable: ${name}`, offset);
  }
  declare(name: string, value: unknown): void {
    this.frames[this.frames.length - 1]!.set(name, value);
  }
  assign(name: string, value: unknown, offset: number): void {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      if (this.frames[i]!.has(name)) {
        this.frames[i]!.set(name, value);
        return;
      }
    }
    throw new TemplateError(`undefined variable: ${name}`, offset);
  }
  push(): void {
    this.frames.push(new Map());
  }
  pop(): void {
    this.frames.pop();
  }
}

class Execution {
  private output = '';
  private readonly scope = new Scope();
  private readonly functions: Record<string, TemplateFunction>;
  constructor(root: unknown, variables: Record<string, unknown>, functions: Record<string, TemplateFunction>) {
    this.functions = functions;
    this.scope.declare('$', root);
    for (const [name, value] of Object.entries(variables)) this.scope.declare(name.startsWith('$') ? name : `$${name}`, value);
  }

  run(nodes: TemplateNode[], dot: unknown): string {
    this.walk(nodes, dot);
    return this.output;
  }

  private write(text: string): void {
    this.output += text;
    if (this.output.length > MAX_OUTPUT_CHARS) throw new TemplateError(`template output exceeds ${MAX_OUTPUT_CHARS} characters`);
  }

  private walk(nodes: TemplateNode[], dot: unknown): void {
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          this.write(node.text);
          break;
        case 'action': {
          const value = this.pipeline(node.pipeline, dot);
          if (node.pipeline.declarations.length === 0) this.write(formatGoValue(value));
          break;
        }
        case 'if':
        case 'with': {
          this.scope.push();
          const value = this.pipeline(node.pipeline, dot);
          if (isTruthy(value)) this.walk(node.body, node.kind === 'with' ? value : dot);
          else this.walk(node.elseBody, dot);
          this.scope.pop();
          break;
        }
        case 'range': {
          this.scope.push();
          const value = this.pipeline({ ...node.pipeline, declarations: [] }, dot);
          const items = rangeItems(value, node.pipeline.offset);
          if (items.length === 0) this.walk(node.elseBody, dot);
          for (const [key, item] of items) {
            const [first, second] = node.pipeline.declarations;
            if (second !== undefined) {
              this.scope.declare(first!, key);
              this.scope.declare(second, item);
            } else if (first !== undefined) this.scope.declare(first, item);
            this.walk(node.body, item);
          }
          this.scope.pop();
          break;
        }
      }
    }
  }

  private pipeline(pipeline: Pipeline, dot: unknown): unknown {
    let value: unknown = undefined;
    let hasValue = false;
    for (const command of pipeline.commands) {
      value = this.command(command, dot, hasValue ? [value] : []);
      hasValue = true;
    }
    if (pipeline.declarations.length > 0) {
      const name = pipeline.declarations[0]!;
      if (pipeline.assigns) this.scope.assign(name, value, pipeline.offset);
      else this.scope.declare(name, value);
    }
    return value;
  }

  private command(command: Command, dot: unknown, piped: unknown[]): unknown {
    const [head, ...rest] = command.operands;
    if (head!.kind === 'function') {
      const args = rest.map((operand) => this.operand(operand, dot, command.offset));
      return this.call(head!.name, [...args, ...piped], command.offset);
    }
    if (rest.length > 0 || piped.length > 0) {
      throw new TemplateError(`can't give argument to non-function ${describe(head!)}`, command.offset);
    }
    return this.operand(head!, dot, command.offset);
  }

  private operand(operand: Operand, dot: unknown, offset: number): unknown {
    switch (operand.kind) {
      case 'dot':
        return operand.fields.reduce((value, name) => fieldOf(value, name, offset), dot);
      case 'variable':
        return operand.fields.reduce((value, name) => fieldOf(value, name, offset), this.scope.get(operand.name, offset));
      case 'literal':
        return operand.value;
      case 'function':
        return this.call(operand.name, [], offset);
      case 'nested':
        return operand.fields.reduce((value, name) => fieldOf(value, name, offset), this.pipeline(operand.pipeline, dot));
    }
  }

  private call(name: string, args: unknown[], offset: number): unknown {
    const fn = this.functions[name];
    if (fn === undefined) throw new TemplateError(`function ${JSON.stringify(name)} not defined`, offset);
    try {
      return fn(...args);
    } catch (error) {
      if (error instanceof TemplateError) throw error;
      throw new TemplateError(`error calling ${name}: ${(error as Error).message}`, offset);
    }
  }
}

function describe(operand: Operand): string {
  if (operand.kind === 'dot') return `.${operand.fields.join('.')}`;
  if (operand.kind === 'variable') return [operand.name, ...operand.fields].join('.');
  if (operand.kind === 'literal') return formatGoValue(operand.value);
  return 'value';
}

function rangeItems(value: unknown, offset: number): Array<[unknown, unknown]> {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map((item, index) => [BigInt(index), item]);
  if (value instanceof Map) return [...value.entries()].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
  if (typeof value === 'bigint') return Array.from({ length: Number(value) }, (_, index) => [BigInt(index), BigInt(index)]);
  if (typeof value === 'object') {
    // Go ranges over maps in sorted key order.
    return Object.keys(value)
      .sort()
      .map((key) => [key, (value as Record<string, unknown>)[key]]);
  }
  throw new TemplateError(`range can't iterate over ${formatGoValue(value)}`, offset);
}

/** Runs a compiled template with `dot` as `.` and extra `$variables`. */
export function executeTemplate(
  template: CompiledTemplate,
  dot: unknown,
  variables: Record<string, unknown>,
  functions: Record<string, TemplateFunction>,
): string {
  return new Execution(dot, variables, functions).run(template.nodes, dot);
}
