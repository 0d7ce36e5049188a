// "Does it match anywhere?" in O(text length), for the regexes the Pike VM runs. Like RE2's DFA,
// the states (sets of program counters) are built lazily while scanning and cached, so a
// character costs one table lookup once its transition is known. `.{1000}Z` over a 100k-character
// line takes milliseconds here and seconds on the Pike VM.
//
// Assertions depend on the characters around a position, so a state also records what kind of
// character led into it; the closure at a position is computed once the next character is known.
//
// Memory is bounded globally: all DFAs share one budget of stored program counters, and crossing
// it flushes every cache (RE2 does the same per regex). A search that flushes too often gives up
// and the caller falls back to the Pike VM, which is linear too.

import { charSetContains } from './char-set.ts';
import { ASSERTION_CODES, Op, type Program } from './program.ts';

const KIND_START = 0;
const KIND_END = 1;
const KIND_NEWLINE = 2;
const KIND_WORD = 3;
const KIND_OTHER = 4;

/** Program counters all DFAs may hold at once: 16 MB. */
const GLOBAL_BUDGET_PCS = 4_000_000;
/** Flushes one search may cause before it hands over to the Pike VM. */
const MAX_FLUSHES_PER_SEARCH = 3;

interface State {
  /** Index in `byId`; row `id` of the ASCII transition table. */
  id: number;
  pcs: Int32Array;
  kind: number;
  /** Transitions on code points ≥ 128 (bounded), to a state id or MATCHED_ID. */
  other: Map<number, number>;
  /** Whether a match ends when the text ends in this state (computed on first need). */
  matchesAtEnd: boolean | undefined;
}

/** Transition table entries: 0 unknown, MATCHED_ID a match ends here, otherwise target id + 1. */
const MATCHED_ID = -1;
const UNKNOWN = 0;

/** slowStep's answers besides 0 (carry on). */
const SLOW_MATCHED = -1;
const SLOW_GAVE_UP = -2;


const liveDfas = new Set<LazyDfa>();

// Closure scratch, shared by all DFAs (a transition never runs inside another), grown to the
// largest program: a thousand cached regexes hold no per-regex scratch.
let seenScratch = new Uint8Array(0);
let stackScratch = new Int32Array(0);
let usedPcs = 0;

function flushAll(): void {
  for (const dfa of liveDfas) dfa.clear();
}

