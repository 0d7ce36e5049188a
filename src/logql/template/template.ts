// Compiles and runs a LogQL template (line_format / label_format) against an entry's labels.
// Execution is bounded: `range` only iterates over finite values and there is no recursion into
// other templates, so a template's cost is linear in its size times its data.

import { parseTemplate, TemplateParseError, type Command, type ControlNode, type Operand, type Pipeline, type TemplateNode } from './template-parser.ts';
import { createFunctionTable, FunctionCallError, type ParamType, type TemplateContext, type TemplateFunction } from './functions.ts';
import { GoTime } from './go-time.ts';
import { goTypeName, isTrue, printGo, type GoValue } from './go-values.ts';

export { TemplateParseError };

export class TemplateExecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateExecError';
  }
}

export interface TemplateData {
  /** Current labels; a missing key reads as "" (missingkey=zero over map[string]string). */
  get(name: string): string | undefined;
  /** All current labels, for `{{.}}` and `{{range $k, $v := .}}`. */
  all(): Record<string, string>;
  line: string;
  timestampNs: bigint;
}

export interface CompiledTemplate {
  /** Throws TemplateExecError with Go's message. */
  execute(data: TemplateData): string;
  /** A template that is exactly `{{.label}}`: the fast path returns the label's value directly. */
  singleField?: string;
  /** Whether the template reads __line__ (so the caller must keep the line available). */
  usesLine: boolean;
}

const MAX_RANGE_ITERATIONS = 100_000;

class BreakSignal {}
class ContinueSignal {}

export function compileTemplate(name: string, source: string): CompiledTemplate {
  const nodes = parseTemplate(name, source);
  let current: TemplateContext = { line: '', timestampNs: 0n };
  const functions = createFunctionTable(() => current);
  checkFunctions(name, source, nodes, functions);
  const only = nodes.length === 1 ? nodes[0]! : null;
  let singleField: string | undefined;
  if (only?.kind === 'action' && only.pipeline.commands.length === 1 && only.pipeline.declare.length === 0) {
    const args = only.pipeline.commands[0]!.args;
    if (args.length === 1 && args[0]!.kind === 'field' && args[0]!.path.length === 1) singleField = args[0]!.path[0];
  }
  return {
    singleField,
    usesLine: source.includes('__line__'),
    execute(data) {
      current = data;
      if (singleField !== undefined) return data.get(singleField) ?? '';
      const executor = new Executor(name, source, functions, data);
      let out = '';
      executor.runList(nodes, null, [new Map()], (text) => (out += text));
      return out;
    },
  };
}

function checkFunctions(name: string, source: string, nodes: TemplateNode[], functions: Record<string, TemplateFunction>): void {
  const lineOf = (pos: number) => source.slice(0, pos).split('\n').length;
  const visitPipeline = (pipeline: Pipeline, scope: Set<string>) => {
    for (const command of pipeline.commands) {
      for (const arg of command.args) {
        if (arg.kind === 'identifier' && !functions[arg.name] && arg.name !== 'and' && arg.name !== 'or') {
          throw new TemplateParseError(`template: ${name}:${lineOf(arg.pos)}: function "${arg.name}" not defined`);
        }
        if (arg.kind === 'variable' && arg.name !== '$' && !scope.has(arg.name)) {
          throw new TemplateParseError(`template: ${name}:${lineOf(arg.pos)}: undefined variable "${arg.name}"`);
        }
        if (arg.kind === 'pipeline') visitPipeline(arg.pipeline, scope);
      }
    }
    for (const variable of pipeline.declare) scope.add(variable);
  };
  const visit = (list: TemplateNode[], scope: Set<string>) => {
    for (const node of list) {
      if (node.kind === 'action') visitPipeline(node.pipeline, scope);
      else if (node.kind === 'if' || node.kind === 'with' || node.kind === 'range') {
        const inner = new Set(scope);
        visitPipeline(node.pipeline, inner);
        visit(node.list, inner);
        if (node.elseList) visit(node.elseList, new Set(scope));
      }
    }
  };
  visit(nodes, new Set());
}

type Dot = GoValue | 'labels';

class Executor {
  readonly name: string;
  readonly source: string;
  readonly functions: Record<string, TemplateFunction>;
  readonly data: TemplateData;
  constructor(name: string, source: string, functions: Record<string, TemplateFunction>, data: TemplateData) {
    this.name = name;
    this.source = source;
    this.functions = functions;
    this.data = data;
  }

