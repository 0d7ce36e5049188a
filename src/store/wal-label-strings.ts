// Label strings of WAL records shared while replaying (wal-record.ts): the streams of a record, and of
// consecutive records, mostly repeat the same label names and many values.

/**
 * Label strings already decoded, by position in the label list (name and value of the first labels
 * of a stream): the streams of a record, and of consecutive records, mostly repeat the names and
 * many values (namespace, container, node, job), so a lookup by the bytes' hash, confirmed by a byte
 * comparison, reuses the string where a decode per label was a sixth of WAL replay time (600k
 * streams, bench/store-streams-bench.ts), and replayed streams share those strings (the store
 * need not intern them again). A position whose values keep changing (a pod name) stops looking
 * after MAX_SLOT_VALUES distinct strings: there every lookup would miss.
 */
const LABEL_SLOTS = 32;
const MAX_SLOT_VALUES = 1024;
/** Open-addressing capacity per slot: twice MAX_SLOT_VALUES, so probes stay short. */
const SLOT_TABLE_SIZE = 2048;
/** Strings longer than this are decoded, not looked up (hashing them costs what decoding does). */
const MAX_SHARED_BYTES = 128;

class LabelSlot {
  readonly strings: Array<string | undefined> = new Array<string | undefined>(SLOT_TABLE_SIZE).fill(undefined);
  readonly hashes = new Int32Array(SLOT_TABLE_SIZE);
  count = 0;
  /** The string this slot gave last: checked first, as a name mostly follows itself. */
  last: string | undefined;
  /** Set once the slot held MAX_SLOT_VALUES strings: its values are per stream, decode them. */
  saturated = false;
}

const labelSlots: LabelSlot[] = Array.from({ length: LABEL_SLOTS }, () => new LabelSlot());

/** Whether bytes [start, start + text.length) are ASCII and spell `text`. */
function asciiEquals(bytes: Buffer, start: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const byte = bytes[start + i]!;
    if (byte >= 0x80 || byte !== text.charCodeAt(i)) return false;
  }
  return true;
}

/** Bytes [start, end) as a string: a shared one from the slot when it holds the same bytes. */
export function sharedLabelString(payload: Buffer, start: number, end: number, slot: number): string {
  const table = slot < LABEL_SLOTS ? labelSlots[slot]! : undefined;
  if (table === undefined || end - start > MAX_SHARED_BYTES) return payload.toString('utf8', start, end);
  const length = end - start;
  const last = table.last;
  if (last !== undefined && last.length === length && asciiEquals(payload, start, last)) return last;
  if (table.saturated) {
    table.last = payload.toString('utf8', start, end);
    return table.last;
  }
  // FNV-1a over the bytes; a non-ASCII byte sends the string to the decoder (asciiEquals needs ASCII).
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    const byte = payload[i]!;
    if (byte >= 0x80) return payload.toString('utf8', start, end);
    hash = Math.imul(hash ^ byte, 0x01000193);
  }
  const mask = SLOT_TABLE_SIZE - 1;
  let index = (hash ^ (hash >>> 15)) & mask;
  // Bounded: the table is at most half full, so probing meets an empty entry.
  for (let held = table.strings[index]; held !== undefined; held = table.strings[index]) {
    if (table.hashes[index] === hash && held.length === length && asciiEquals(payload, start, held)) {
      table.last = held;
      return held;
    }
    index = (index + 1) & mask;
  }
  const text = payload.toString('latin1', start, end);
  table.last = text;
  table.strings[index] = text;
  table.hashes[index] = hash;
  if (++table.count >= MAX_SLOT_VALUES) {
    table.saturated = true;
    table.strings.fill(undefined);
  }
  return text;
}
