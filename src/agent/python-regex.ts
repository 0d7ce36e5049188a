// Regex syntax shared by config validation and the running agent. Kept apart from config.ts so the
// agent's run-time modules do not load the config schema (zod, yaml) just for this one function.

/** Promtail/Python configs write named groups as `(?P<name>…)`; JavaScript spells them `(?<name>…)`. */
export function pythonGroupsToJs(pattern: string): string {
  return pattern.replace(/\(\?P</g, '(?<');
}
