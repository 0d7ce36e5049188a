// Public surface of the LogQL syntax module: parse, print and format queries. No I/O, no evaluation.

export * from './ast.ts';
export { parseExpr, parseSelector, MAX_QUERY_BYTES } from './parser.ts';
export { exprToString, labelFilterToString, logExprToString, matcherToString, sampleExprToString, selectorToString, stageToString } from './printer.ts';
export { formatQuery, prettyPrint, DEFAULT_MAX_CHARS_PER_LINE } from './prettier.ts';
export { walkExpr, logExprsOf, type ExprVisitor } from './walk.ts';
export { lex, tokenize, type Token, type TokenType } from './lexer.ts';
export { checkRegex, type RegexCheck } from './regex-syntax.ts';
export { parsePattern, patternFilterError, patternParserError, type PatternNode } from './pattern-syntax.ts';
export { formatGoDuration, formatPrometheusDuration, parseByteSize, parseGoDuration, parseLokiDuration } from './durations.ts';
