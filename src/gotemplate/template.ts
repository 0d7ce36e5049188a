// A compiled Go text/template and its executor. A context (LogQL line_format, Prometheus alert
// templates, later a Helm chart) supplies a function table over Go's builtins and its data as Go
// values; names are checked at compile time as Go's parser does (an unknown function or variable is a
// parse error). Execution is bounded: output length, range iterations and template-call depth have
// caps (TemplateLimitError), so no template can run away with the process.

import { BUILTINS, convertArg, FunctionCallError, LAZY_BUILTINS, type FunctionTable, type TemplateFunction, type TemplateRuntime } from './builtins.ts';
import { TemplateError, TemplateExecError, TemplateLimitError, TemplateParseError } from './errors.ts';
import { parseTemplate, type Command, type ControlNode, type Operand, type ParsedTemplate, type Pipeline, type TemplateNode } from './parse.ts';
import { GoTime } from './time.ts';
import { GoFunc, goTypeName, isPlainMap, isTrue, MAX_TEMPLATE_TEXT_CHARS, printGo, StringMap, type GoValue } from './value.ts';


export interface TemplateOptions {
  /** The context's functions, over Go's builtins (a context may replace a builtin, as Funcs does). */
  functions?: FunctionTable;
  /** Variables the context pre-declares besides `$` (Prometheus's `$labels`, `$value`, …). */
  variables?: string[];
  /** Longest output of one execution (default MAX_TEMPLATE_TEXT_CHARS). */
  maxOutputChars?: number;
}

/** Range iterations per execution, over all ranges: far above any real template, far below a hang. */
export const MAX_RANGE_ITERATIONS = 1_000_000;
/** Nested {{template}} calls; Go allows 100000 frames, JavaScript's stack fewer. */
export const MAX_TEMPLATE_DEPTH = 1000;

export interface Definition {
  list: TemplateNode[];
  /** The parse this list came from, for `template: NAME:LINE:COL` positions. */
  parsed: ParsedTemplate;
}

class BreakSignal {}
class ContinueSignal {}
const BREAK = new BreakSignal();
const CONTINUE = new ContinueSignal();

export class Template {
  readonly name: string;
  readonly functions: FunctionTable;
  readonly variables: string[];
  readonly maxOutputChars: number;
  private readonly definitions = new Map<string, Definition>();
  private readonly root: Definition;

  constructor(name: string, source: string, options: TemplateOptions = {}) {
    this.name = name;
    this.functions = options.functions === undefined ? BUILTINS : { ...BUILTINS, ...options.functions };
    this.variables = options.variables ?? [];
    this.maxOutputChars = options.maxOutputChars ?? MAX_TEMPLATE_TEXT_CHARS;
    this.root = this.addSource(name, source);
  }

  /** Parses another source into this set (Go's `t.New(name).Parse(source)`): its defines become callable. */
  addSource(name: string, source: string): Definition {
    const parsed = parseTemplate(name, source);
    checkNames(parsed, this.functions, this.variables);
    const root = { list: parsed.root, parsed };
    // Go's rule: a template whose body is only whitespace does not replace an existing definition.
    if (!this.definitions.has(name) || parsed.root.some((node) => node.kind !== 'text' || node.text.trim() !== '')) this.definitions.set(name, root);
    for (const [defined, list] of parsed.definitions) this.definitions.set(defined, { list, parsed });
    return root;
  }

  /** The templates this set can run by name. */
  templateNames(): string[] {
    return [...this.definitions.keys()].sort();
  }

  /** A template whose only node is `{{.name}}`: callers may read the field directly. */
  singleField(): string | undefined {
    const list = this.root.list;
    const only = list.length === 1 ? list[0]! : null;
    if (only?.kind !== 'action' || only.pipeline.commands.length !== 1 || only.pipeline.declare.length !== 0) return undefined;
    const args = only.pipeline.commands[0]!.args;
    return args.length === 1 && args[0]!.kind === 'field' && args[0]!.path.length === 1 ? args[0]!.path[0] : undefined;
  }

