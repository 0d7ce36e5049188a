// The one RE2 implementation: parse once (parse.ts), then validate, extract literals and run in
// linear time (compile.ts). Every regex a user or a config file supplies goes through here.

export type { ParsedRegex, RegexNode } from './ast.ts';
export { parseRegex, RegexSyntaxError, MAX_REPEAT, MAX_PROGRAM_SIZE } from './parse.ts';
export { compileRegex, compileCaptureSubset, matchesWhole, jsGroupName, wrapForMode, cachedRegexCount, MAX_CACHED_REGEXES, type CompiledRegex, type RegexEngine, type CapturingRegexEngine, type RegexMode } from './compile.ts';
export { analyzeRegexLiterals, type RegexLiteralPlan } from './literals.ts';
export { countMatches, expandReplacement, forEachMatch, replaceAll } from './replace.ts';
