// Compiles the RE2 tree into a Thompson NFA program for the Pike VM (pike-vm.ts). Counted
// repetition is expanded (x{2,4} → xx(x(x)?)?), which parse.ts has already bounded by
// MAX_PROGRAM_SIZE, so the program and the VM's per-character work stay bounded.

import { UNBOUNDED, type Assertion, type CharSet, type ParsedRegex, type RegexNode } from './ast.ts';
import { charSetContains, foldOrbit, normalizeRanges } from './char-set.ts';

/** Instruction codes. `arg`/`arg2` hold what each one needs, noted beside it. */
export const Op = {
  Match: 0,
  /** arg: code point */
  Char: 1,
  /** arg: index into `classes` */
  Class: 2,
  AnyChar: 3,
  AnyCharNotNewline: 4,
  /** arg: preferred target, arg2: other target */
  Split: 5,
  /** arg: target */
  Jump: 6,
  /** arg: capture slot (2·group for the start, 2·group+1 for the end) */
  Save: 7,
  /** arg: assertion code (ASSERTION_CODES) */
  Assert: 8,
} as const;
type OpCode = (typeof Op)[keyof typeof Op];

export const ASSERTION_CODES: Readonly<Record<Assertion, number>> = {
  beginText: 1,
  endText: 2,
  beginLine: 4,
  endLine: 8,
  wordBoundary: 16,
  notWordBoundary: 32,
};

/** A class as the VM tests it: a bitmap for ASCII, the set itself for the rest. */
export interface ProgramClass {
  ascii: Uint8Array;
  set: CharSet;
}

export interface Program {
  ops: Uint8Array;
  args: Int32Array;
  args2: Int32Array;
  classes: ProgramClass[];
  /** Number of capture slots: 2 × (groups + 1). */
  slotCount: number;
  /** The program can only match at position 0 (starts with `^`/`\A` outside `(?m)`). */
  anchoredStart: boolean;
  /** Assertions the program uses (bit set of ASSERTION_CODES). */
  assertions: number;
}

class Builder {
  ops: number[] = [];
  args: number[] = [];
  args2: number[] = [];
  classes: ProgramClass[] = [];
  assertions = 0;

  emit(op: OpCode, arg = 0, arg2 = 0): number {
    this.ops.push(op);
    this.args.push(arg);
    this.args2.push(arg2);
    return this.ops.length - 1;
  }

  /** Counted repetition compiles one class node many times; it is stored once. */
  private readonly classIndex = new Map<CharSet, number>();

  addClass(set: CharSet): number {
    const known = this.classIndex.get(set);
    if (known !== undefined) return known;
    const ascii = new Uint8Array(128);
    for (let cp = 0; cp < 128; cp++) ascii[cp] = charSetContains(set, cp) ? 1 : 0;
    this.classes.push({ ascii, set });
    this.classIndex.set(set, this.classes.length - 1);
    return this.classes.length - 1;
  }

  compile(node: RegexNode): void {
    switch (node.kind) {
      case 'empty':
        return;
      case 'literal': {
        const orbit = node.foldCase ? foldOrbit(node.codePoint) : [node.codePoint];
        if (orbit.length === 1) this.emit(Op.Char, node.codePoint);
        else this.emit(Op.Class, this.addClass({ ranges: normalizeRanges(orbit.flatMap((cp) => [cp, cp])), properties: [], negated: false }));
        return;
      }
      case 'class':
        this.emit(Op.Class, this.addClass(node.set));
        return;
      case 'anyChar':
        this.emit(Op.AnyChar);
        return;
      case 'anyCharNotNewline':
        this.emit(Op.AnyCharNotNewline);
        return;
      case 'assert':
        this.assertions |= ASSERTION_CODES[node.assertion];
        this.emit(Op.Assert, ASSERTION_CODES[node.assertion]);
        return;
      case 'capture':
        this.emit(Op.Save, node.index * 2);
        this.compile(node.sub);
        this.emit(Op.Save, node.index * 2 + 1);
        return;
      case 'concat':
        for (const sub of node.subs) this.compile(sub);
        return;
      case 'alternate': {
        const jumps: number[] = [];
        for (let i = 0; i < node.subs.length; i++) {
          if (i < node.subs.length - 1) {
            const split = this.emit(Op.Split);
            this.args[split] = split + 1;
            this.compile(node.subs[i]!);
            jumps.push(this.emit(Op.Jump));
            this.args2[split] = this.ops.length;
          } else this.compile(node.subs[i]!);
        }
        for (const jump of jumps) this.args[jump] = this.ops.length;
        return;
      }
      case 'repeat':
        this.compileRepeat(node.sub, node.min, node.max, node.greedy);
        return;
    }
  }

  private compileRepeat(sub: RegexNode, min: number, max: number, greedy: boolean): void {
    if (max === UNBOUNDED) {
      for (let i = 0; i < min - 1; i++) this.compile(sub);
      if (min === 0) {
        // L: split body, out; body; jump L
        const split = this.emit(Op.Split);
        this.compile(sub);
        this.emit(Op.Jump, split);
        this.setSplit(split, split + 1, this.ops.length, greedy);
      } else {
        // L: body; split L, out
        const loop = this.ops.length;
        this.compile(sub);
        const split = this.emit(Op.Split);
        this.setSplit(split, loop, this.ops.length, greedy);
      }
      return;
    }
    for (let i = 0; i < min; i++) this.compile(sub);
    // x{0,k}: (x(x(x)?)?)? — each optional copy only when the previous one matched.
    const splits: number[] = [];
    for (let i = min; i < max; i++) {
      splits.push(this.emit(Op.Split));
      this.compile(sub);
    }
    const out = this.ops.length;
    for (const split of splits) this.setSplit(split, split + 1, out, greedy);
  }

  private setSplit(split: number, body: number, out: number, greedy: boolean): void {
    this.args[split] = greedy ? body : out;
    this.args2[split] = greedy ? out : body;
  }
}

export function compileProgram(parsed: ParsedRegex): Program {
  const builder = new Builder();
  builder.emit(Op.Save, 0);
  builder.compile(parsed.root);
  builder.emit(Op.Save, 1);
  builder.emit(Op.Match);
  return {
    ops: Uint8Array.from(builder.ops),
    args: Int32Array.from(builder.args),
    args2: Int32Array.from(builder.args2),
    classes: builder.classes,
    slotCount: (parsed.captureCount + 1) * 2,
    anchoredStart: startsWithBeginText(parsed.root),
    assertions: builder.assertions,
  };
}

function startsWithBeginText(node: RegexNode): boolean {
  switch (node.kind) {
    case 'assert':
      return node.assertion === 'beginText';
    case 'concat':
      return node.subs.length > 0 && startsWithBeginText(node.subs[0]!);
    case 'capture':
      return startsWithBeginText(node.sub);
    case 'alternate':
      return node.subs.every(startsWithBeginText);
    default:
      return false;
  }
}