  /** Runs the main template with `dot` as `.` and `$`; throws TemplateExecError or TemplateLimitError. */
  execute(dot: GoValue, variables: Record<string, GoValue> = NO_VARIABLES): string {
    return new Execution(this, dot, variables).run(this.root, this.name, dot);
  }

  /** Runs a named template of the set. */
  executeTemplate(name: string, dot: GoValue, variables: Record<string, GoValue> = NO_VARIABLES): string {
    const definition = this.definitions.get(name);
    if (definition === undefined) throw new TemplateExecError(`template: no template ${JSON.stringify(name)} associated with template ${JSON.stringify(this.name)}`);
    return new Execution(this, dot, variables).run(definition, name, dot);
  }

  lookup(name: string): Definition | undefined {
    return this.definitions.get(name);
  }
}

/** Go's parser rejects unknown functions and undeclared variables before anything runs. */
function checkNames(parsed: ParsedTemplate, functions: FunctionTable, predeclared: string[]): void {
  const fail = (pos: number, message: string): never => {
    const line = parsed.source.slice(0, pos).split('\n').length;
    throw new TemplateParseError(`template: ${parsed.name}:${line}: ${message}`, pos);
  };
  const visitPipeline = (pipeline: Pipeline, scope: Set<string>): void => {
    for (const command of pipeline.commands) {
      for (const arg of command.args) {
        if (arg.kind === 'identifier' && functions[arg.name] === undefined && !LAZY_BUILTINS.has(arg.name)) fail(arg.pos, `function "${arg.name}" not defined`);
        if (arg.kind === 'variable' && !scope.has(arg.name)) fail(arg.pos, `undefined variable "${arg.name}"`);
        if (arg.kind === 'pipeline') visitPipeline(arg.pipeline, scope);
      }
    }
    for (const variable of pipeline.declare) scope.add(variable);
  };
  const visit = (list: TemplateNode[], scope: Set<string>): void => {
    for (const node of list) {
      if (node.kind === 'action') visitPipeline(node.pipeline, scope);
      else if (node.kind === 'if' || node.kind === 'with' || node.kind === 'range') {
        const inner = new Set(scope);
        visitPipeline(node.pipeline, inner);
        visit(node.list, inner);
        if (node.elseList) visit(node.elseList, inner);
      } else if (node.kind === 'template' && node.pipeline) visitPipeline(node.pipeline, new Set(scope));
    }
  };
  visit(parsed.root, new Set(['$', ...predeclared]));
  // A defined template runs with only `$` (its own dot), as in Go and in Prometheus, whose
  // $labels/$value are declared in the main template's text.
  for (const list of parsed.definitions.values()) visit(list, new Set(['$']));
}

interface Variable {
  name: string;
  value: GoValue;
}

const NO_VARIABLES: Record<string, GoValue> = {};

class Execution implements TemplateRuntime {
  private readonly template: Template;
  private vars: Variable[];
  private output = '';
  private iterations = 0;
  private depth = 0;
  /** The definition running now and its name, for error positions. */
  private parsed!: ParsedTemplate;
  private running = '';
  /** Templates parsed by executeSource, looked up before the set's. */
  private overlay: Template | null = null;

  constructor(template: Template, dot: GoValue, variables: Record<string, GoValue>) {
    this.template = template;
    this.vars = [{ name: '$', value: dot }];
    if (variables !== NO_VARIABLES) {
      for (const name in variables) this.vars.push({ name: name.startsWith('$') ? name : `$${name}`, value: variables[name]! });
    }
  }

  run(definition: Definition, name: string, dot: GoValue): string {
    this.parsed = definition.parsed;
    this.running = name;
    this.runList(definition.list, dot);
    return this.output;
  }

  // TemplateRuntime, for functions such as Helm's include and tpl.
  executeTemplate(name: string, dot: GoValue): string {
    return this.capture(() => this.callTemplate(name, dot, -1));
  }