function sameCounters(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function kindOf(codePoint: number): number {
  if (codePoint === 0x0a) return KIND_NEWLINE;
  if ((codePoint >= 0x30 && codePoint <= 0x39) || (codePoint >= 0x41 && codePoint <= 0x5a) || (codePoint >= 0x61 && codePoint <= 0x7a) || codePoint === 0x5f) {
    return KIND_WORD;
  }
  return KIND_OTHER;
}

function conditions(before: number, after: number): number {
  let flags = 0;
  if (before === KIND_START) flags |= ASSERTION_CODES.beginText | ASSERTION_CODES.beginLine;
  else if (before === KIND_NEWLINE) flags |= ASSERTION_CODES.beginLine;
  if (after === KIND_END) flags |= ASSERTION_CODES.endText | ASSERTION_CODES.endLine;
  else if (after === KIND_NEWLINE) flags |= ASSERTION_CODES.endLine;
  flags |= (before === KIND_WORD) !== (after === KIND_WORD) ? ASSERTION_CODES.wordBoundary : ASSERTION_CODES.notWordBoundary;
  return flags;
}

export class LazyDfa {
  private readonly program: Program;
  /** Without assertions the kind of the previous character never matters: fewer states. */
  private readonly usesKinds: boolean;
  /** States by hash of their counters; a bucket holds the (rare) collisions. */
  private states = new Map<number, State[]>();
  private byId: State[] = [];
  /** ASCII transitions: entry `id · 128 + c` (see UNKNOWN, MATCHED_ID). */
  private table = new Int32Array(128 * 16);
  private start: State | undefined;
  private storedPcs = 0;
  private flushes = 0;

  constructor(program: Program) {
    this.program = program;
    this.usesKinds = program.assertions !== 0;
  }

  clear(): void {
    usedPcs -= this.storedPcs;
    this.storedPcs = 0;
    this.states = new Map();
    this.byId = [];
    this.table = new Int32Array(128 * 16);
    this.start = undefined;
  }

  /** Drops the cache for good (the compiled regex was evicted). */
  release(): void {
    this.clear();
    liveDfas.delete(this);
  }

  /** The state for a set of program counters (any order), created on first sight. */
  private intern(pcs: number[], kind: number): State {
    const sorted = Int32Array.from(pcs).sort();
    // FNV-1a over the kind and the counters: states are found by hash, then compared exactly.
    let hash = (0x811c9dc5 ^ kind) >>> 0;
    for (let i = 0; i < sorted.length; i++) hash = Math.imul(hash ^ sorted[i]!, 0x01000193) >>> 0;
    let bucket = this.states.get(hash);
    if (bucket !== undefined) {
      for (const candidate of bucket) if (candidate.kind === kind && sameCounters(candidate.pcs, sorted)) return candidate;
    }
    if (usedPcs + sorted.length + 1 > GLOBAL_BUDGET_PCS) {
      flushAll();
      this.flushes++;
      bucket = undefined;
    }
    const state: State = { id: this.byId.length, pcs: sorted, kind, other: new Map(), matchesAtEnd: undefined };
    this.byId.push(state);
    if ((state.id + 1) * 128 > this.table.length) {
      const grown = new Int32Array(this.table.length * 2);
      grown.set(this.table);
      this.table = grown;
    }
    if (bucket === undefined) this.states.set(hash, (bucket = []));
    bucket.push(state);
    this.storedPcs += sorted.length + 1;
    usedPcs += sorted.length + 1;
    liveDfas.add(this);
    return state;
  }

  /**
   * The closure of the state's program counters (plus a fresh start thread where one may begin)
   * under the conditions between its character and `next`, stepped over `codePoint`. Returns
   * undefined when a match ends here.
   */
  private transition(state: State, codePoint: number, nextKind: number): State | undefined {
    const { ops, args, args2 } = this.program;
    const cond = conditions(state.kind, nextKind);
    const instructions = ops.length;
    if (seenScratch.length < instructions) {
      seenScratch = new Uint8Array(instructions);
      stackScratch = new Int32Array(instructions * 3 + 4); // seeds, plus two per Split
    }
    const seen = seenScratch;
    seen.fill(0, 0, instructions);
    const stack = stackScratch;
    const targets: number[] = [];
    const seeds = state.pcs;
    const withStart = !this.program.anchoredStart || state.kind === KIND_START;
    // Seeds in reverse so the stack pops them in order; the start thread has the lowest priority.
    let top = 0;
    if (withStart) stack[top++] = 0;
    for (let i = seeds.length - 1; i >= 0; i--) stack[top++] = seeds[i]!;
    while (top > 0) {
      const pc = stack[--top]!;
      if (seen[pc] === 1) continue;
      seen[pc] = 1;
      switch (ops[pc]) {
        case Op.Match:
          return undefined;
        case Op.Split:
          stack[top++] = args2[pc]!;
          stack[top++] = args[pc]!;
          break;
        case Op.Jump:
          stack[top++] = args[pc]!;
          break;
        case Op.Assert:
          if ((cond & args[pc]!) !== 0) stack[top++] = pc + 1;
          break;
        case Op.Save:
          stack[top++] = pc + 1;
          break;
        case Op.Char:
          if (codePoint === args[pc]) targets.push(pc + 1);
          break;
        case Op.Class: {
          if (codePoint < 0) break;
          const cls = this.program.classes[args[pc]!]!;
          if (codePoint < 128 ? cls.ascii[codePoint] === 1 : charSetContains(cls.set, codePoint)) targets.push(pc + 1);
          break;
        }
        case Op.AnyChar:
          if (codePoint >= 0) targets.push(pc + 1);
          break;
        case Op.AnyCharNotNewline:
          if (codePoint >= 0 && codePoint !== 0x0a) targets.push(pc + 1);
          break;
      }
    }
    if (codePoint < 0) return this.intern([], KIND_END);
    return this.intern(targets, this.usesKinds ? nextKind : KIND_OTHER);
  }

  /** Whether the program matches somewhere in the text; undefined when the cache kept overflowing. */
  matches(text: string): boolean | undefined {
    this.flushes = 0;
    this.start ??= this.intern([], KIND_START);
    let id = this.start.id;
    const length = text.length;
    const checkDead = this.program.anchoredStart;
    let table = this.table;
    let pos = 0;
    while (pos < length) {
      // The hot loop: one table lookup per ASCII character once its transition is known.
      const unit = text.charCodeAt(pos);
      const next = unit < 128 ? table[(id << 7) | unit]! : UNKNOWN;
      if (next > 0) {
        id = next - 1;
        pos++;
        continue;
      }
      if (next === MATCHED_ID) return true;
      const result = this.slowStep(text, pos, id);
      if (result < 0) return result === SLOW_MATCHED ? true : undefined;
      id = this.slowId;
      pos = this.slowPos;
      table = this.table;
      if (checkDead && this.byId[id]!.pcs.length === 0) return false;
    }
    const state = this.byId[id]!;
    state.matchesAtEnd ??= this.transition(state, -1, KIND_END) === undefined;
    return state.matchesAtEnd;
  }

  private slowId = 0;
  private slowPos = 0;

  /**
   * One character whose transition is not in the table: computes (and records) it. Leaves the new
   * state and position in slowId/slowPos and returns 0, or a SLOW_* code.
   */
  private slowStep(text: string, pos: number, id: number): number {
    const unit = text.charCodeAt(pos);
    const codePoint = unit < 128 ? unit : text.codePointAt(pos)!;
    this.slowPos = pos + (codePoint > 0xffff ? 2 : 1);
    const from = this.byId[id]!;
    let next = codePoint < 128 ? UNKNOWN : (from.other.get(codePoint) ?? UNKNOWN);
    if (next === UNKNOWN) {
      const target = this.transition(from, codePoint, this.usesKinds ? kindOf(codePoint) : KIND_OTHER);
      if (this.flushes > MAX_FLUSHES_PER_SEARCH) return SLOW_GAVE_UP;
      if (this.flushes > 0 && this.byId[from.id] !== from) {
        // The cache was flushed under us: carry on from the new state, unrecorded.
        if (target === undefined) return SLOW_MATCHED;
        this.slowId = target.id;
        return 0;
      }
      next = target === undefined ? MATCHED_ID : target.id + 1;
      if (codePoint < 128) this.table[(from.id << 7) | codePoint] = next;
      else if (from.other.size < 256) from.other.set(codePoint, next);
    }
    if (next === MATCHED_ID) return SLOW_MATCHED;
    this.slowId = next - 1;
    return 0;
  }
}