  fail(pos: number, at: string, message: string): never {
    const before = this.source.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - (before.lastIndexOf('\n') + 1);
    throw new TemplateExecError(`template: ${this.name}:${line}:${column}: executing "${this.name}" at <${at}>: ${message}`);
  }

  runList(list: TemplateNode[], dot: Dot | null, scopes: Array<Map<string, GoValue>>, write: (text: string) => void): void {
    for (const node of list) {
      switch (node.kind) {
        case 'text':
          write(node.text);
          break;
        case 'action': {
          const value = this.runPipeline(node.pipeline, dot, scopes);
          if (node.pipeline.declare.length === 0) write(value === null ? '<no value>' : printGo(value));
          break;
        }
        case 'if':
        case 'with': {
          const inner = [...scopes, new Map<string, GoValue>()];
          const value = this.runPipeline(node.pipeline, dot, inner);
          if (isTrue(value)) this.runList(node.list, node.kind === 'with' ? value : dot, inner, write);
          else if (node.elseList) this.runList(node.elseList, dot, [...scopes, new Map()], write);
          break;
        }
        case 'range':
          this.runRange(node, dot, scopes, write);
          break;
        case 'break':
          throw new BreakSignal();
        case 'continue':
          throw new ContinueSignal();
      }
    }
  }

  runRange(node: ControlNode, dot: Dot | null, scopes: Array<Map<string, GoValue>>, write: (text: string) => void): void {
    const scope = new Map<string, GoValue>();
    const inner = [...scopes, scope];
    const saved = node.pipeline.declare;
    const value = this.runPipeline({ ...node.pipeline, declare: [] }, dot, inner);
    let items: Array<[GoValue, GoValue]>;
    if (Array.isArray(value)) items = value.map((v, i) => [BigInt(i), v]);
    else if (typeof value === 'bigint') items = Array.from({ length: Math.min(Number(value), MAX_RANGE_ITERATIONS) }, (_, i) => [BigInt(i), BigInt(i)]);
    else if (value !== null && typeof value === 'object' && !(value instanceof GoTime)) {
      items = Object.keys(value).sort().map((k) => [k, (value as Record<string, GoValue>)[k]!]);
    } else if (value === null) items = [];
    else this.fail(node.pos, 'range', `range can't iterate over ${printGo(value)}`);
    if (items.length === 0) {
      if (node.elseList) this.runList(node.elseList, dot, [...scopes, new Map()], write);
      return;
    }
    for (const [key, element] of items.slice(0, MAX_RANGE_ITERATIONS)) {
      if (saved.length === 1) scope.set(saved[0]!, element);
      if (saved.length === 2) {
        scope.set(saved[0]!, key);
        scope.set(saved[1]!, element);
      }
      try {
        this.runList(node.list, element, inner, write);
      } catch (signal) {
        if (signal instanceof BreakSignal) break;
        if (signal instanceof ContinueSignal) continue;
        throw signal;
      }
    }
  }

  runPipeline(pipeline: Pipeline, dot: Dot | null, scopes: Array<Map<string, GoValue>>): GoValue {
    let value: GoValue | undefined;
    for (const command of pipeline.commands) value = this.runCommand(command, dot, scopes, value);
    const result = value ?? null;
    for (const variable of pipeline.declare) {
      if (pipeline.assign) {
        const owner = [...scopes].reverse().find((s) => s.has(variable));
        (owner ?? scopes[scopes.length - 1]!).set(variable, result);
      } else scopes[scopes.length - 1]!.set(variable, result);
    }
    return result;
  }

  runCommand(command: Command, dot: Dot | null, scopes: Array<Map<string, GoValue>>, piped: GoValue | undefined): GoValue {
    const [first, ...rest] = command.args;
    if (first!.kind === 'identifier') return this.callFunction(first!.name, first!.pos, rest, dot, scopes, piped);
    if (rest.length > 0 || piped !== undefined) {
      if (first!.kind === 'field') this.fail(first!.pos, first!.text, `${first!.path[first!.path.length - 1]} is not a method but has arguments`);
      this.fail(first!.pos, operandText(first!), `can't give argument to non-function ${operandText(first!)}`);
    }
    return this.evalOperand(first!, dot, scopes);
  }

