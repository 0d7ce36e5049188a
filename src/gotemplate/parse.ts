// Go's text/template syntax: text, actions with pipelines (parenthesised, with `.Field` chains),
// variables (`$x :=`, `$x =`, `$i, $v :=` in range), if/else if/else, range (with break and
// continue), with/else with, define/template/block, comments and trim markers. The AST is plain
// data; every node keeps its offset into the source, so errors name the line (and, when executing,
// the column) as Go does: `template: NAME:LINE: message`.

import { TemplateParseError } from './errors.ts';

export { TemplateParseError };

export type Operand =
  | { kind: 'dot'; pos: number }
  | { kind: 'field'; path: string[]; pos: number; text: string }
  | { kind: 'variable'; name: string; path: string[]; pos: number; text: string }
  | { kind: 'identifier'; name: string; pos: number }
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'number'; value: number | bigint; pos: number; text: string }
  | { kind: 'bool'; value: boolean; pos: number }
  | { kind: 'nil'; pos: number }
  | { kind: 'pipeline'; pipeline: Pipeline; path: string[]; pos: number };

export interface Command {
  args: Operand[];
  pos: number;
}

export interface Pipeline {
  declare: string[];
  /** `=` instead of `:=`. */
  assign: boolean;
  commands: Command[];
  pos: number;
}

export type TemplateNode =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Pipeline; pos: number }
  | ControlNode
  | { kind: 'break' | 'continue'; pos: number }
  /** `{{template "name" pipeline}}` (also what `{{block}}` leaves in place). */
  | { kind: 'template'; name: string; pipeline: Pipeline | null; pos: number; /** Go's String() of the node, for errors. */ text: string };

/** One parsed source: its main list and the templates it defines with define/block. */
export interface ParsedTemplate {
  name: string;
  source: string;
  root: TemplateNode[];
  definitions: Map<string, TemplateNode[]>;
}

export interface ControlNode {
  kind: 'if' | 'with' | 'range';
  pipeline: Pipeline;
  list: TemplateNode[];
  elseList: TemplateNode[] | null;
  pos: number;
}

