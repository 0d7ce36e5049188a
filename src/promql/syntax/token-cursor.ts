// The parser's view of the token stream: look-ahead, keyword tests, and errors worded as Prometheus'
// parser words them (`unexpected <op:+>`, `unexpected identifier "x" in label matching, expected …`).

import type { AggregateOp, PositionRange } from './ast.ts';
import { PromQLParseError } from './errors.ts';
import { tokenize, type Token } from './lexer.ts';

export const AGGREGATORS = new Set<AggregateOp>([
  'sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar',
  'topk', 'bottomk', 'count_values', 'quantile', 'limitk', 'limit_ratio',
]);
export const KEYWORDS = new Set([
  'and', 'or', 'unless', 'atan2', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool',
  'offset', 'start', 'end', 'smoothed', 'anchored', 'fill', 'fill_left', 'fill_right',
]);
export const WORD_OPERATORS = new Set(['and', 'or', 'unless', 'atan2']);

export function lower(token: Token): string {
  return token.kind === 'identifier' ? token.text.toLowerCase() : '';
}

export class TokenCursor {
  protected readonly tokens: Token[];
  protected index = 0;
  protected readonly query: string;

  constructor(query: string) {
    this.query = query;
    this.tokens = tokenize(query);
    const last = this.tokens[this.tokens.length - 1]!;
    if (last.kind === 'error') throw new PromQLParseError(last.text, last.pos, query);
  }


  protected peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)]!;
  }

  protected next(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length - 1) this.index++;
    return token;
  }

  protected isPunct(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.kind === 'punct' && token.text === text;
  }

  protected isKeyword(word: string, offset = 0): boolean {
    return lower(this.peek(offset)) === word;
  }

  protected error(message: string, pos: PositionRange): PromQLParseError {
    return new PromQLParseError(message, pos, this.query);
  }

  protected describe(token: Token): string {
    switch (token.kind) {
      case 'eof':
        return 'end of input';
      case 'identifier': {
        const word = token.text.toLowerCase();
        if (AGGREGATORS.has(word as AggregateOp)) return `<aggr:${word}>`;
        if (WORD_OPERATORS.has(word)) return `<op:${word}>`;
        if (KEYWORDS.has(word)) return `<${word}>`;
        return `identifier ${JSON.stringify(token.text)}`;
      }
      case 'metric identifier':
        return `metric identifier ${JSON.stringify(token.text)}`;
      case 'operator':
        return `<op:${token.text}>`;
      case 'punct':
        return JSON.stringify(token.text);
      default: {
        const quoted = JSON.stringify(token.text);
        const shown = token.text.length > 10 ? `${JSON.stringify(token.text.slice(0, 10))}...` : quoted;
        return `${token.kind} ${shown}`;
      }
    }
  }

  protected unexpected(token: Token, context?: string, expected?: string): PromQLParseError {
    if (token.kind === 'eof' && context === 'label matching') return this.error('unexpected end of input inside braces', token.pos);
    let message = `unexpected ${this.describe(token)}`;
    if (context !== undefined) message += ` in ${context}`;
    if (expected !== undefined) message += `, expected ${expected}`;
    return this.error(message, token.pos);
  }

  protected expectPunct(text: string, context: string, expected = JSON.stringify(text)): Token {
    const token = this.peek();
    if (token.kind === 'punct' && token.text === text) return this.next();
    if (text === ')' && token.kind === 'eof') throw this.error('unclosed left parenthesis', token.pos);
    throw this.unexpected(token, context, expected);
  }
}
