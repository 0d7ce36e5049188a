// The ruler's public surface, used by the server (src/server/server.ts) and the CLI.

import { Ruler, type RulerOptions } from './ruler.ts';

export { rulerConfigSchema, defaultRulerConfig, promqlRulesDirOf, type RulerConfig } from './config.ts';
export { Ruler, RulerRequestError, TRAINING_GPU_NAMESPACE, TRAINING_GPU_RULES_PATH, TRAINING_RULES_PATH, type RulerMetrics, type RulerOptions } from './ruler.ts';
export type { RecordedSample, RuleQueryEngine } from './rule-group.ts';
export { promqlRuleEngine, type PromqlInstantEngine } from './promql-rule-engine.ts';
export type { RuleLanguage } from './rule-directory.ts';
export type { RulerLogger } from './notifier-hub.ts';
export { parseRuleFile, RuleFileError, formatRuleProblem, type RuleProblem } from './rule-file.ts';

/** Builds the ruler and starts evaluating; `stop()` ends evaluation, watching and notification. */
export function startRuler(options: RulerOptions): Ruler {
  const ruler = new Ruler(options);
  ruler.start();
  return ruler;
}
