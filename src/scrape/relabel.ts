// Prometheus relabeling (relabel_configs, metric_relabel_configs): rules applied in order to a label
// set, each reading the `separator`-joined values of `source_labels` and matching `regex` anchored at
// both ends. A rule may drop the whole set (keep, drop, keepequal, dropequal); the others rewrite it.
// Labels with an empty value are absent, as in Prometheus. Pure: labels in, labels (or undefined) out.

import { createHash } from 'node:crypto';
import { compileRegex, expandReplacement } from '../regex/index.ts';
import type { Labels } from '../push/types.ts';
import type { RelabelConfig } from './config.ts';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The relabeled set, or undefined when a rule dropped it. The input is not changed. */
export function relabel(labels: Labels, rules: readonly RelabelConfig[]): Labels | undefined {
  if (rules.length === 0) return labels;
  const result: Labels = { ...labels };
  for (const rule of rules) if (!applyRule(result, rule)) return undefined;
  for (const name of Object.keys(result)) if (result[name] === '') delete result[name];
  return result;
}

/** Applies one rule in place; false when the set is dropped. */
function applyRule(labels: Labels, rule: RelabelConfig): boolean {
  const value = rule.source_labels.map((name) => labels[name] ?? '').join(rule.separator);
  switch (rule.action) {
    case 'keep':
      return regexOf(rule).regexp.test(value);
    case 'drop':
      return !regexOf(rule).regexp.test(value);
    case 'keepequal':
      return value === (labels[rule.target_label] ?? '');
    case 'dropequal':
      return value !== (labels[rule.target_label] ?? '');
    case 'replace': {
      const compiled = regexOf(rule);
      const match = compiled.regexp.exec(value);
      if (match === null) return true;
      const target = expandReplacement(rule.target_label, match, compiled);
      if (!LABEL_NAME.test(target)) return true;
      const replaced = expandReplacement(rule.replacement, match, compiled);
      if (replaced === '') delete labels[target];
      else labels[target] = replaced;
      return true;
    }
    case 'lowercase':
      labels[rule.target_label] = value.toLowerCase();
      return true;
    case 'uppercase':
      labels[rule.target_label] = value.toUpperCase();
      return true;
    case 'hashmod':
      labels[rule.target_label] = String(hashMod(value, rule.modulus));
      return true;
    case 'labelmap': {
      const compiled = regexOf(rule);
      for (const name of Object.keys(labels)) {
        const match = compiled.regexp.exec(name);
        if (match === null) continue;
        const mapped = expandReplacement(rule.replacement, match, compiled);
        if (mapped !== '' && LABEL_NAME.test(mapped)) labels[mapped] = labels[name]!;
      }
      return true;
    }
    case 'labeldrop':
    case 'labelkeep': {
      const compiled = regexOf(rule);
      const keepMatching = rule.action === 'labelkeep';
      for (const name of Object.keys(labels)) if (compiled.regexp.test(name) !== keepMatching) delete labels[name];
      return true;
    }
  }
}

/** Prometheus' hashmod: the last 8 bytes of the value's MD5, big-endian, modulo `modulus`. */
export function hashMod(value: string, modulus: number): number {
  const digest = createHash('md5').update(value).digest();
  return Number(digest.readBigUInt64BE(8) % BigInt(modulus));
}

// Through the regex cache on every use: a compiled regex is not held past its cache slot.
function regexOf(rule: RelabelConfig) {
  return compileRegex(rule.regex, 'anchored');
}