  evalOperand(operand: Operand, dot: Dot | null, scopes: Array<Map<string, GoValue>>): GoValue {
    switch (operand.kind) {
      case 'dot':
        return dot === 'labels' || dot === null ? this.labelsObject() : dot;
      case 'field':
        return this.walkFields(dot === null ? 'labels' : dot, operand.path, operand.pos, operand.text);
      case 'variable': {
        let base: Dot;
        if (operand.name === '$') base = 'labels';
        else {
          const scope = [...scopes].reverse().find((s) => s.has(operand.name));
          base = scope ? scope.get(operand.name)! : null;
        }
        return operand.path.length === 0 ? (base === 'labels' ? this.labelsObject() : base) : this.walkFields(base, operand.path, operand.pos, operand.text);
      }
      case 'string':
        return operand.value;
      case 'number':
        return operand.value;
      case 'bool':
        return operand.value;
      case 'nil':
        return null;
      case 'identifier':
        return this.callFunction(operand.name, operand.pos, [], dot, scopes, undefined);
      case 'pipeline': {
        const value = this.runPipeline(operand.pipeline, dot, scopes);
        return operand.path.length === 0 ? value : this.walkFields(value, operand.path, operand.pos, operand.path.join('.'));
      }
    }
  }

  labelsObject(): GoValue {
    return this.data.all();
  }

  walkFields(base: Dot, path: string[], pos: number, text: string): GoValue {
    let current: Dot = base;
    for (const field of path) {
      if (current === 'labels') {
        current = this.data.get(field) ?? '';
        continue;
      }
      if (current !== null && typeof current === 'object' && !Array.isArray(current) && !(current instanceof GoTime)) {
        current = (current as Record<string, GoValue>)[field] ?? null;
        continue;
      }
      this.fail(pos, text, `can't evaluate field ${field} in type ${current === null ? 'interface {}' : goTypeName(current)}`);
    }
    return current === 'labels' ? this.labelsObject() : current;
  }

  callFunction(name: string, pos: number, argNodes: Operand[], dot: Dot | null, scopes: Array<Map<string, GoValue>>, piped: GoValue | undefined): GoValue {
    if (name === 'and' || name === 'or') {
      const all = argNodes.length + (piped === undefined ? 0 : 1);
      if (all === 0) this.fail(pos, name, `wrong number of args for ${name}: want at least 1 got 0`);
      let value: GoValue = null;
      for (let i = 0; i < all; i++) {
        value = i < argNodes.length ? this.evalOperand(argNodes[i]!, dot, scopes) : piped!;
        if (name === 'and' ? !isTrue(value) : isTrue(value)) return value;
      }
      return value;
    }
    const fn = this.functions[name]!;
    const args = argNodes.map((node) => ({ value: this.evalOperand(node, dot, scopes), constant: node.kind === 'number' }));
    if (piped !== undefined) args.push({ value: piped, constant: false });
    const fixed = fn.params.length;
    if (fn.variadic ? args.length < fixed : args.length !== fixed) {
      this.fail(pos, name, `wrong number of args for ${name}: want ${fn.variadic ? 'at least ' : ''}${fixed} got ${args.length}`);
    }
    const converted = args.map((arg, i) => {
      const type = i < fixed ? fn.params[i]! : fn.variadic!;
      const value = convertArg(arg.value, type, arg.constant);
      if (value instanceof Error) this.fail(pos, name, `wrong type for value; ${value.message}`);
      return value;
    });
    try {
      return fn.call(...converted);
    } catch (error) {
      if (error instanceof FunctionCallError) this.fail(pos, name, `error calling ${name}: ${error.message}`);
      throw error;
    }
  }
}

function operandText(operand: Operand): string {
  switch (operand.kind) {
    case 'field':
    case 'variable':
      return operand.text;
    case 'string':
      return JSON.stringify(operand.value);
    case 'number':
      return operand.text;
    case 'identifier':
      return operand.name;
    default:
      return operand.kind;
  }
}

function convertArg(value: GoValue, type: ParamType, constant: boolean): GoValue | Error {
  switch (type) {
    case 'any':
      return value;
    case 'string':
      return typeof value === 'string' ? value : new Error(`expected string; got ${goTypeName(value)}`);
    case 'int':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && constant && Number.isInteger(value)) return BigInt(value);
      return new Error(`expected int; got ${goTypeName(value)}`);
    case 'float':
      if (typeof value === 'number') return value;
      if (typeof value === 'bigint' && constant) return Number(value);
      return new Error(`expected float64; got ${goTypeName(value)}`);
    case 'time':
      return value instanceof GoTime ? value : new Error(`expected time.Time; got ${goTypeName(value)}`);
  }
}