type Token =
  | { t: 'space' | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma' | 'eof'; pos: number }
  | { t: 'field'; text: string; pos: number }
  | { t: 'variable'; text: string; pos: number }
  | { t: 'identifier'; text: string; pos: number }
  | { t: 'dotfield'; text: string; pos: number }
  | { t: 'string'; value: string; pos: number }
  | { t: 'number'; text: string; pos: number }
  | { t: 'char'; value: number; pos: number };

/** Go's limit on nested control structures is the stack; ours is explicit so hostile input fails cleanly. */
const MAX_NESTING_DEPTH = 100;

export function parseTemplate(name: string, source: string): ParsedTemplate {
  const parser = new Parser(name, source);
  const { list, terminator } = parser.parseList();
  if (terminator) parser.fail(terminator.pos, `unexpected {{${terminator.word}}}`);
  return { name, source, root: list, definitions: parser.definitions };
}

interface Terminator {
  word: 'end' | 'else';
  /** Tokens after `else` (for `else if …`). */
  rest: Token[];
  pos: number;
}

class Parser {
  readonly name: string;
  readonly source: string;
  pos = 0;
  readonly definitions = new Map<string, TemplateNode[]>();
  /** Enclosing ranges (break/continue are legal only inside one) and all control structures. */
  rangeDepth = 0;
  depth = 0;
  /** Set by an action ending in `-}}`: the next text, in whichever list, loses its leading space. */
  trimNextText = false;
  constructor(name: string, source: string) {
    this.name = name;
    this.source = source;
  }

  lineOf(pos: number): number {
    let line = 1;
    for (let i = 0; i < pos && i < this.source.length; i++) if (this.source[i] === '\n') line++;
    return line;
  }

  fail(pos: number, message: string): never {
    // A position of -1 is the end of an action's tokens: report the action's end.
    const at = pos < 0 ? Math.max(0, this.pos - 1) : pos;
    throw new TemplateParseError(`template: ${this.name}:${this.lineOf(at)}: ${message}`, at);
  }

  parseList(): { list: TemplateNode[]; terminator: Terminator | null } {
    const list: TemplateNode[] = [];
    const source = this.source;
    while (this.pos < source.length) {
      const open = source.indexOf('{{', this.pos);
      let text = source.slice(this.pos, open < 0 ? source.length : open);
      // A `-}}` trims the text after its action, whichever list that text belongs to: the body of
      // the if/range/define it opened, or the list after the {{end}} that closed one.
      if (this.trimNextText) text = text.replace(/^[ \t\r\n]+/, '');
      this.trimNextText = false;
      if (open < 0) {
        if (text) list.push({ kind: 'text', text });
        this.pos = source.length;
        break;
      }
      let actionStart = open + 2;
      if (source.startsWith('- ', actionStart) || source.startsWith('-\t', actionStart) || source.startsWith('-\n', actionStart) || source.startsWith('-\r', actionStart)) {
        text = text.replace(/[ \t\r\n]+$/, '');
        actionStart += 1;
      }
      if (text) list.push({ kind: 'text', text });
      // Comment
      const afterSpace = actionStart + (/^[ \t\r\n]*/.exec(source.slice(actionStart))![0].length);
      if (source.startsWith('/*', afterSpace)) {
        const close = source.indexOf('*/', afterSpace + 2);
        if (close < 0) this.fail(open, 'unclosed comment');
        let end = close + 2;
        const rest = source.slice(end);
        const trimRight = /^[ \t\r\n]+-}}/.exec(rest);
        if (trimRight) {
          end += trimRight[0].length;
          this.trimNextText = true;
        } else if (rest.startsWith('}}')) end += 2;
        else this.fail(open, 'comment ends before closing delimiter');
        this.pos = end;
        continue;
      }
      const { tokens, end, trimRight } = this.lexAction(actionStart, open);
      this.pos = end;
      this.trimNextText = trimRight;
      const node = this.parseAction(tokens, open);
      if (node === null) continue;
      if ('word' in node) return { list, terminator: node };
      list.push(node);
    }
    return { list, terminator: null };
  }

  lexAction(start: number, open: number): { tokens: Token[]; end: number; trimRight: boolean } {
    const source = this.source;
    const tokens: Token[] = [];
    let i = start;
    let depth = 0;
    for (;;) {
      if (i >= source.length) this.fail(open, 'unclosed action');
      const c = source[i]!;
      if (depth === 0 && /[ \t\r\n]/.test(c)) {
        const spaceStart = i;
        while (i < source.length && /[ \t\r\n]/.test(source[i]!)) i++;
        if (source.startsWith('-}}', i) && i > spaceStart) return { tokens, end: i + 3, trimRight: true };
        tokens.push({ t: 'space', pos: spaceStart });
        continue;
      }
      if (source.startsWith('}}', i)) {
        if (depth > 0) this.fail(i, 'unclosed left paren');
        return { tokens, end: i + 2, trimRight: false };
      }
      if (/[ \t\r\n]/.test(c)) {
        tokens.push({ t: 'space', pos: i });
        while (i < source.length && /[ \t\r\n]/.test(source[i]!)) i++;
        continue;
      }
      if (c === '|') { tokens.push({ t: 'pipe', pos: i }); i++; continue; }
      if (c === '(') { tokens.push({ t: 'lparen', pos: i }); depth++; i++; continue; }
      if (c === ')') {
        if (depth === 0) this.fail(i, 'unexpected right paren');
        tokens.push({ t: 'rparen', pos: i });
        depth--;
        i++;
        continue;
      }
      if (c === ',') { tokens.push({ t: 'comma', pos: i }); i++; continue; }
      if (source.startsWith(':=', i)) { tokens.push({ t: 'declare', pos: i }); i += 2; continue; }
      if (c === '=') { tokens.push({ t: 'assign', pos: i }); i++; continue; }
      if (c === '"') {
        let j = i + 1;
        while (j < source.length && source[j] !== '"') {
          if (source[j] === '\\') j++;
          if (source[j] === '\n') this.fail(i, 'unterminated quoted string');
          j++;
        }
        if (j >= source.length) this.fail(i, 'unterminated quoted string');
        const raw = source.slice(i, j + 1);
        tokens.push({ t: 'string', value: unquoteGoString(raw, () => this.fail(i, `invalid syntax`)), pos: i });
        i = j + 1;
        continue;
      }
      if (c === '`') {
        const j = source.indexOf('`', i + 1);
        if (j < 0) this.fail(i, 'unterminated raw quoted string');
        tokens.push({ t: 'string', value: source.slice(i + 1, j), pos: i });
        i = j + 1;
        continue;
      }
      if (c === "'") {
        const match = /^'(\\.|[^\\'])'/.exec(source.slice(i));
        if (!match) this.fail(i, 'unterminated character constant');
        const value = unquoteGoString(`"${match![1]}"`, () => this.fail(i, 'invalid syntax'));
        tokens.push({ t: 'char', value: value.codePointAt(0)!, pos: i });
        i += match![0].length;
        continue;
      }
      if (c === '.' && /[0-9]/.test(source[i + 1] ?? '')) {
        const num = /^\.\d+(?:[eE][+-]?\d+)?/.exec(source.slice(i))![0];
        tokens.push({ t: 'number', text: num, pos: i });
        i += num.length;
        continue;
      }
      if (c === '.' || c === '$') {
        const match = /^(?:\$[A-Za-z0-9_]*|)(?:\.[A-Za-z0-9_]+)*/.exec(source.slice(i))![0];
        if (c === '.' && match === '') {
          tokens.push({ t: 'field', text: '.', pos: i });
          i++;
          continue;
        }
        if (c === '.') {
          const previous = tokens[tokens.length - 1];
          const chained = previous && (previous.t === 'rparen' || previous.t === 'field' || previous.t === 'variable' || previous.t === 'identifier');
          tokens.push({ t: chained && previous.t === 'rparen' ? 'dotfield' : 'field', text: match, pos: i });
        } else tokens.push({ t: 'variable', text: match, pos: i });
        i += match.length;
        continue;
      }
      if (/[0-9+-]/.test(c)) {
        const num = /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*)?\.?\d*(?:[eE][+-]?\d+)?)/.exec(source.slice(i))![0];
        if (num === '' || num === '+' || num === '-') this.fail(i, `unexpected "${c}" in command`);
        tokens.push({ t: 'number', text: num, pos: i });
        i += num.length;
        continue;
      }
      if (/[A-Za-z_]/.test(c)) {
        const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))![0];
        tokens.push({ t: 'identifier', text: word, pos: i });
        i += word.length;
        continue;
      }
      this.fail(i, `unexpected "${c}" in command`);
    }
  }

  parseAction(tokens: Token[], open: number): TemplateNode | Terminator | null {
    const stream = new TokenStream(tokens.filter((t, index) => !(t.t === 'space' && (index === 0 || index === tokens.length - 1))));
    const first = stream.peekNonSpace();
    if (first.t === 'identifier') {
      switch (first.text) {
        case 'end':
          stream.nextNonSpace();
          if (stream.peekNonSpace().t !== 'eof') this.fail(first.pos, 'unexpected tokens after end');
          return { word: 'end', rest: [], pos: open };
        case 'else':
          stream.nextNonSpace();
          return { word: 'else', rest: stream.remaining(), pos: open };
        case 'if':
        case 'with':
        case 'range': {
          stream.nextNonSpace();
          return this.parseControl(first.text, stream, open);
        }
        case 'break':
        case 'continue':
          stream.nextNonSpace();
          if (this.rangeDepth === 0) this.fail(open, `{{${first.text}}} outside {{range}}`);
          if (stream.peekNonSpace().t !== 'eof') this.fail(first.pos, `unexpected ${describe(stream.peekNonSpace())} in {{${first.text}}}`);
          return { kind: first.text, pos: open };
        case 'template':
        case 'block': {
          stream.nextNonSpace();
          // Go places a template node at its name, and reports errors there.
          const namePos = stream.peekNonSpace().pos;
          const name = this.templateName(stream, first.text);
          const pipeline = stream.peekNonSpace().t === 'eof' ? null : this.parsePipeline(stream, `${first.text} clause`);
          const pipelineText = pipeline === null ? '' : ` ${this.source.slice(pipeline.pos, this.pos).replace(/-?}}$/, '').trim()}`;
          const text = `{{template ${JSON.stringify(name)}${pipelineText}}}`;
          if (first.text === 'block') this.define(name, open);
          return { kind: 'template', name, pipeline, pos: namePos, text };
        }
        case 'define': {
          stream.nextNonSpace();
          if (this.depth > 0) this.fail(open, 'unexpected <define> in command');
          const name = this.templateName(stream, 'define');
          if (stream.peekNonSpace().t !== 'eof') this.fail(stream.peekNonSpace().pos, `unexpected ${describe(stream.peekNonSpace())} in define clause`);
          this.define(name, open);
          return null;
        }
      }
    }
    if (first.t === 'eof') this.fail(open, 'missing value for command');
    return { kind: 'action', pipeline: this.parsePipeline(stream, 'command'), pos: first.pos };
  }

  templateName(stream: TokenStream, context: string): string {
    const token = stream.nextNonSpace();
    if (token.t !== 'string') this.fail(token.pos < 0 ? this.pos : token.pos, `unexpected ${describe(token)} in ${context} clause`);
    return token.value;
  }

  /** The body of a define or block, up to its {{end}}, stored under its name (a later definition replaces an earlier one, as in Go). */
  define(name: string, open: number): void {
    const savedRange = this.rangeDepth;
    this.rangeDepth = 0;
    this.depth++;
    const body = this.parseList();
    this.depth--;
    this.rangeDepth = savedRange;
    if (!body.terminator) this.fail(open, 'unexpected EOF');
    if (body.terminator.word !== 'end') this.fail(body.terminator.pos, `unexpected {{${body.terminator.word}}}`);
    this.definitions.set(name, body.list);
  }

  parseControl(kind: 'if' | 'with' | 'range', stream: TokenStream, open: number): TemplateNode {
    if (this.depth >= MAX_NESTING_DEPTH) this.fail(open, `control structures nested deeper than ${MAX_NESTING_DEPTH}`);
    const pipeline = this.parsePipeline(stream, kind);
    if (kind === 'range') this.rangeDepth++;
    this.depth++;
    const body = this.parseList();
    this.depth--;
    if (kind === 'range') this.rangeDepth--;
    if (!body.terminator) this.fail(open, `unexpected EOF`);
    let elseList: TemplateNode[] | null = null;
    if (body.terminator!.word === 'else') {
      const rest = new TokenStream(body.terminator!.rest);
      const next = rest.peekNonSpace();
      if (next.t === 'identifier' && (next.text === 'if' || next.text === 'with') && kind === next.text) {
        rest.nextNonSpace();
        // `else if` chains: the nested node consumes the shared {{end}}.
        elseList = [this.parseControl(kind, rest, body.terminator!.pos)];
      } else {
        this.depth++;
        const elseBody = this.parseList();
        this.depth--;
        if (!elseBody.terminator || elseBody.terminator.word !== 'end') this.fail(open, 'expected end; found EOF');
        elseList = elseBody.list;
      }
    }
    return { kind, pipeline, list: body.list, elseList, pos: open };
  }

  parsePipeline(stream: TokenStream, context: string): Pipeline {
    const start = stream.peekNonSpace().pos;
    const declare: string[] = [];
    let assign = false;
    // Variable declarations: $x := … or $i, $v := …
    const save = stream.index;
    const vars: string[] = [];
    for (;;) {
      const token = stream.peekNonSpace();
      if (token.t !== 'variable' || token.text.includes('.')) break;
      stream.nextNonSpace();
      vars.push(token.text);
      const next = stream.peekNonSpace();
      if (next.t === 'comma' && context === 'range' && vars.length === 1) {
        stream.nextNonSpace();
        continue;
      }
      if (next.t === 'declare' || next.t === 'assign') {
        stream.nextNonSpace();
        declare.push(...vars);
        assign = next.t === 'assign';
      }
      break;
    }
    if (declare.length === 0) stream.index = save;
    const commands: Command[] = [];
    const head = stream.peekNonSpace();
    if (head.t === 'eof' || head.t === 'rparen') this.fail(head.pos, `missing value for ${context}`);
    for (;;) {
      const command = this.parseCommand(stream);
      commands.push(command);
      const next = stream.peekNonSpace();
      if (next.t === 'pipe') {
        stream.nextNonSpace();
        continue;
      }
      if (next.t === 'eof' || next.t === 'rparen') break;
      this.fail(next.pos, `unexpected ${describe(next)} in ${context}`);
    }
    return { declare, assign, commands, pos: start };
  }

  parseCommand(stream: TokenStream): Command {
    const args: Operand[] = [];
    const pos = stream.peekNonSpace().pos;
    for (;;) {
      const token = stream.peekNonSpace();
      if (token.t === 'eof' || token.t === 'pipe' || token.t === 'rparen') break;
      stream.nextNonSpace();
      args.push(this.parseOperand(token, stream));
      // Operands must be separated by spaces.
      const after = stream.peek();
      if (after.t !== 'space' && after.t !== 'eof' && after.t !== 'pipe' && after.t !== 'rparen') {
        this.fail(after.pos, `unexpected ${describe(after)} in operand`);
      }
    }
    if (args.length === 0) this.fail(pos, 'missing value for command');
    return { args, pos };
  }

  parseOperand(token: Token, stream: TokenStream): Operand {
    switch (token.t) {
      case 'field':
        if (token.text === '.') return { kind: 'dot', pos: token.pos };
        return { kind: 'field', path: token.text.slice(1).split('.'), pos: token.pos, text: token.text };
      case 'variable': {
        const [name, ...path] = token.text.split('.');
        return { kind: 'variable', name: name!, path, pos: token.pos, text: token.text };
      }
      case 'string':
        return { kind: 'string', value: token.value, pos: token.pos };
      case 'char':
        return { kind: 'number', value: BigInt(token.value), pos: token.pos, text: String(token.value) };
      case 'number':
        return { kind: 'number', value: parseNumber(token.text, () => this.fail(token.pos, `illegal number syntax: "${token.text}"`)), pos: token.pos, text: token.text };
      case 'identifier':
        if (token.text === 'true' || token.text === 'false') return { kind: 'bool', value: token.text === 'true', pos: token.pos };
        if (token.text === 'nil') return { kind: 'nil', pos: token.pos };
        return { kind: 'identifier', name: token.text, pos: token.pos };
      case 'lparen': {
        const pipeline = this.parsePipeline(stream, 'parenthesized pipeline');
        const close = stream.nextNonSpace();
        if (close.t !== 'rparen') this.fail(close.pos, 'unclosed left paren');
        const path: string[] = [];
        const chained = stream.peek();
        if (chained.t === 'dotfield') {
          stream.next();
          path.push(...chained.text.slice(1).split('.'));
        }
        return { kind: 'pipeline', pipeline, path, pos: token.pos };
      }
      default:
        this.fail(token.pos, `unexpected ${describe(token)} in operand`);
    }
  }
}

