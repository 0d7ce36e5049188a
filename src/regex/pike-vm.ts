// The linear-time matcher: a Pike VM (Thompson NFA simulation with capture slots), as RE2 and Go
// run when their DFA cannot. Threads are kept in priority order, so the match and its captures
// are RE2's leftmost-first ones. Each position visits each instruction at most once, so a search
// costs O(text length × program size) whatever the pattern, and memory is O(program size × slots).
//
// Runs are synchronous and never nest, so all regexes share one set of scratch buffers, grown to
// the largest program seen: a cache of a thousand compiled regexes holds no per-regex VM memory.

import { charSetContains } from './char-set.ts';
import { ASSERTION_CODES, Op, type Program } from './program.ts';

const NEWLINE = 0x0a;

interface Queue {
  /** pc → index in dense (valid only when dense[index] === pc and index < size). */
  sparse: Int32Array;
  dense: Int32Array;
  /** 1 where the entry is a thread waiting on a consuming instruction or Match. */
  live: Uint8Array;
  /** Capture slots of entry j at [j·slots, (j+1)·slots). */
  caps: Int32Array;
  size: number;
}

function newQueue(instructions: number, slots: number): Queue {
  return {
    sparse: new Int32Array(instructions),
    dense: new Int32Array(instructions),
    live: new Uint8Array(instructions),
    caps: new Int32Array(instructions * slots),
    size: 0,
  };
}

let scratchInstructions = 0;
let scratchSlots = 0;
let runQueue = newQueue(0, 0);
let nextQueue = newQueue(0, 0);
let work = new Int32Array(0);
let matchCaps = new Int32Array(0);
/** DFS frames of `addThread`: (pc) or (-1 - slot, old value) pairs. */
let stack = new Int32Array(0);

function ensureScratch(instructions: number, slots: number): void {
  if (instructions <= scratchInstructions && slots <= scratchSlots) return;
  scratchInstructions = Math.max(instructions, scratchInstructions);
  scratchSlots = Math.max(slots, scratchSlots);
  runQueue = newQueue(scratchInstructions, scratchSlots);
  nextQueue = newQueue(scratchInstructions, scratchSlots);
  work = new Int32Array(scratchSlots);
  matchCaps = new Int32Array(scratchSlots);
  stack = new Int32Array(scratchInstructions * 4 + 8);
}

function isWordUnit(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f;
}

/** Which empty-width assertions hold at a position (bit set of ASSERTION_CODES). */
function conditionsAt(text: string, pos: number): number {
  let flags = 0;
  const before = pos > 0 ? text.charCodeAt(pos - 1) : -1;
  const after = pos < text.length ? text.charCodeAt(pos) : -1;
  if (pos === 0) flags |= ASSERTION_CODES.beginText | ASSERTION_CODES.beginLine;
  else if (before === NEWLINE) flags |= ASSERTION_CODES.beginLine;
  if (pos === text.length) flags |= ASSERTION_CODES.endText | ASSERTION_CODES.endLine;
  else if (after === NEWLINE) flags |= ASSERTION_CODES.endLine;
  const boundary = (before >= 0 && isWordUnit(before)) !== (after >= 0 && isWordUnit(after));
  flags |= boundary ? ASSERTION_CODES.wordBoundary : ASSERTION_CODES.notWordBoundary;
  return flags;
}

