// Alert state across restarts, like Prometheus's `for` state restoration: pending and firing alerts
// are saved to `<dataDir>/ruler/alert-state.json` (on stop and periodically) and handed back to the
// same rules (same group, same definition) when the ruler starts, so a restart neither restarts a
// long `for` from zero nor forgets to resolve what was firing.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Alert } from './alerting-rule.ts';

const FORMAT_VERSION = 1;

/** group key → rule identity → alerts. */
export type SavedAlertState = Record<string, Record<string, Alert[]>>;

interface StateFile {
  version: number;
  savedAtMs: number;
  groups: SavedAlertState;
}

/** Reads the state file; a missing file is an empty state, a damaged one is reported and ignored. */
export function readAlertState(path: string): { state: SavedAlertState; problem?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: {} };
    return { state: {}, problem: `cannot read ${path}: ${(error as Error).message}` };
  }
  try {
    const file = JSON.parse(text) as StateFile;
    if (file.version !== FORMAT_VERSION || typeof file.groups !== 'object' || file.groups === null) {
      return { state: {}, problem: `${path}: unknown format, ignoring saved alert state` };
    }
    return { state: file.groups };
  } catch (error) {
    return { state: {}, problem: `${path}: ${(error as Error).message}, ignoring saved alert state` };
  }
}

/** Writes atomically (temp file + rename), so a crash mid-write leaves the previous state. */
export function writeAlertState(path: string, state: SavedAlertState, nowMs: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const file: StateFile = { version: FORMAT_VERSION, savedAtMs: nowMs, groups: state };
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(file));
  renameSync(temporary, path);
}