  executeSource(name: string, source: string, dot: GoValue): string {
    const inner = new Template(name, source, { functions: this.template.functions, variables: this.template.variables, maxOutputChars: this.template.maxOutputChars });
    return this.capture(() => {
      this.enter(-1);
      const definition = inner.lookup(name)!;
      const saved = this.swap(definition.parsed, name, [{ name: '$', value: dot }]);
      // The source's own defines are callable while it runs, over the set's (Helm's tpl clones the set).
      const savedOverlay = this.overlay;
      this.overlay = inner;
      try {
        this.runList(definition.list, dot);
      } finally {
        this.overlay = savedOverlay;
        this.restore(saved);
        this.depth--;
      }
    });
  }

  private capture(run: () => void): string {
    const saved = this.output;
    this.output = '';
    try {
      run();
      return this.output;
    } finally {
      this.output = saved;
    }
  }

  fail(pos: number, at: string, message: string): never {
    const source = this.parsed.source;
    const before = source.slice(0, Math.max(0, pos));
    const line = before.split('\n').length;
    const column = pos - (before.lastIndexOf('\n') + 1);
    throw new TemplateExecError(`template: ${this.parsed.name}:${line}:${column}: executing "${this.running}" at <${at}>: ${message}`);
  }

  private write(text: string): void {
    if (this.output.length + text.length > this.template.maxOutputChars) {
      throw new TemplateLimitError(`template output would exceed ${this.template.maxOutputChars} characters`);
    }
    this.output += text;
  }

  private runList(list: TemplateNode[], dot: GoValue): void {
    for (const node of list) {
      switch (node.kind) {
        case 'text':
          this.write(node.text);
          break;
        case 'action': {
          const value = this.runPipeline(node.pipeline, dot);
          if (node.pipeline.declare.length === 0) this.write(value === null ? '<no value>' : printGo(value));
          break;
        }
        case 'if':
        case 'with': {
          const mark = this.vars.length;
          const value = this.runPipeline(node.pipeline, dot);
          if (isTrue(value)) this.runList(node.list, node.kind === 'with' ? value : dot);
          else if (node.elseList) this.runList(node.elseList, dot);
          this.vars.length = mark;
          break;
        }
        case 'range':
          this.runRange(node, dot);
          break;
        case 'template':
          this.callTemplate(node.name, node.pipeline ? this.runPipeline(node.pipeline, dot) : null, node.pos, node.text);
          break;
        case 'break':
          throw BREAK;
        case 'continue':
          throw CONTINUE;
      }
    }
  }

  private enter(pos: number): void {
    if (++this.depth > MAX_TEMPLATE_DEPTH) {
      if (pos < 0) throw new TemplateLimitError(`exceeded maximum template depth (${MAX_TEMPLATE_DEPTH})`);
      this.fail(pos, 'template', `exceeded maximum template depth (${MAX_TEMPLATE_DEPTH})`);
    }
  }

  private swap(parsed: ParsedTemplate, running: string, vars: Variable[]): [ParsedTemplate, string, Variable[]] {
    const saved: [ParsedTemplate, string, Variable[]] = [this.parsed, this.running, this.vars];
    this.parsed = parsed;
    this.running = running;
    this.vars = vars;
    return saved;
  }

  private restore([parsed, running, vars]: [ParsedTemplate, string, Variable[]]): void {
    this.parsed = parsed;
    this.running = running;
    this.vars = vars;
  }

  private callTemplate(name: string, dot: GoValue, pos: number, nodeText = ''): void {
    const definition = this.overlay?.lookup(name) ?? this.template.lookup(name);
    if (definition === undefined) {
      if (pos < 0) throw new FunctionCallError(`no template ${JSON.stringify(name)} associated with template ${JSON.stringify(this.template.name)}`);
      this.fail(pos, nodeText, `template ${JSON.stringify(name)} not defined`);
    }
    this.enter(pos);
    // A called template sees only `$` (its own dot), as in Go.
    const saved = this.swap(definition.parsed, name, [{ name: '$', value: dot }]);
    try {
      this.runList(definition.list, dot);
    } finally {
      this.restore(saved);
      this.depth--;
    }
  }

