// LogQL token kinds and keyword tables, named as in Loki's grammar so token streams compare
// directly with Loki's lexer tests and syntax errors name tokens the way Loki does.

/** Token names are Loki's, so token streams compare directly with Loki's lexer tests. */
export type TokenType =
  | 'EOF'
  | 'IDENTIFIER'
  | 'STRING'
  | 'NUMBER'
  | 'DURATION'
  | 'BYTES'
  | 'RANGE'
  | 'FUNCTION_FLAG'
  | 'COMMA'
  | 'DOT'
  | 'OPEN_BRACE'
  | 'CLOSE_BRACE'
  | 'OPEN_BRACKET'
  | 'CLOSE_BRACKET'
  | 'OPEN_PARENTHESIS'
  | 'CLOSE_PARENTHESIS'
  | 'EQ'
  | 'NEQ'
  | 'RE'
  | 'NRE'
  | 'NPA'
  | 'PIPE_EXACT'
  | 'PIPE_MATCH'
  | 'PIPE_PATTERN'
  | 'PIPE'
  | 'UNWRAP'
  | 'BY'
  | 'WITHOUT'
  | 'BOOL'
  | 'LABEL_REPLACE'
  | 'OFFSET'
  | 'ON'
  | 'IGNORING'
  | 'GROUP_LEFT'
  | 'GROUP_RIGHT'
  | 'OR'
  | 'AND'
  | 'UNLESS'
  | 'ADD'
  | 'SUB'
  | 'MUL'
  | 'DIV'
  | 'MOD'
  | 'POW'
  | 'CMP_EQ'
  | 'GT'
  | 'GTE'
  | 'LT'
  | 'LTE'
  | 'JSON'
  | 'REGEXP'
  | 'LOGFMT'
  | 'UNPACK'
  | 'PATTERN'
  | 'LABEL_FMT'
  | 'LINE_FMT'
  | 'IP'
  | 'DECOLORIZE'
  | 'DROP'
  | 'KEEP'
  | FunctionTokenType;

export type FunctionTokenType =
  | 'RATE'
  | 'RATE_COUNTER'
  | 'COUNT_OVER_TIME'
  | 'BYTES_RATE'
  | 'BYTES_OVER_TIME'
  | 'AVG_OVER_TIME'
  | 'SUM_OVER_TIME'
  | 'MIN_OVER_TIME'
  | 'MAX_OVER_TIME'
  | 'STDVAR_OVER_TIME'
  | 'STDDEV_OVER_TIME'
  | 'QUANTILE_OVER_TIME'
  | 'FIRST_OVER_TIME'
  | 'LAST_OVER_TIME'
  | 'ABSENT_OVER_TIME'
  | 'VECTOR'
  | 'SUM'
  | 'AVG'
  | 'MAX'
  | 'MIN'
  | 'COUNT'
  | 'STDDEV'
  | 'STDVAR'
  | 'BOTTOMK'
  | 'TOPK'
  | 'SORT'
  | 'SORT_DESC'
  | 'APPROX_TOPK'
  | 'BYTES_CONV'
  | 'DURATION_CONV'
  | 'DURATION_SECONDS_CONV';