function describe(token: Token): string {
  switch (token.t) {
    case 'identifier':
    case 'field':
    case 'variable':
    case 'dotfield':
    case 'number':
      return `<${token.text}>`;
    case 'string':
      return `quoted string`;
    default:
      return `"${token.t}"`;
  }
}

class TokenStream {
  readonly tokens: Token[];
  index = 0;
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }
  peek(): Token {
    return this.tokens[this.index] ?? { t: 'eof', pos: -1 };
  }
  next(): Token {
    return this.tokens[this.index++] ?? { t: 'eof', pos: -1 };
  }
  peekNonSpace(): Token {
    let i = this.index;
    while (this.tokens[i]?.t === 'space') i++;
    return this.tokens[i] ?? { t: 'eof', pos: -1 };
  }
  nextNonSpace(): Token {
    while (this.tokens[this.index]?.t === 'space') this.index++;
    return this.next();
  }
  remaining(): Token[] {
    return this.tokens.slice(this.index);
  }
}

function parseNumber(text: string, fail: () => never): number | bigint {
  const clean = text.replaceAll('_', '');
  if (/^[+-]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|\d+)$/.test(clean)) {
    const negative = clean.startsWith('-');
    const body = clean.replace(/^[+-]/, '');
    const value = body.startsWith('0') && /^0\d+$/.test(body) ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
    return negative ? -value : value;
  }
  const value = Number(clean);
  if (Number.isNaN(value)) fail();
  return value;
}

/** Go string literal unquoting (`\n`, `\t`, `\xNN`, `\uNNNN`, `\U…`, octal). */
export function unquoteGoString(raw: string, fail: () => never): string {
  const body = raw.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = body[++i];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
    if (next !== undefined && simple[next] !== undefined) {
      out += simple[next];
      continue;
    }
    const widths: Record<string, number> = { x: 2, u: 4, U: 8 };
    if (next !== undefined && widths[next] !== undefined) {
      const hex = body.slice(i + 1, i + 1 + widths[next]!);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== widths[next]) fail();
      out += next === 'x' ? String.fromCharCode(parseInt(hex, 16)) : String.fromCodePoint(parseInt(hex, 16));
      i += widths[next]!;
      continue;
    }
    if (next !== undefined && /[0-7]/.test(next)) {
      const octal = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(octal)) fail();
      out += String.fromCharCode(parseInt(octal, 8));
      i += 2;
      continue;
    }
    fail();
  }
  return out;
}