  private rangeItems(node: ControlNode, value: GoValue): Array<[GoValue, GoValue]> {
    if (value === null) return [];
    if (Array.isArray(value)) return value.map((item, i) => [BigInt(i), item]);
    if (typeof value === 'bigint') {
      if (value > BigInt(MAX_RANGE_ITERATIONS)) throw new TemplateLimitError(`range over ${value} would exceed ${MAX_RANGE_ITERATIONS} iterations`);
      return Array.from({ length: Math.max(0, Number(value)) }, (_, i) => [BigInt(i), BigInt(i)]);
    }
    if (value instanceof StringMap) {
      const record = value.entries();
      return Object.keys(record).sort().map((key) => [key, record[key]!]);
    }
    // Go ranges over maps in sorted key order.
    if (isPlainMap(value)) return Object.keys(value).sort().map((key) => [key, value[key]!]);
    this.fail(node.pos, 'range', `range can't iterate over ${printGo(value)}`);
  }

  private runRange(node: ControlNode, dot: GoValue): void {
    const mark = this.vars.length;
    const declared = node.pipeline.declare;
    const value = this.runPipeline(declared.length === 0 ? node.pipeline : { ...node.pipeline, declare: [] }, dot);
    const items = this.rangeItems(node, value);
    if (items.length === 0) {
      if (node.elseList) this.runList(node.elseList, dot);
      this.vars.length = mark;
      return;
    }
    for (const [key, element] of items) {
      if (++this.iterations > MAX_RANGE_ITERATIONS) throw new TemplateLimitError(`template ranges would exceed ${MAX_RANGE_ITERATIONS} iterations`);
      this.vars.length = mark;
      if (declared.length === 1) this.vars.push({ name: declared[0]!, value: element });
      else if (declared.length === 2) this.vars.push({ name: declared[0]!, value: key }, { name: declared[1]!, value: element });
      try {
        this.runList(node.list, element);
      } catch (signal) {
        if (signal === BREAK) break;
        if (signal === CONTINUE) continue;
        throw signal;
      }
    }
    this.vars.length = mark;
  }