/** Follows empty transitions from `startPc`, adding every thread it reaches to `queue` in priority order. */
function addThread(program: Program, queue: Queue, startPc: number, pos: number, conditions: number, slots: number): void {
  const { ops, args, args2 } = program;
  let top = 0;
  stack[top++] = startPc;
  while (top > 0) {
    const frame = stack[--top]!;
    if (frame < 0) {
      // Restore a capture slot once the branch that set it has been explored.
      work[-1 - frame] = stack[--top]!;
      continue;
    }
    const pc = frame;
    const index = queue.sparse[pc]!;
    if (index < queue.size && queue.dense[index] === pc) continue;
    const entry = queue.size++;
    queue.dense[entry] = pc;
    queue.sparse[pc] = entry;
    queue.live[entry] = 0;
    switch (ops[pc]) {
      case Op.Split:
        stack[top++] = args2[pc]!;
        stack[top++] = args[pc]!;
        break;
      case Op.Jump:
        stack[top++] = args[pc]!;
        break;
      case Op.Assert:
        if ((conditions & args[pc]!) !== 0) stack[top++] = pc + 1;
        break;
      case Op.Save: {
        const slot = args[pc]!;
        if (slot < slots) {
          stack[top++] = work[slot]!;
          stack[top++] = -1 - slot;
          work[slot] = pos;
        }
        stack[top++] = pc + 1;
        break;
      }
      default: {
        queue.live[entry] = 1;
        const base = entry * slots;
        for (let s = 0; s < slots; s++) queue.caps[base + s] = work[s]!;
      }
    }
  }
}

function consumes(program: Program, pc: number, codePoint: number): boolean {
  switch (program.ops[pc]) {
    case Op.Char:
      return codePoint === program.args[pc];
    case Op.Class: {
      if (codePoint < 0) return false;
      const cls = program.classes[program.args[pc]!]!;
      return codePoint < 128 ? cls.ascii[codePoint] === 1 : charSetContains(cls.set, codePoint);
    }
    case Op.AnyChar:
      return codePoint >= 0;
    case Op.AnyCharNotNewline:
      return codePoint >= 0 && codePoint !== NEWLINE;
    default:
      return false;
  }
}

/**
 * Searches `text` from `start` for the leftmost-first match. With `captures`, returns the slot
 * array (2 per group, -1 where a group did not take part; valid until the next call); without,
 * returns an empty array on a match. Null when nothing matches.
 */
export function pikeSearch(program: Program, text: string, start: number, captures: boolean): Int32Array | null {
  const slots = captures ? program.slotCount : 0;
  const instructions = program.ops.length;
  ensureScratch(instructions, program.slotCount);
  let run = runQueue;
  let next = nextQueue;
  run.size = 0;
  next.size = 0;
  let matched = false;
  let pos = start;
  let conditions = conditionsAt(text, pos);
  for (;;) {
    if (run.size === 0) {
      if (matched || (program.anchoredStart && pos !== 0)) break;
    }
    if (!matched && (pos === 0 || !program.anchoredStart)) {
      for (let s = 0; s < slots; s++) work[s] = -1;
      addThread(program, run, 0, pos, conditions, slots);
    }
    let codePoint = -1;
    let width = 0;
    if (pos < text.length) {
      codePoint = text.codePointAt(pos)!;
      width = codePoint > 0xffff ? 2 : 1;
    }
    const nextPos = pos + width;
    const nextConditions = width === 0 ? conditions : conditionsAt(text, nextPos);
    for (let j = 0; j < run.size; j++) {
      if (run.live[j] === 0) continue;
      const pc = run.dense[j]!;
      if (program.ops[pc] === Op.Match) {
        if (!captures) return matchCaps.subarray(0, 0);
        matchCaps.set(run.caps.subarray(j * slots, (j + 1) * slots));
        matched = true;
        break; // leftmost-first: lower-priority threads are cut off
      }
      if (!consumes(program, pc, codePoint)) continue;
      const base = j * slots;
      for (let s = 0; s < slots; s++) work[s] = run.caps[base + s]!;
      addThread(program, next, pc + 1, nextPos, nextConditions, slots);
    }
    run.size = 0;
    if (width === 0) break;
    pos = nextPos;
    conditions = nextConditions;
    const swap = run;
    run = next;
    next = swap;
  }
  runQueue = run;
  nextQueue = next;
  return matched ? matchCaps.subarray(0, slots) : null;
}