/** Operators and keywords; the key is also how a syntax error names the token (`unexpected ip`). */
export const KEYWORD_TOKENS: Record<string, TokenType> = {
  ',': 'COMMA',
  '.': 'DOT',
  '{': 'OPEN_BRACE',
  '}': 'CLOSE_BRACE',
  '=': 'EQ',
  '!=': 'NEQ',
  '=~': 'RE',
  '!~': 'NRE',
  '!>': 'NPA',
  '|=': 'PIPE_EXACT',
  '|~': 'PIPE_MATCH',
  '|>': 'PIPE_PATTERN',
  '|': 'PIPE',
  unwrap: 'UNWRAP',
  '(': 'OPEN_PARENTHESIS',
  ')': 'CLOSE_PARENTHESIS',
  by: 'BY',
  without: 'WITHOUT',
  bool: 'BOOL',
  '[': 'OPEN_BRACKET',
  ']': 'CLOSE_BRACKET',
  label_replace: 'LABEL_REPLACE',
  offset: 'OFFSET',
  on: 'ON',
  ignoring: 'IGNORING',
  group_left: 'GROUP_LEFT',
  group_right: 'GROUP_RIGHT',
  or: 'OR',
  and: 'AND',
  unless: 'UNLESS',
  '+': 'ADD',
  '-': 'SUB',
  '*': 'MUL',
  '/': 'DIV',
  '%': 'MOD',
  '^': 'POW',
  '==': 'CMP_EQ',
  '>': 'GT',
  '>=': 'GTE',
  '<': 'LT',
  '<=': 'LTE',
  json: 'JSON',
  regexp: 'REGEXP',
  logfmt: 'LOGFMT',
  unpack: 'UNPACK',
  pattern: 'PATTERN',
  label_format: 'LABEL_FMT',
  line_format: 'LINE_FMT',
  ip: 'IP',
  decolorize: 'DECOLORIZE',
  drop: 'DROP',
  keep: 'KEEP',
};

/** Words that are keywords only when followed by `(` (or `by (`/`without (`); else identifiers. */
export const FUNCTION_TOKENS: Record<string, TokenType> = {
  rate: 'RATE',
  rate_counter: 'RATE_COUNTER',
  count_over_time: 'COUNT_OVER_TIME',
  bytes_rate: 'BYTES_RATE',
  bytes_over_time: 'BYTES_OVER_TIME',
  avg_over_time: 'AVG_OVER_TIME',
  sum_over_time: 'SUM_OVER_TIME',
  min_over_time: 'MIN_OVER_TIME',
  max_over_time: 'MAX_OVER_TIME',
  stdvar_over_time: 'STDVAR_OVER_TIME',
  stddev_over_time: 'STDDEV_OVER_TIME',
  quantile_over_time: 'QUANTILE_OVER_TIME',
  first_over_time: 'FIRST_OVER_TIME',
  last_over_time: 'LAST_OVER_TIME',
  absent_over_time: 'ABSENT_OVER_TIME',
  vector: 'VECTOR',
  sum: 'SUM',
  avg: 'AVG',
  max: 'MAX',
  min: 'MIN',
  count: 'COUNT',
  stddev: 'STDDEV',
  stdvar: 'STDVAR',
  bottomk: 'BOTTOMK',
  topk: 'TOPK',
  sort: 'SORT',
  sort_desc: 'SORT_DESC',
  label_replace: 'LABEL_REPLACE',
  approx_topk: 'APPROX_TOPK',
  bytes: 'BYTES_CONV',
  duration: 'DURATION_CONV',
  duration_seconds: 'DURATION_SECONDS_CONV',
  ip: 'IP',
};

const DISPLAY_NAMES: Partial<Record<TokenType, string>> = Object.fromEntries(
  Object.entries(KEYWORD_TOKENS).map(([text, type]) => [type, text]),
);

/** How Loki's syntax errors name a token: its text for operators/keywords, else the token name. */
export function tokenDisplayName(type: TokenType): string {
  if (type === 'EOF') return '$end';
  return DISPLAY_NAMES[type] ?? type;
}

export interface Token {
  type: TokenType;
  /** Source text of the token. */
  text: string;
  /** IDENTIFIER: the name; STRING: the unquoted value; NUMBER/FUNCTION_FLAG: the text. */
  value: string;
  durationNs?: bigint;
  bytes?: number;
  /** UTF-16 offset of the token's first character in the query. */
  offset: number;
  /**
   * false when Loki's scanner had invalidated its line number for this token (it was assembled
   * character by character: `[5m]`, `|=`, `250ms`, `--strict`); errors there say "line 0".
   */
  lineKnown: boolean;
}