  private lookupVariable(name: string): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    return null;
  }

  private runPipeline(pipeline: Pipeline, dot: GoValue): GoValue {
    let value: GoValue | undefined;
    for (const command of pipeline.commands) value = this.runCommand(command, dot, value);
    const result = value ?? null;
    for (const variable of pipeline.declare) {
      if (pipeline.assign) {
        let found = false;
        for (let i = this.vars.length - 1; i >= 0 && !found; i--) {
          if (this.vars[i]!.name === variable) {
            this.vars[i]!.value = result;
            found = true;
          }
        }
        if (!found) this.fail(pipeline.pos, variable, `undefined variable: ${variable}`);
      } else this.vars.push({ name: variable, value: result });
    }
    return result;
  }

  private runCommand(command: Command, dot: GoValue, piped: GoValue | undefined): GoValue {
    const first = command.args[0]!;
    if (first.kind === 'identifier') return this.callFunction(first.name, first.pos, command.args, dot, piped);
    if (command.args.length > 1 || piped !== undefined) {
      if (first.kind === 'field') this.fail(first.pos, first.text, `${first.path[first.path.length - 1]} is not a method but has arguments`);
      this.fail(first.pos, operandText(first), `can't give argument to non-function ${operandText(first)}`);
    }
    return this.evalOperand(first, dot);
  }

  private evalOperand(operand: Operand, dot: GoValue): GoValue {
    switch (operand.kind) {
      case 'dot':
        return dot;
      case 'field':
        return this.walkFields(dot, operand.path, operand.pos, operand.text);
      case 'variable': {
        const base = this.lookupVariable(operand.name);
        return operand.path.length === 0 ? base : this.walkFields(base, operand.path, operand.pos, operand.text);
      }
      case 'string':
      case 'number':
      case 'bool':
        return operand.value;
      case 'nil':
        return null;
      case 'identifier':
        return this.callFunction(operand.name, operand.pos, [operand], dot, undefined);
      case 'pipeline': {
        const value = this.runPipeline(operand.pipeline, dot);
        return operand.path.length === 0 ? value : this.walkFields(value, operand.path, operand.pos, operand.path.join('.'));
      }
    }
  }

  private walkFields(base: GoValue, path: string[], pos: number, text: string): GoValue {
    let current = base;
    for (const field of path) {
      if (current instanceof StringMap) current = current.get(field) ?? '';
      else if (isPlainMap(current)) current = Object.hasOwn(current, field) ? current[field]! : null;
      // A slice type's methods (Alertmanager's .Alerts.Firing) are own properties of the array.
      else if (Array.isArray(current) && Object.hasOwn(current, field) && !/^\d+$/.test(field)) current = (current as unknown as Record<string, GoValue>)[field]!;
      // Go: a field of a missing map entry (an invalid value) is again missing, not an error.
      else if (current === null) return null;
      else this.fail(pos, text, `can't evaluate field ${field} in type ${goTypeName(current)}`);
    }
    return current;
  }

  private callFunction(name: string, pos: number, args: Operand[], dot: GoValue, piped: GoValue | undefined): GoValue {
    const argCount = args.length - 1 + (piped === undefined ? 0 : 1);
    if (LAZY_BUILTINS.has(name) && this.template.functions[name] === undefined) {
      if (argCount === 0) this.fail(pos, name, `wrong number of args for ${name}: want at least 1 got 0`);
      let value: GoValue = null;
      for (let i = 1; i <= argCount; i++) {
        value = i < args.length ? this.evalOperand(args[i]!, dot) : piped!;
        if (name === 'and' ? !isTrue(value) : isTrue(value)) return value;
      }
      return value;
    }
    const fn: TemplateFunction = this.template.functions[name]!;
    const fixed = fn.params.length;
    if (fn.variadic ? argCount < fixed : argCount !== fixed) {
      this.fail(pos, name, `wrong number of args for ${name}: want ${fn.variadic ? 'at least ' : ''}${fixed} got ${argCount}`);
    }
    const converted: GoValue[] = new Array<GoValue>(argCount);
    for (let i = 0; i < argCount; i++) {
      const operand = i + 1 < args.length ? args[i + 1]! : undefined;
      const value = operand === undefined ? piped! : this.evalOperand(operand, dot);
      const type = i < fixed ? fn.params[i]! : fn.variadic!;
      const arg = convertArg(value, type, operand?.kind === 'number');
      if (arg instanceof Error) {
        if (operand === undefined) this.fail(pos, name, `wrong type for value; ${arg.message}`);
        this.fail(operand.pos, operandText(operand), `wrong type for value; ${arg.message}`);
      }
      converted[i] = arg;
    }
    try {
      return fn.callWithRuntime ? fn.callWithRuntime(this, converted) : fn.call(...converted);
    } catch (error) {
      if (error instanceof TemplateError) throw error;
      // Like Go, a function's failure is the template's: `error calling NAME: …`. A TypeError is our bug, not the user's.
      if (error instanceof FunctionCallError || (error instanceof Error && !(error instanceof TypeError) && !(error instanceof ReferenceError))) {
        this.fail(pos, name, `error calling ${name}: ${error.message}`);
      }
      throw error;
    }
  }
}

function operandText(operand: Operand): string {
  switch (operand.kind) {
    case 'field':
    case 'variable':
    case 'number':
      return operand.text;
    case 'string':
      return JSON.stringify(operand.value);
    case 'identifier':
      return operand.name;
    case 'dot':
      return '.';
    default:
      return operand.kind;
  }
}

export { GoFunc, GoTime, TemplateError, TemplateExecError, TemplateLimitError, TemplateParseError };
