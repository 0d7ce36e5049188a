// A cursor over a query's tokens, shared by the expression and pipeline parsers: lookahead,
// Loki-style syntax errors with positions, and the guards that keep deep queries off the stack.

import { QueryError } from '../api.ts';
import { parseErrorMessage, semanticError } from './errors.ts';
import { lex, positionOf, tokenDisplayName, type LexError, type Token, type TokenType } from './lexer.ts';

/**
 * Parentheses and operators nest by recursion; a 128 KiB query of `(((…` would otherwise overflow
 * the stack. Go's RE2 uses the same bound for regex nesting.
 */
export const MAX_NESTING_DEPTH = 1000;

export class TokenCursor {
  readonly text: string;
  readonly tokens: Token[];
  readonly lexError: LexError | undefined;
  index = 0;
  depth = 0;
  /**
   * Height of binary and label-filter trees built by loops (`a + b + c …` is left-deep without
   * recursion while parsing), so printers and evaluators that recurse stay within the stack.
   */
  readonly treeHeight = new WeakMap<object, number>();
  /** Errors Loki only reports after a successful parse (it stores them in the AST node). */
  readonly deferredErrors: string[] = [];

  constructor(text: string) {
    this.text = text;
    const result = lex(text);
    this.tokens = result.tokens;
    this.lexError = result.error;
  }

  peek(ahead = 0): Token {
    const token = this.tokens[this.index + ahead];
    if (token !== undefined) return token;
    // Past the tokens the lexer produced: either the lexer failed here, or this is EOF.
    if (this.lexError !== undefined) throw this.errorAt(this.lexError.message, this.lexError.offset, this.lexError.lineKnown);
    return this.tokens[this.tokens.length - 1] as Token;
  }

  at(type: TokenType, ahead = 0): boolean {
    return this.peek(ahead).type === type;
  }

  advance(): Token {
    const token = this.peek();
    if (token.type !== 'EOF') this.index++;
    return token;
  }

  expect(type: TokenType, expected: TokenType[] = [type]): Token {
    if (!this.at(type)) throw this.unexpected(expected);
    return this.advance();
  }

  errorAt(message: string, offset: number, lineKnown: boolean): QueryError {
    const { line, column } = positionOf(this.text, offset);
    const reportedLine = lineKnown ? line : 0;
    return new QueryError(parseErrorMessage(message, reportedLine, column), reportedLine || undefined, column);
  }

  /** `syntax error: unexpected X[, expecting A or B]` at the current token. */
  unexpected(expected: TokenType[] = []): QueryError {
    const token = this.peek();
    let message = `syntax error: unexpected ${tokenDisplayName(token.type)}`;
    if (expected.length > 0 && expected.length <= 4) {
      message += `, expecting ${expected.map((type) => tokenDisplayName(type)).join(' or ')}`;
    }
    return this.errorAt(message, token.offset, token.lineKnown);
  }

  /** Runs a recursive step with the nesting guard. */
  nested<T>(step: () => T): T {
    if (++this.depth > MAX_NESTING_DEPTH) {
      throw semanticError(`query nests too deeply (more than ${MAX_NESTING_DEPTH} levels)`);
    }
    try {
      return step();
    } finally {
      this.depth--;
    }
  }

  /** Records the height of a node built from two children; rejects trees deeper than the limit. */
  combine<T extends object>(node: T, left: object, right: object): T {
    const height = 1 + Math.max(this.treeHeight.get(left) ?? 1, this.treeHeight.get(right) ?? 1);
    if (height > MAX_NESTING_DEPTH) throw semanticError(`query nests too deeply (more than ${MAX_NESTING_DEPTH} levels)`);
    this.treeHeight.set(node, height);
    return node;
  }
}
