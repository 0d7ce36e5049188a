// The training pack's GPU rules with short `for:` and 1 s intervals, for tests that cannot wait
// minutes: loaded from a PromQL rules directory they run on the same engine as the built-in
// namespace. Each alert is labelled `copy: fast`, so the built-in copy's alerts are told apart.
import { readFileSync } from 'node:fs';
import { TRAINING_GPU_RULES_PATH } from '../../../src/ruler/index.ts';

export function fastGpuPack(): string {
  return readFileSync(TRAINING_GPU_RULES_PATH, 'utf8')
    .replace(/^(\s+)for: \S+$/gm, '$1for: 2s')
    .replace(/^(\s+)interval: \S+$/gm, '$1interval: 1s')
    .replace(/^(\s+)category: training-gpu$/gm, '$1category: training-gpu\n$1copy: fast');
}
